"""Pages' summaries: counts and pages of plain rows for the coordinators' pages, from statements built once per
process."""
from __future__ import annotations

import functools
from collections import defaultdict

from sqlalchemy import bindparam, func, select

from ..applications.models import Application, ApplicationStatusCount, Call, join_partner
from ..applications.pipeline import status_counts
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import User
from ..core.pagination import RowsPage, page_limit, page_offset
from ..extensions import db
from ..partners.models import CooperationCondition, PartnerInstitution
from .models import MatchingRun, Nomination, NominationStatus, Offer, OfferStatus
from .nominations import nominable


def offer_counts(call: Call) -> dict[OfferStatus, int]:
    return dict(db.session.execute(_offer_counts_statement(), {"call_id": call.id}).all())


@functools.cache
def _offer_counts_statement():
    return (select(Offer.status, func.count(Offer.id)).join(Application, Application.id == Offer.application_id)
            .where(Application.call_id == bindparam("call_id")).group_by(Offer.status))


def nomination_counts(call: Call) -> dict[NominationStatus, int]:
    return dict(db.session.execute(_nomination_counts_statement(), {"call_id": call.id}).all())


@functools.cache
def _nomination_counts_statement():
    return (select(Nomination.status, func.count(Nomination.id))
            .join(Application, Application.id == Nomination.application_id)
            .where(Application.call_id == bindparam("call_id")).group_by(Nomination.status))


def nominable_count(call: Call) -> int:
    """How many of the call's students accepted their place and hold no active nomination (nominable_query)."""
    return db.session.execute(_nominable_count_statement(), {"call_id": call.id}).scalar_one()


@functools.cache
def _nominable_count_statement():
    return select(func.count(Application.id)).where(Application.call_id == bindparam("call_id"), *nominable())


def offers_page(call: Call, status: OfferStatus | None, total: int, per_page: int) -> RowsPage:
    """A page of the call's offers (latest round first, then by name), as rows of application_id, round,
    deadline, status, responded_at, full_name, student_name, email, partner_name, partner_city, partner_country
    and isced_code."""
    params = {"call_id": call.id}
    if status:
        params["status"] = status
    return RowsPage(statement=_offers_page_statement(bool(status)), params=params, total=total, per_page=per_page,
                    error_out=False)


@functools.cache
def _offers_page_statement(by_status: bool):
    # The page's offers first (sorted with the name alone), then the student and place of those rows only.
    ids = (select(Offer.id, Offer.round, Application.full_name)
           .join(Application, Application.id == Offer.application_id)
           .where(Application.call_id == bindparam("call_id")))
    if by_status:
        ids = ids.where(Offer.status == bindparam("status"))
    ids = (ids.order_by(Offer.round.desc(), Application.full_name, Offer.id)
           .limit(page_limit()).offset(page_offset()).subquery())
    query = (select(Offer.application_id, Offer.round, Offer.deadline, Offer.status, Offer.responded_at,
                    Application.full_name, User.name.label("student_name"), User.email,
                    PartnerInstitution.name.label("partner_name"), PartnerInstitution.city.label("partner_city"),
                    PartnerInstitution.country.label("partner_country"), CooperationCondition.isced_code)
             .select_from(ids).join(Offer, Offer.id == ids.c.id)
             .join(Application, Application.id == Offer.application_id)
             .join(User, User.id == Application.student_id))
    return join_partner(query, Offer.place_id).order_by(ids.c.round.desc(), ids.c.full_name, ids.c.id)


def placed_page(call: Call, per_page: int) -> RowsPage:
    """A page of the call's students who hold a place (placed or accepted), by name, as rows of id, status,
    full_name, student_name, email, partner_name, partner_city, partner_country and isced_code."""
    total = db.session.execute(_placed_count_statement(), {"call_id": call.id}).scalar_one()
    return RowsPage(statement=_placed_page_statement(), params={"call_id": call.id}, total=total,
                    per_page=per_page, error_out=False)


def _holding_a_place():
    return (Application.call_id == bindparam("call_id"), Application.status.in_([S.accepted, S.placed]),
            Application.placed_place_id.is_not(None))


@functools.cache
def _placed_count_statement():
    return select(func.count()).select_from(Application).where(*_holding_a_place())


@functools.cache
def _placed_page_statement():
    # The page's applications first (in name order, from ix_applications_call_name), then their student and place.
    ids = (select(Application.id, Application.full_name).where(*_holding_a_place())
           .order_by(Application.full_name, Application.id)
           .limit(page_limit()).offset(page_offset()).subquery())
    query = (select(Application.id, Application.status, Application.full_name, User.name.label("student_name"),
                    User.email, PartnerInstitution.name.label("partner_name"),
                    PartnerInstitution.city.label("partner_city"), PartnerInstitution.country.label("partner_country"),
                    CooperationCondition.isced_code)
             .select_from(ids).join(Application, Application.id == ids.c.id)
             .join(User, User.id == Application.student_id))
    return join_partner(query, Application.placed_place_id).order_by(ids.c.full_name, ids.c.id)


def placeable_count(call: Call) -> int:
    """About how many applications a run of the call would place (eligible or on the waiting list)."""
    counts = status_counts(call)
    return counts[S.eligible] + counts[S.waitlisted]


def calls_overview() -> list[tuple[Call, dict]]:
    """Every call with what matters for placement: eligible, waitlisted, accepted; runs and the last round."""
    calls = db.session.scalars(select(Call).order_by(Call.closes_at.desc(), Call.id.desc())).all()
    counts: dict[int, dict] = defaultdict(dict)
    for call_id, status, n in db.session.execute(
            select(ApplicationStatusCount.call_id, ApplicationStatusCount.status, ApplicationStatusCount.n)
            .where(ApplicationStatusCount.status.in_([S.eligible, S.waitlisted, S.placed, S.accepted]),
                   ApplicationStatusCount.n > 0)):
        counts[call_id][S(status).value] = n
    runs: dict[int, dict] = defaultdict(dict)
    for call_id, status, n, last in db.session.execute(
            select(MatchingRun.call_id, MatchingRun.status, func.count(MatchingRun.id), func.max(MatchingRun.round))
            .group_by(MatchingRun.call_id, MatchingRun.status)):
        runs[call_id][status] = (n, last)
    return [(call, {"counts": counts.get(call.id, {}), "runs": runs.get(call.id, {})}) for call in calls]
