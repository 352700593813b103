"""The review pipeline of a call: filters, sorting and counts, all in SQL."""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..extensions import db
from ..partners.models import Agreement, CooperationCondition, PartnerInstitution
from .models import Application, ApplicationChoice, Call, CallPlace
from .workflow import NEEDS_STAFF_ACTION
from .workflow import ApplicationStatus as S

SORT_COLUMNS = {
    "submitted": Application.submitted_at,
    "name": Application.full_name,
    "score": Application.score,
    "gpa": Application.gpa_normalised,
    "status": Application.status,
    "number": Application.student_number,
}


@dataclass
class Filters:
    q: str | None = None
    status: str | None = None  # a status value, "needs_action", or None (everything sent in)
    place_id: int | None = None
    field: str | None = None  # ISCED broad field (2 digits) or code prefix
    level: int | None = None
    score_min: Decimal | None = None
    score_max: Decimal | None = None
    sort: str = "submitted"

    @classmethod
    def from_form(cls, form) -> "Filters":
        sort = form.sort.data if form.sort.data and form.sort.data.lstrip("-") in SORT_COLUMNS else "submitted"
        return cls(q=form.q.data or None, status=form.status.data or None, place_id=form.place.data or None,
                   field=form.field.data or None, level=form.level.data or None,
                   score_min=form.score_min.data, score_max=form.score_max.data, sort=sort)


def query(call: Call, filters: Filters):
    q = select(Application).where(Application.call_id == call.id)
    if filters.status == "needs_action":
        q = q.where(Application.status.in_(NEEDS_STAFF_ACTION))
    elif filters.status in S.__members__:
        q = q.where(Application.status == S(filters.status))
    else:
        q = q.where(Application.status != S.draft)
    if filters.place_id:
        q = q.where(Application.choices.any(ApplicationChoice.place_id == filters.place_id))
    if filters.field:
        q = q.where(Application.isced_code.startswith(filters.field, autoescape=True))
    if filters.level:
        q = q.where(Application.eqf_level == filters.level)
    if filters.score_min is not None:
        q = q.where(Application.score >= filters.score_min)
    if filters.score_max is not None:
        q = q.where(Application.score <= filters.score_max)
    if filters.q:
        term = filters.q.strip()
        q = q.where(or_(Application.full_name.icontains(term, autoescape=True),
                        Application.student_number.icontains(term, autoescape=True),
                        Application.student_id.in_(select(User.id).where(User.email.icontains(term, autoescape=True)))))
    key = filters.sort.lstrip("-")
    column = SORT_COLUMNS.get(key, Application.submitted_at)
    descending = filters.sort.startswith("-")
    order = column.desc() if descending else column.asc()
    q = q.order_by(order.nulls_last(), Application.id)
    # The page shows only the partners' names of the choices: see choice_partners; exports read plain rows.
    return q.options(selectinload(Application.student), selectinload(Application.reviews))


def only_status_filter(filters: Filters) -> bool:
    return (not filters.q and not filters.place_id and not filters.field and not filters.level
            and filters.score_min is None and filters.score_max is None)


def paginate(call: Call, filters: Filters, counts: dict, per_page: int = 25):
    """A page of the pipeline. Filtered by status alone (the usual view), the total is already in `counts`
    (status_counts): no second count of the call's applications."""
    if not only_status_filter(filters):
        return db.paginate(query(call, filters), per_page=per_page, error_out=False)
    page = db.paginate(query(call, filters), per_page=per_page, error_out=False, count=False)
    if filters.status == "needs_action":
        page.total = counts["needs_action"]
    elif filters.status in S.__members__:
        page.total = counts[S(filters.status)]
    else:
        page.total = counts["total"]
    return page


def choice_partners(applications) -> dict[int, list[str]]:
    """{application id: [partner name of each choice, by rank]} in one query of plain rows (no ORM objects)."""
    ids = [a.id for a in applications]
    names: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return names
    rows = db.session.execute(
        select(ApplicationChoice.application_id, PartnerInstitution.name)
        .join(CallPlace, CallPlace.id == ApplicationChoice.place_id)
        .join(CooperationCondition, CooperationCondition.id == CallPlace.condition_id)
        .join(Agreement, Agreement.id == CooperationCondition.agreement_id)
        .join(PartnerInstitution, PartnerInstitution.id == Agreement.partner_id)
        .where(ApplicationChoice.application_id.in_(ids))
        .order_by(ApplicationChoice.application_id, ApplicationChoice.rank))
    for application_id, name in rows:
        names[application_id].append(name)
    return names


def status_counts(call: Call) -> dict:
    """{status: n} for the call, plus 'needs_action' and 'total' (sent in, i.e. not drafts)."""
    counts = {status: 0 for status in S}
    # count(*) rather than count(id): PostgreSQL answers from ix_applications_call_status alone.
    for status, n in db.session.execute(select(Application.status, func.count())
                                        .where(Application.call_id == call.id).group_by(Application.status)):
        counts[status] = n
    counts["needs_action"] = sum(counts[s] for s in NEEDS_STAFF_ACTION)
    counts["total"] = sum(n for s, n in counts.items() if isinstance(s, S) and s is not S.draft)
    return counts
