"""The review pipeline of a call: filters, sorting and counts, all in SQL."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from markupsafe import escape
from sqlalchemy import bindparam, func, or_, select

from ..auth.models import User
from ..core.pagination import ClampedPagination, page_slice
from ..core.reference import short_place_label
from ..extensions import db
from ..partners.models import CooperationCondition, PartnerInstitution
from .models import Application, ApplicationChoice, ApplicationStatusCount, Call, CallPlace, Review, join_partner
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


def filtered(q, call: Call, filters: Filters):
    """`q` narrowed to the call's applications that match the filters, in the order asked for."""
    q = q.where(Application.call_id == call.id)
    # The statuses are written into the statement, not bound: a call's applications are mostly of a few statuses,
    # and PostgreSQL keeps one plan for a prepared statement only when it can see which status it is for.
    if filters.status == "needs_action":
        q = q.where(Application.status.in_(_statuses(*sorted(NEEDS_STAFF_ACTION))))
    elif filters.status in S.__members__:
        q = q.where(Application.status.in_(_statuses(S(filters.status))))
    else:
        q = q.where(Application.status.not_in(_statuses(S.draft)))
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
    return q.order_by(order.nulls_last(), Application.id)


def _statuses(*statuses: S):
    return bindparam("statuses", list(statuses), expanding=True, literal_execute=True)


def ids_query(call: Call, filters: Filters):
    """The matching applications' ids, in the pipeline's order (the exports read their rows by these)."""
    return filtered(select(Application.id), call, filters)


@dataclass(frozen=True)
class Row:
    """One line of the pipeline (a plain row: what the page shows, no ORM object)."""
    id: int
    full_name: str | None
    student_name: str
    email: str
    student_number: str | None
    isced_code: str | None
    eqf_level: int | None
    gpa_normalised: Decimal | None
    score: Decimal | None
    scored_review_count: int
    status: S
    submitted_at: datetime | None

    @property
    def name(self) -> str:
        return self.full_name or self.student_name


def rows_query(call: Call, filters: Filters):
    scored = (select(func.count(Review.id)).where(Review.application_id == Application.id, Review.total.is_not(None))
              .correlate(Application).scalar_subquery())
    return filtered(select(Application.id, Application.full_name, User.name, User.email, Application.student_number,
                            Application.isced_code, Application.eqf_level, Application.gpa_normalised,
                            Application.score, scored, Application.status, Application.submitted_at)
                     .join(User, User.id == Application.student_id), call, filters)


class RowsPagination(ClampedPagination):
    """A page of plain rows (Flask-SQLAlchemy's pagination, whose items are Row); `count=False` leaves the total
    to the caller."""

    def _query_items(self) -> list[Row]:
        q = page_slice(self._query_args["select"], self.per_page, self._query_offset)
        return [Row(*row) for row in db.session.execute(q)]

    def _query_count(self) -> int:
        q = self._query_args["select"].order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
        return db.session.scalar(q)


def only_status_filter(filters: Filters) -> bool:
    return (not filters.q and not filters.place_id and not filters.field and not filters.level
            and filters.score_min is None and filters.score_max is None)


def known_total(filters: Filters, counts: dict) -> int | None:
    """How many applications the filters select, from `counts` (status_counts, kept by the database) when they
    filter by status alone, the usual view; None when only counting them can tell."""
    if not only_status_filter(filters):
        return None
    if filters.status == "needs_action":
        return counts["needs_action"]
    if filters.status in S.__members__:
        return counts[S(filters.status)]
    return counts["total"]


def paginate(call: Call, filters: Filters, counts: dict, per_page: int = 25) -> RowsPagination:
    """A page of the pipeline; no count of the call's applications when `counts` already has it (known_total)."""
    q = rows_query(call, filters)
    total = known_total(filters, counts)
    if total is None:
        return RowsPagination(select=q, per_page=per_page, error_out=False)
    page = RowsPagination(select=q, per_page=per_page, error_out=False, count=False)
    page.total = total
    return page


@dataclass(frozen=True)
class Destinations:
    """The call's places as the pipeline shows them. `choices`: [(place id, "Partner · ISCED")] in destination
    order; `partners`: {place id: partner name}; `seats`: their sum; `options`: the <option>s of `choices`."""
    version: tuple  # (call id, created at, places_version): ids of deleted rows may come back on SQLite
    choices: list[tuple[int, str]]
    partners: dict[int, str]
    seats: int
    options: str


#: {call id: Destinations} of this process, valid while the call's places_version is theirs (triggers.py raises
#: it in the same transaction as any change that could alter them, so no process shows an outdated list).
_destinations: dict[int, Destinations] = {}
_DESTINATIONS_KEPT = 32


def destinations(call: Call) -> Destinations:
    version = (call.id, call.created_at, call.places_version)
    found = _destinations.get(call.id)
    if found is not None and found.version == version:
        return found
    rows = db.session.execute(
        join_partner(select(CallPlace.id, PartnerInstitution.name, CooperationCondition.isced_code, CallPlace.seats))
        .where(CallPlace.call_id == call.id)
        .order_by(PartnerInstitution.country, PartnerInstitution.name, CooperationCondition.isced_code, CallPlace.id)
    ).all()
    choices = [(place_id, short_place_label(name, isced)) for place_id, name, isced, _seats in rows]
    found = Destinations(version=version, choices=choices,
                         partners={place_id: name for place_id, name, _isced, _seats in rows},
                         seats=sum(seats for *_rest, seats in rows),
                         options="".join(f'<option value="{place_id}">{escape(label)}</option>'
                                         for place_id, label in choices))
    _destinations.pop(call.id, None)
    while len(_destinations) >= _DESTINATIONS_KEPT:
        _destinations.pop(next(iter(_destinations)))
    _destinations[call.id] = found
    return found


def place_totals(calls) -> dict[int, tuple[int, int]]:
    """{call id: (destinations, seats)} from the calls' cached destinations (no statement once cached): for a
    few calls (those a student may still apply to); services.place_totals counts any number in one statement."""
    return {call.id: (len(found.choices), found.seats) for call in calls for found in [destinations(call)]}


def choice_partners(rows, partners: dict[int, str]) -> dict[int, list[str]]:
    """{application id: [partner name of each choice, by rank]}: the choices' places in one query of plain rows,
    their partners' names from `partners` (Destinations.partners)."""
    ids = [row.id for row in rows]
    names: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return names
    for application_id, place_id in db.session.execute(
            select(ApplicationChoice.application_id, ApplicationChoice.place_id)
            .where(ApplicationChoice.application_id.in_(ids))
            .order_by(ApplicationChoice.application_id, ApplicationChoice.rank)):
        # A place added (and chosen) since `partners` was read in this request: shown without a name this once.
        names[application_id].append(partners.get(place_id, "—"))
    return names


def status_counts(call: Call) -> dict:
    """{status: n} for the call, plus 'needs_action' and 'total' (sent in, i.e. not drafts), from the counters
    that the database keeps (ApplicationStatusCount)."""
    counts = {status: 0 for status in S}
    counts.update(db.session.execute(select(ApplicationStatusCount.status, ApplicationStatusCount.n)
                                     .where(ApplicationStatusCount.call_id == call.id)).all())
    counts["needs_action"] = sum(counts[s] for s in NEEDS_STAFF_ACTION)
    counts["total"] = sum(n for s, n in counts.items() if isinstance(s, S) and s is not S.draft)
    return counts
