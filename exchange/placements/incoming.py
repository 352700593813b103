"""The partner's side: the nominations a partner university sees, and the documents shared with it."""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, false, func, select
from sqlalchemy.orm import joinedload

from ..applications import access as app_access
from ..applications.models import Application, ApplicationDocument, Call
from ..auth.models import User
from ..core.pagination import RowsPage, page_limit, page_offset
from ..extensions import db
from .models import ACTIVE_NOMINATION, Nomination, NominationStatus


def nominations_visible_to_partner(institution_id):
    """Nominations an institution's users may see (an id or a bound parameter; None, for a user who is not a
    partner: ``User.partner_institution_id``, sees none): the live ones (pending or accepted) of applications the
    partner visibility rule lets them see (``applications.access.applications_visible_to_partner``: not
    withdrawn, nor started again). Rejected and cancelled nominations are gone for the partner. Joins the
    nomination's application (through this condition when the query does not join it)."""
    if institution_id is None:
        return false()
    return and_(Nomination.institution_id == institution_id, Nomination.status.in_(ACTIVE_NOMINATION),
                Application.id == Nomination.application_id, app_access.applications_visible_to_partner(institution_id))


def incoming_query(user: User, year: int | None = None, status: NominationStatus | None = None):
    query = select(Nomination).where(nominations_visible_to_partner(user.partner_institution_id))
    if year:
        query = query.where(Nomination.academic_year == year)
    if status:
        query = query.where(Nomination.status == status)
    return query


def incoming_loaded(query):
    return (query.join(Nomination.application)
            .options(joinedload(Nomination.application).joinedload(Application.student),
                     joinedload(Nomination.application).joinedload(Application.call),
                     joinedload(Nomination.application).selectinload(Application.languages),
                     joinedload(Nomination.place))
            .order_by(Nomination.academic_year.desc(), Application.full_name, Nomination.id))


@dataclass
class IncomingSummary:
    """How many nominations a partner user sees per academic year and status, from one statement."""
    counts: dict[tuple[int, NominationStatus], int]

    @property
    def years(self) -> list[int]:
        """The academic years with nominations, latest first."""
        return sorted({year for year, _status in self.counts}, reverse=True)

    def by_status(self, year: int | None = None) -> dict[NominationStatus, int]:
        """Status → nominations, of one academic year or all."""
        result: Counter = Counter()
        for (y, status), n in self.counts.items():
            if not year or y == year:
                result[status] += n
        return dict(result)


def incoming_summary(user: User) -> IncomingSummary:
    if not user.partner_institution_id:
        return IncomingSummary({})
    return IncomingSummary({(year, status): n for year, status, n in db.session.execute(
        _incoming_summary_statement(), {"institution_id": user.partner_institution_id})})


@functools.cache
def _incoming_summary_statement():
    return (select(Nomination.academic_year, Nomination.status, func.count())
            .where(nominations_visible_to_partner(bindparam("institution_id")))
            .group_by(Nomination.academic_year, Nomination.status))


def incoming_page(user: User, year: int | None, status: NominationStatus | None, total: int,
                  per_page: int) -> RowsPage:
    """A page of the nominations to the partner user's institution (`total` of them with these filters), as rows
    of id, academic_year, status, planned_arrival, planned_departure, nominated_at, full_name, nationality,
    isced_code, eqf_level, student_name, email and period."""
    params = {"institution_id": user.partner_institution_id}
    if year:
        params["year"] = year
    if status:
        params["status"] = status
    return RowsPage(statement=_incoming_page_statement(bool(year), bool(status)), params=params, total=total,
                    per_page=per_page, error_out=False)


@functools.cache
def _incoming_page_statement(by_year: bool, by_status: bool):
    query = (select(Nomination.id, Nomination.academic_year, Nomination.status, Nomination.planned_arrival,
                    Nomination.planned_departure, Nomination.nominated_at, Application.full_name,
                    Application.nationality, Application.isced_code, Application.eqf_level,
                    User.name.label("student_name"), User.email, Call.period)
             .join(Application, Application.id == Nomination.application_id)
             .join(User, User.id == Application.student_id).join(Call, Call.id == Application.call_id)
             .where(nominations_visible_to_partner(bindparam("institution_id"))))
    if by_year:
        query = query.where(Nomination.academic_year == bindparam("year"))
    if by_status:
        query = query.where(Nomination.status == bindparam("status"))
    return (query.order_by(Nomination.academic_year.desc(), Application.full_name, Nomination.id)
            .limit(page_limit()).offset(page_offset()))


def shared_documents_of(nomination: Nomination) -> list[ApplicationDocument]:
    kinds = set(nomination.shared_kinds)
    return [d for d in nomination.application.documents if d.kind in kinds]


def partner_document_rule(document: ApplicationDocument, *, user: User, application: Application, **kwargs) -> bool:
    """Receiver of ``signals.partner_document_access`` (``applications.access``): a partner opens only the documents
    the student agreed to share with them.

    (An application marked nominated without going through :func:`nominate` has no Nomination row and no
    recorded consent: the applications rule alone applies.)"""
    nominations = db.session.scalars(select(Nomination).where(Nomination.application_id == application.id)
                                     .order_by(Nomination.id.desc())).all()
    if not nominations:
        return True
    mine = next((n for n in nominations if n.institution_id == user.institution_id and n.is_active), None)
    return mine is not None and document.kind in mine.shared_kinds

