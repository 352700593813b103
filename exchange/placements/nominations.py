"""Nominations to the receiving partner, and keeping offers and nominations in step with the application's
status."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from ..core.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..applications import services as app_services
from ..applications.models import Application, Call, CallPeriod, StatusChange
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import Role, User
from ..core import audit, mail
from ..core.errors import BulkResult, WorkflowError, check_reason
from ..core.types import utcnow
from .. import signals
from . import transitions
from ..extensions import db
from .models import ACTIVE_NOMINATION, REASON_MAX, Nomination, NominationStatus, Offer, OfferStatus


MAX_STAY_DAYS = 400


# --- Keeping offers and nominations in step with the application's status --------------------------

def follow_application_status(application: Application, *, change: StatusChange, **kwargs) -> None:
    """Receiver of ``signals.application_status_changed``: whoever moves an application (the student on the
    applications page, staff withdrawing it on the student's behalf), its offer and nomination follow: accepted /
    declined / withdrawn."""
    if change.from_status not in (S.placed, S.accepted) or change.to_status not in (S.accepted, S.declined,
                                                                                       S.withdrawn):
        return
    now = utcnow()
    offers = db.session.scalars(select(Offer).where(
        Offer.application_id == application.id,
        Offer.status.in_([OfferStatus.offered, OfferStatus.accepted]))).all()
    for offer in offers:
        if change.to_status is S.withdrawn:
            transitions.set_status(offer, OfferStatus.withdrawn)
        elif offer.is_pending:
            transitions.set_status(offer, OfferStatus.accepted if change.to_status is S.accepted
                                   else OfferStatus.declined)
        else:
            continue
        offer.responded_at = offer.responded_at or now
    if change.to_status is S.withdrawn:
        for nomination in db.session.scalars(select(Nomination).where(
                Nomination.application_id == application.id, Nomination.status.in_(ACTIVE_NOMINATION))).all():
            transitions.set_status(nomination, NominationStatus.cancelled)
            nomination.decided_at = now
            nomination.decided_by_id = change.by_id
            nomination.reason = change.comment or _("The student withdrew the application.")
        app_services.clear_nomination(application)
    db.session.flush()


# --- Nominations ----------------------------------------------------------------------------------

def default_period(call: Call) -> tuple[date, date]:
    """Planned arrival and departure from the call's period: autumn Sept–Jan, spring Feb–June, full year Sept–June."""
    year = call.academic_year
    if call.period is CallPeriod.spring:
        return date(year + 1, 2, 1), date(year + 1, 6, 30)
    if call.period is CallPeriod.full_year:
        return date(year, 9, 1), date(year + 1, 6, 30)
    return date(year, 9, 1), date(year + 1, 1, 31)


def check_dates(call: Call, arrival: date | None, departure: date | None) -> None:
    if arrival is None:
        raise WorkflowError(_("Give the planned arrival date."), code="dates", field="planned_arrival")
    if departure is None:
        raise WorkflowError(_("Give the planned departure date."), code="dates", field="planned_departure")
    if departure <= arrival:
        raise WorkflowError(_("The departure must be after the arrival."), code="dates", field="planned_departure")
    first, last = date(call.academic_year, 1, 1), date(call.academic_year + 1, 12, 31)
    if not first <= arrival <= last:
        raise WorkflowError(_("The arrival must fall in %(from)s–%(to)s.", **{"from": first.year, "to": last.year}),
                            code="dates", field="planned_arrival")
    if not first <= departure <= last:
        raise WorkflowError(_("The departure must fall in %(from)s–%(to)s.", **{"from": first.year, "to": last.year}),
                            code="dates", field="planned_departure")
    if (departure - arrival).days > MAX_STAY_DAYS:
        raise WorkflowError(_("A stay can last at most %(days)s days.", days=MAX_STAY_DAYS), code="dates",
                            field="planned_departure")


def active_nomination(application: Application) -> Nomination | None:
    return db.session.scalar(select(Nomination).where(Nomination.application_id == application.id,
                                                      Nomination.status.in_(ACTIVE_NOMINATION)).limit(1))


def latest_nomination(application: Application) -> Nomination | None:
    return db.session.scalar(select(Nomination).where(Nomination.application_id == application.id)
                             .options(joinedload(Nomination.institution))
                             .order_by(Nomination.nominated_at.desc(), Nomination.id.desc()).limit(1))


def nominations_by_application(application_ids) -> dict[int, Nomination]:
    """Application id → its latest nomination (any status), for lists; one query."""
    ids = list(application_ids)
    if not ids:
        return {}
    result: dict[int, Nomination] = {}
    for nomination in db.session.scalars(select(Nomination).where(Nomination.application_id.in_(ids))
                                         .order_by(Nomination.nominated_at, Nomination.id)):
        result[nomination.application_id] = nomination
    return result


def nominate(application: Application, by: User, arrival: date | None = None, departure: date | None = None,
             now: datetime | None = None, notify: bool = False) -> Nomination:
    """Nominate a student who accepted their place to the receiving partner; the partner's users may then see
    the application (``applications.services.mark_nominated``) and the documents the student shared."""
    now = now or utcnow()
    if application.status is not S.accepted or application.placed_place_id is None:
        raise WorkflowError(_("Only students who have accepted their place can be nominated."), code="not-accepted")
    if active_nomination(application) is not None:
        raise WorkflowError(_("This student has already been nominated."), code="already", status=409)
    call = application.call
    default_arrival, default_departure = default_period(call)
    arrival = arrival or default_arrival
    departure = departure or default_departure
    check_dates(call, arrival, departure)
    offer = db.session.scalar(select(Offer).where(Offer.application_id == application.id,
                                                  Offer.status == OfferStatus.accepted)
                              .order_by(Offer.id.desc()).limit(1))
    nomination = Nomination(application_id=application.id, institution_id=application.placed_institution_id,
                            place_id=application.placed_place_id, academic_year=call.academic_year,
                            status=NominationStatus.nominated, planned_arrival=arrival,
                            planned_departure=departure, shared_documents=offer.shared_documents if offer else "",
                            nominated_by_id=by.id, nominated_at=now)
    nomination.application = application
    db.session.add(nomination)
    app_services.mark_nominated(application, at=now)
    db.session.flush()
    audit.record("nominated", user=by, detail=f"application {application.id} to institution "
                                              f"{application.placed_institution_id}")
    if notify:
        notify_partners_of_nominations([nomination])
    return nomination


def nominable():
    """The conditions of an application that can be nominated: the student accepted their place and holds no active
    nomination (one rule for the nomination list, its count and the coordinators' home panel)."""
    active = select(Nomination.application_id).where(Nomination.status.in_(ACTIVE_NOMINATION))
    return (Application.status == S.accepted, Application.placed_place_id.is_not(None),
            Application.id.not_in(active))


def nominable_query(call: Call):
    """The call's students who accepted their place and hold no active nomination."""
    return select(Application).where(Application.call_id == call.id, *nominable())


def nominate_many(call: Call, by: User, application_ids: list[int] | None = None, notify: bool = True) -> BulkResult:
    """Nominate the chosen students (or all who can be), with the call's default dates; one email per partner
    user for the whole batch."""
    query = nominable_query(call).options(joinedload(Application.call))
    if application_ids is not None:
        query = query.where(Application.id.in_(application_ids or [-1]))
    result = BulkResult()
    for application in db.session.scalars(query.order_by(Application.id)).unique():
        try:
            result.done.append(nominate(application, by))
        except WorkflowError as exc:
            result.refused.append((application, exc.message))
    if application_ids is not None:
        found = {n.application_id for n in result.done} | {a.id for a, _m in result.refused}
        missing = [i for i in application_ids if i not in found]
        for application in db.session.scalars(select(Application).where(Application.id.in_(missing),
                                                                         Application.call_id == call.id)):
            result.refused.append((application, _("Only students who have accepted their place and are not "
                                                  "nominated yet can be nominated.")))
    if not result.done and not result.refused:
        raise WorkflowError(_("Nobody to nominate: every student who accepted a place has been nominated."),
                            code="none")
    if notify:
        notify_partners_of_nominations(result.done)
    return result


def partner_users(institution_ids) -> list[User]:
    ids = list(set(institution_ids))
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.role == Role.partner, User.institution_id.in_(ids),
                                                      User.is_active_account.is_(True)).order_by(User.id)))


def notify_partners_of_nominations(nominations: list[Nomination]) -> None:
    by_institution: dict[int, list[Nomination]] = defaultdict(list)
    for nomination in nominations:
        by_institution[nomination.institution_id].append(nomination)
    for user in partner_users(by_institution):
        mail.send_template(user.email, "nomination_new", locale=user.locale, user=user,
                           nominations=by_institution[user.institution_id],
                           link=mail.external_url("placements.incoming"))


def cancel_nomination(nomination: Nomination, by: User, reason: str, now: datetime | None = None) -> None:
    """The sending side withdraws a nomination; the partner no longer sees the student."""
    if not nomination.can_cancel():
        raise WorkflowError(_("This nomination has already been cancelled."), code="cancelled", status=409)
    reason = check_reason(reason, REASON_MAX, missing=_("Say why the nomination is cancelled."))
    transitions.set_status(nomination, NominationStatus.cancelled)
    nomination.decided_by_id = by.id
    nomination.decided_at = now or utcnow()
    nomination.reason = reason
    app_services.clear_nomination(nomination.application)
    signals.nomination_ended.send(nomination, by=by, reason=_("The nomination was cancelled."))
    audit.record("nomination_cancelled", user=by, detail=f"nomination {nomination.id}")
    for user in partner_users([nomination.institution_id]):
        mail.send_template(user.email, "nomination_cancelled", locale=user.locale, user=user, nomination=nomination,
                           application=nomination.application, link=mail.external_url("placements.incoming"))


def decide_nomination(nomination: Nomination, accept: bool, by: User, reason: str | None = None,
                      now: datetime | None = None, notify: bool = True) -> None:
    """The partner accepts the nominated student, or rejects them with a reason; student and coordinator are told."""
    if by.role is not Role.partner or by.institution_id != nomination.institution_id:
        raise WorkflowError(_("Only the receiving partner can decide on this nomination."), status=404)
    if not nomination.can_decide(by):
        raise WorkflowError(_("This nomination has already been decided."), code="decided", status=409)
    reason = check_reason(reason, REASON_MAX,
                          missing=None if accept else _("Tell the student and the sending coordinator why."))
    transitions.set_status(nomination, NominationStatus.accepted if accept else NominationStatus.rejected)
    nomination.decided_by_id = by.id
    nomination.decided_at = now or utcnow()
    nomination.reason = reason
    db.session.flush()
    if not accept:  # the partner no longer sees the student (applications.access)
        app_services.clear_nomination(nomination.application)
        signals.nomination_ended.send(nomination, by=by,
                                      reason=_("The partner university did not accept the nomination."))
    audit.record("nomination_accepted" if accept else "nomination_rejected", user=by,
                 detail=f"nomination {nomination.id}")
    if not notify:
        return
    application = nomination.application
    student = application.student
    mail.send_template(student.email, "nomination_decision", locale=student.locale, student=student,
                       nomination=nomination, application=application, partner=nomination.institution,
                       link=mail.external_url("placements.offer", application_id=application.id))
    staff = nomination.nominated_by
    if staff is not None and staff.is_active:
        mail.send_template(staff.email, "nomination_decision_staff", locale=staff.locale, user=staff,
                           nomination=nomination, application=application, partner=nomination.institution,
                           link=mail.external_url("placements.nominations", call_id=application.call_id))
