"""Demo certificates (idempotent: running it twice changes nothing).

Runs after the events seeder (and after applications/placements when they exist). Issues certificates of
participation to everyone checked in at the past events the demo student attended (context
["attended_events"]), including three showcase attendees with non-Latin names; revokes and reissues one
(a misspelt name) so that a revoked certificate can be verified too; and issues placement letters and
completion certificates for whatever placed students (and completion records) the placements step seeded.

Two verification codes are fixed so that a visitor can try them at once:
  /verify/demo-valid-certificate     the demo student's certificate of participation (valid)
  /verify/demo-revoked-certificate   a revoked certificate (its replacement is valid)

Adds to the context:
  context["certificates"]       the valid demo certificates (list of Certificate)
  context["certificate_codes"]  {"valid": ..., "revoked": ...}: the two fixed verification codes
"""
from datetime import timedelta

from sqlalchemy import select

from ..applications.models import Application
from ..auth.demo import demo_user
from ..auth.models import Role
from ..core.types import utcnow
from ..events.models import Event, EventStatus, Registration, RegistrationStatus, attended_clause
from ..extensions import db
from . import services
from .kinds import PLACED_STATUSES
from .models import Certificate, CertificateKind, CompletionRecord

VALID_CODE = "demo-valid-certificate"
REVOKED_CODE = "demo-revoked-certificate"
#: Attendees whose names show the fonts at work (e-mail, name, preferred language).
SHOWCASE = [
    ("wang.xiuying@demo.test", "王秀英", None),
    ("mohammed.alali@demo.test", "محمد العلي", "fr"),
    ("ozlem.celik@demo.test", "Özlem Çelik", "es"),
]
MISSPELT = "Ozlem Celik"


def _past_events_with_attendees(limit: int = 3) -> list[Event]:
    return list(db.session.scalars(
        select(Event).where(Event.starts_at < utcnow(), Event.status != EventStatus.cancelled,
                            Event.id.in_(select(Registration.event_id).where(attended_clause())))
        .order_by(Event.starts_at).limit(limit)))


def _check_in(event: Event, user, by) -> Registration:
    registration = db.session.scalar(select(Registration).where(Registration.event_id == event.id,
                                                                Registration.user_id == user.id))
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id, status=RegistrationStatus.confirmed,
                                    queued_at=event.starts_at - timedelta(days=5),
                                    confirmed_at=event.starts_at - timedelta(days=5),
                                    checked_in_at=event.starts_at + timedelta(minutes=10),
                                    checked_in_by_id=by.id if by else None)
        db.session.add(registration)
        db.session.flush()
    return registration


def _without_certificate(kind: CertificateKind, subject_ids: list[int]) -> list[int]:
    """Subjects that never had a certificate of this kind (not even a revoked one)."""
    if not subject_ids:
        return []
    column = Certificate.registration_id if kind is CertificateKind.participation else Certificate.application_id
    have = set(db.session.scalars(select(column).where(Certificate.kind == kind, column.in_(subject_ids))))
    return [i for i in subject_ids if i not in have]


def _participation(context, coordinator) -> None:
    events = [e for e in context.get("attended_events") or [] if e.starts_at < utcnow()]
    events = events or _past_events_with_attendees()
    if not events:
        return
    for email, name, locale in SHOWCASE:
        user = demo_user(email, name, Role.student)
        if user.locale is None and locale:
            user.locale = locale
        _check_in(events[0], user, coordinator)
    for event in events:
        ids = _without_certificate(CertificateKind.participation,
                                   services.eligible_subject_ids(CertificateKind.participation, event.id))
        services.issue_many(CertificateKind.participation, ids, coordinator)
    db.session.flush()

    student = context["users"]["student"]
    if db.session.scalar(select(Certificate.id).where(Certificate.code == VALID_CODE)) is None:
        mine = db.session.scalar(select(Certificate).join(Registration, Registration.id == Certificate.registration_id)
                                 .where(Registration.event_id == events[0].id, Registration.user_id == student.id,
                                        Certificate.revoked_at.is_(None)))
        if mine is not None:
            mine.code = VALID_CODE
    if db.session.scalar(select(Certificate.id).where(Certificate.code == REVOKED_CODE)) is None:
        ozlem = demo_user(SHOWCASE[2][0], SHOWCASE[2][1], Role.student)
        hers = db.session.scalar(select(Certificate).join(Registration, Registration.id == Certificate.registration_id)
                                 .where(Registration.event_id == events[0].id, Registration.user_id == ozlem.id,
                                        Certificate.revoked_at.is_(None)))
        if hers is not None:
            hers.code = REVOKED_CODE
            hers.recipient_name = MISSPELT  # as it was printed before the name was corrected
            services.revoke_certificate(hers, coordinator, "The name was misspelt (Ozlem Celik); reissued with "
                                                          "the correct spelling.")
            services.reissue_certificate(hers, coordinator, None)
    db.session.flush()


def _applications(coordinator) -> None:
    placed = list(db.session.scalars(select(Application.id).where(
        Application.status.in_(PLACED_STATUSES), Application.placed_place_id.is_not(None))
        .order_by(Application.id)))
    services.issue_many(CertificateKind.placement, _without_certificate(CertificateKind.placement, placed),
                        coordinator)
    completed = list(db.session.scalars(select(CompletionRecord.application_id)
                                        .where(CompletionRecord.application_id.in_(placed))))
    services.issue_many(CertificateKind.completion, _without_certificate(CertificateKind.completion, completed),
                        coordinator)
    db.session.flush()


def seed(context: dict) -> None:
    coordinator = context["users"]["coordinator"]
    _participation(context, coordinator)
    _applications(coordinator)
    context["certificates"] = list(db.session.scalars(
        select(Certificate).where(Certificate.revoked_at.is_(None)).order_by(Certificate.id)))
    context["certificate_codes"] = {"valid": VALID_CODE, "revoked": REVOKED_CODE}
