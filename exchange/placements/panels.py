"""Home page panels: plain rows, one statement each, built once per process (building a statement costs more
than running it); the values are bound parameters."""
from __future__ import annotations

import functools

from sqlalchemy import bindparam, func, literal, select, true

from ..applications.models import Application, Call, join_partner
from ..auth.models import Role, User
from ..core.types import utcnow
from ..extensions import db
from ..partners.models import CooperationCondition, PartnerInstitution
from .models import MatchingRun, Nomination, NominationStatus, Offer, OfferStatus, RunStatus
from .incoming import nominations_visible_to_partner
from .nominations import nominable


def partner_panel_counts(user: User) -> tuple[int, int]:
    """(nominations waiting for the partner's decision, all nominations the partner sees)."""
    if user.role is not Role.partner or not user.institution_id:
        return 0, 0
    pending, total = db.session.execute(_partner_panel_statement(),
                                        {"institution_id": user.institution_id}).one()
    return pending or 0, total or 0


@functools.cache
def _partner_panel_statement():
    return (select(func.count(Nomination.id).filter(Nomination.status == NominationStatus.nominated),
                   func.count(Nomination.id))
            .where(nominations_visible_to_partner(bindparam("institution_id"))))


def open_offers_of(student: User, limit: int = 3) -> list:
    """The student's offers still open, soonest deadline first: rows of application_id, deadline, call_title,
    partner_name, partner_city, partner_country, isced_code."""
    return db.session.execute(_open_offers_statement(limit), {"student_id": student.id, "now": utcnow()}).all()


@functools.cache
def _open_offers_statement(limit: int):
    query = (select(Offer.application_id, Offer.deadline, Call.title.label("call_title"),
                    PartnerInstitution.name.label("partner_name"), PartnerInstitution.city.label("partner_city"),
                    PartnerInstitution.country.label("partner_country"), CooperationCondition.isced_code)
             .join(Application, Application.id == Offer.application_id).join(Call, Call.id == Application.call_id))
    return (join_partner(query, Offer.place_id)
            .where(Application.student_id == bindparam("student_id"), Offer.status == OfferStatus.offered,
                   Offer.deadline >= bindparam("now"))
            .order_by(Offer.deadline, Offer.id).limit(limit))


def staff_panel_data(limit: int = 5) -> tuple[list, int]:
    """(the newest draft runs as rows of id, round, placed_count, applications_count, call_title; the number of
    students of every call who accepted their place and wait to be nominated), from one statement."""
    rows = db.session.execute(_staff_panel_statement(limit)).all()
    return [row for row in rows if row.id is not None], rows[0].to_nominate or 0


@functools.cache
def _staff_panel_statement(limit: int):
    """Built once per process: it depends on no user and no date (building it costs more than running it)."""
    to_nominate = select(func.count(Application.id)).where(*nominable()).scalar_subquery()
    drafts = (select(MatchingRun.id, MatchingRun.round, MatchingRun.placed_count, MatchingRun.applications_count,
                     MatchingRun.created_at, Call.title.label("call_title"))
              .join(Call, Call.id == MatchingRun.call_id).where(MatchingRun.status == RunStatus.draft)
              .order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc()).limit(limit).subquery())
    one = select(literal(1).label("one")).subquery()  # a row even when there is no draft
    return (select(to_nominate.label("to_nominate"), drafts.c.id, drafts.c.round, drafts.c.placed_count,
                   drafts.c.applications_count, drafts.c.call_title)
            .select_from(one).outerjoin(drafts, true())
            .order_by(drafts.c.created_at.desc(), drafts.c.id.desc()))
