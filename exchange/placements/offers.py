"""Publishing a run and the offers: the students' answers, expiry, the shared documents, the waiting list."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..core.i18n import format_datetime
from ..core.i18n import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from ..applications import services as app_services
from ..applications.models import Application, Call, DocumentKind
from ..applications.workflow import Actor
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import User
from ..core import audit, mail
from ..core.errors import WorkflowError
from ..core.types import utcnow
from ..extensions import db
from .models import MatchingRun, Offer, OfferStatus, RunPlacement, RunStatus, kinds_to_text
from . import transitions
from .nominations import active_nomination
from .runs import matchable_statuses, next_round, places_by_id


log = logging.getLogger(__name__)
MAX_DEADLINE_DAYS = 90


def check_publishable(run: MatchingRun, deadline: datetime | None, now: datetime | None = None) -> None:
    """The rules of :func:`publish_run`, checked before anything changes (the page checks them before it starts
    the publication's job; the job checks them again)."""
    now = now or utcnow()
    call = run.call
    if not run.can_publish():
        raise WorkflowError(_("This run has already been published or replaced by another one."), code="not-draft",
                            status=409)
    if call.closes_at > now:
        raise WorkflowError(_("The call is open until %(date)s: publish its results after the deadline.",
                              date=format_datetime(call.closes_at)), code="call-open")
    if deadline is None or deadline <= now + timedelta(hours=1):
        raise WorkflowError(_("Give the students at least an hour to answer."), code="deadline", field="deadline")
    if deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        raise WorkflowError(_("The deadline can be at most %(days)s days from now.", days=MAX_DEADLINE_DAYS),
                            code="deadline", field="deadline")
    if next_round(call) != run.round:
        raise WorkflowError(_("Round %(round)s of this call has already been published. Start a new run.",
                              round=run.round), code="stale", status=409)
    current = set(db.session.scalars(select(Application.id).where(
        Application.call_id == call.id, Application.status.in_(matchable_statuses(run.round)))))
    in_run = set(db.session.scalars(select(RunPlacement.application_id).where(RunPlacement.run_id == run.id)))
    if current != in_run:
        raise WorkflowError(_("Applications have changed since this run was made (%(n)s added or removed). "
                              "Start a new run.", n=len(current ^ in_run)), code="stale", status=409)


@dataclass
class Publication:
    offers: list[Offer]
    others: list[tuple[Application, S]]  # the students without a place: waitlisted or not placed


def publish_run(run: MatchingRun, deadline: datetime, by: User, now: datetime | None = None,
                notify: bool = True) -> list[Offer]:
    """Send the results: placed students get an offer to answer by `deadline`; in round 1 the others go on the
    waiting list (or are not placed when none of their choices could take them)."""
    publication = save_publication(run, deadline, by, now)
    if notify:
        notify_publication(run.call, publication)
    return publication.offers


def save_publication(run: MatchingRun, deadline: datetime, by: User, now: datetime | None = None,
                     progress=None) -> Publication:
    """:func:`publish_run` without the e-mails (:func:`notify_publication` sends them once this is committed).
    `progress(n)` is called as the students are done."""
    now = now or utcnow()
    call = run.call
    check_publishable(run, deadline, now)
    try:
        transitions.set_run_status(run, RunStatus.published, published_at=now, published_by_id=by.id,
                                   offer_deadline=deadline)
    except WorkflowError:
        raise WorkflowError(_("This run has already been published or replaced by another one."), code="not-draft",
                            status=409) from None
    transitions.supersede_drafts(call, run)

    places = places_by_id(call)
    placements = db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == run.id)
                                    .options(joinedload(RunPlacement.application).joinedload(Application.student))
                                    .order_by(RunPlacement.id)).all()
    publication = Publication(offers=[], others=[])
    for n, row in enumerate(placements, 1):
        application = row.application
        if row.place_id is not None:
            app_services.set_placement(application, places[row.place_id])
            app_services.transition(application, S.placed, by=by, actor=Actor.system, notify=False)
            offer = Offer(application_id=application.id, run_id=run.id, place_id=row.place_id, round=run.round,
                          deadline=deadline, status=OfferStatus.offered, created_at=now)
            offer.application = application
            offer.place = places[row.place_id]
            db.session.add(offer)
            publication.offers.append(offer)
        elif application.status is S.eligible:  # round 1, or found eligible after it
            target = S.waitlisted if any(c["eligible"] for c in row.choices or ()) else S.not_placed
            app_services.transition(application, target, by=by, actor=Actor.system, notify=False)
            publication.others.append((application, target))
        if progress is not None:
            progress(n)
    db.session.flush()
    audit.record("matching_published", user=by, detail=f"run {run.id}: {len(publication.offers)} offers, "
                                                       f"deadline {deadline:%Y-%m-%d %H:%M}")
    return publication


def notify_publication(call: Call, publication: Publication, progress=None) -> None:
    """One e-mail per student of a published run: the offer, the waiting list or no place. The run is published
    before they go out, so a message that cannot be sent is logged and the others still go. `progress(n)` is
    called after each."""
    def send(n: int, template: str, application: Application, **context) -> None:
        student = application.student
        try:
            mail.send_template(student.email, template, locale=student.locale, student=student,
                               application=application, call=call,
                               link=mail.external_url("placements.offer", application_id=application.id), **context)
        except Exception as exc:  # the run is published: one bad address must not leave the others uninformed
            log.error("Could not send the %s mail for application %s: %s", template, application.id, exc)
        if progress is not None:
            progress(n)

    n = 0
    for n, offer in enumerate(publication.offers, start=1):
        send(n, "placement_offer", offer.application, place=offer.place,
             deadline=format_datetime(offer.deadline, user=offer.application.student))
    for n, (application, target) in enumerate(publication.others, start=n + 1):
        send(n, "placement_waitlisted" if target is S.waitlisted else "placement_not_placed", application)


def expire_offers(now: datetime | None = None, call: Call | None = None, notify: bool = True) -> int:
    """Offers past their deadline without an answer expire: the application is declined (by the system) and the
    seat is free for the next round. Returns how many expired."""
    now = now or utcnow()
    query = (select(Offer).where(Offer.status == OfferStatus.offered, Offer.deadline < now)
             .options(joinedload(Offer.application).joinedload(Application.student),
                      joinedload(Offer.application).joinedload(Application.call)))
    if call is not None:
        query = query.join(Offer.application).where(Application.call_id == call.id)
    expired = db.session.scalars(query.order_by(Offer.id)).unique().all()
    for offer in expired:
        transitions.set_status(offer, OfferStatus.expired)
        offer.responded_at = now
        application = offer.application
        if application.status is S.placed:
            app_services.transition(application, S.declined, by=None, actor=Actor.system, notify=False,
                                    comment=_("The offer expired without an answer."))
    db.session.flush()
    for offer in expired if notify else ():
        student = offer.application.student
        mail.send_template(student.email, "placement_expired", locale=student.locale, student=student,
                           application=offer.application, call=offer.application.call,
                           link=mail.external_url("placements.offer", application_id=offer.application_id))
    if expired:
        audit.record("offers_expired", user=None, detail=f"{len(expired)} offers")
    return len(expired)


def expire_due_offers_of(call: Call) -> int:
    """`expire_offers` for one call, run when its pages are opened: a look at the index of due offers first, so
    that the usual case (nothing due) costs one small statement."""
    if db.session.execute(_due_offer_statement(), {"call_id": call.id, "now": utcnow()}).first() is None:
        return 0
    return expire_offers(call=call)


@functools.cache
def _due_offer_statement():
    return (select(Offer.id).join(Application, Application.id == Offer.application_id)
            .where(Offer.status == OfferStatus.offered, Offer.deadline < bindparam("now"),
                   Application.call_id == bindparam("call_id")).limit(1))


def latest_offer(application: Application) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.application_id == application.id)
                             .options(selectinload(Offer.place).options(*app_services.place_loader()))
                             .order_by(Offer.created_at.desc(), Offer.id.desc()).limit(1))


def _check_kinds(application: Application, kinds) -> list[DocumentKind]:
    present = {d.kind for d in application.documents}
    result = []
    for kind in kinds or ():
        try:
            kind = DocumentKind(kind)
        except ValueError:
            raise WorkflowError(_("Choose documents from the list."), code="bad-document", field="documents")
        if kind not in present:
            raise WorkflowError(_("Choose documents from the list."), code="bad-document", field="documents")
        result.append(kind)
    return result


def respond_to_offer(offer: Offer, accept: bool, by: User, shared=(), now: datetime | None = None,
                     notify: bool = True) -> None:
    """The student accepts (sharing the chosen documents with the partner) or declines the offer."""
    now = now or utcnow()
    application = offer.application
    if by.id != application.student_id:
        raise WorkflowError(_("Only the applicant can do this."), code="not-owner", status=403)
    if not offer.is_pending:
        raise WorkflowError(_("This offer has already been answered or has expired."), code="answered", status=409)
    if offer.is_past_deadline(now):
        raise WorkflowError(_("The deadline to answer this offer passed on %(date)s.",
                              date=format_datetime(offer.deadline)), code="expired", status=409)
    kinds = _check_kinds(application, shared) if accept else []
    transitions.set_status(offer, OfferStatus.accepted if accept else OfferStatus.declined)
    offer.responded_at = now
    offer.shared_documents = kinds_to_text(kinds)
    # What applications.services.respond_to_offer does, with the choice of emailing the confirmation.
    app_services.transition(application, S.accepted if accept else S.declined, by=by, notify=notify)
    db.session.flush()


def set_shared_documents(application: Application, shared, by: User) -> None:
    """The student changes which documents the partner may see (after accepting)."""
    if by.id != application.student_id:
        raise WorkflowError(_("Only the applicant can do this."), code="not-owner", status=403)
    offer = db.session.scalar(select(Offer).where(Offer.application_id == application.id,
                                                  Offer.status == OfferStatus.accepted)
                              .order_by(Offer.id.desc()).limit(1))
    if offer is None or application.status is not S.accepted:
        raise WorkflowError(_("You can choose documents to share once you have accepted a place."),
                            code="not-accepted")
    text = kinds_to_text(_check_kinds(application, shared))
    offer.shared_documents = text
    nomination = active_nomination(application)
    if nomination is not None:
        nomination.shared_documents = text
    db.session.flush()
    audit.record("documents_shared", user=by, detail=f"application {application.id}: {text or 'none'}")


def close_waitlist(call: Call, by: User) -> int:
    """Everybody still on the call's waiting list is told they are not placed. Returns how many."""
    drafts = db.session.scalar(select(func.count(MatchingRun.id)).where(MatchingRun.call_id == call.id,
                                                                       MatchingRun.status == RunStatus.draft))
    if drafts:
        raise WorkflowError(_("Publish or leave aside the draft runs first: a later round may still place "
                              "students from the waiting list."), code="drafts")
    applications = db.session.scalars(select(Application).where(Application.call_id == call.id,
                                                                Application.status == S.waitlisted)
                                      .options(joinedload(Application.student))).all()
    if not applications:
        raise WorkflowError(_("Nobody is on the waiting list of this call."), code="empty")
    for application in applications:
        app_services.transition(application, S.not_placed, by=by, actor=Actor.system, notify=False)
    db.session.flush()
    for application in applications:
        student = application.student
        mail.send_template(student.email, "placement_not_placed", locale=student.locale, student=student,
                           application=application, call=call,
                           link=mail.external_url("placements.offer", application_id=application.id))
    audit.record("waitlist_closed", user=by, detail=f"call {call.id}: {len(applications)}")
    return len(applications)
