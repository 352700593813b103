"""The cultural programme: who sees what, the event workflow, registration with capacity and waitlist,
check-in, messages to registrants.

Services mutate, flush and raise WorkflowError; the caller commits. Capacity is enforced under a lock on
the event row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite a write statement takes the database
write lock first, which serialises registrations), and `commit_with_retry` retries the whole unit when
SQLite answers "database is locked". Emails are rendered inside the transaction and sent only after it
commits (nothing is sent for work that is rolled back).
"""
import csv
import functools
import io
import logging
import random
import secrets
import time
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from ..core.i18n import format_datetime
from ..core.i18n import gettext as _
from ..core.i18n import locale_of
from sqlalchemy import and_, bindparam, case, func, or_, select, text, true
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, selectinload

from ..applications.models import Application, Call
from ..applications.workflow import ApplicationStatus
from ..auth.models import STAFF, Role, User
from ..core import audit, mail
from ..core.csvsafe import safe_row
from ..core.errors import WorkflowError, check_reason
from ..core.reference import academic_year_label
from ..core.types import utcnow
from ..core.uploads import StoredFile, delete_upload
from ..extensions import db
from .. import signals
from . import ical, waitlist
from .display import when_for
from .models import (Audience, Event, EventCategory, EventQuestion, EventStatus, QuestionKind, Registration,
                     RegistrationAnswer, RegistrationStatus, attended_clause)

log = logging.getLogger(__name__)

MAX_ANSWER_LENGTH = 500
MAX_QUESTIONS = 20
MAX_REASON_LENGTH = 500


# --- Mail sent after commit ---------------------------------------------------------------------

def queue_mail(user: User, template: str, attachments=(), **context) -> None:
    """Render templates/email/<template>.txt now, in the recipient's language, and send it after commit
    (core.mail: nothing is sent for work that is rolled back)."""
    mail.send_after_commit(mail.compose(user.email, template, locale=locale_of(user), attachments=list(attachments),
                                        user=user, **context))


# --- Transactions -------------------------------------------------------------------------------

def commit_with_retry(action, attempts: int = 8):
    """Run action() and commit; on SQLite's "database is locked" roll back and run it again.

    A WorkflowError from the action is raised after rolling back. A unique-constraint race (two requests
    of the same person at once) becomes a WorkflowError too.
    """
    for attempt in range(attempts):
        try:
            result = action()
            db.session.commit()
            return result
        except WorkflowError:
            db.session.rollback()
            raise
        except IntegrityError:
            db.session.rollback()
            raise WorkflowError(_("Someone changed this at the same moment. Please reload the page and try again."),
                                code="conflict", status=409)
        except OperationalError as exc:
            db.session.rollback()
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1) + random.random() * 0.05)
    raise RuntimeError("unreachable")


def lock_event(event_id: int) -> Event:
    """Load the event with a write lock held until the transaction ends; concurrent writers wait."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a (no-op) write takes the database's write lock now, so the counts
        # read next cannot change before this transaction commits.
        db.session.execute(text("UPDATE events SET sequence = sequence WHERE id = :id"), {"id": event_id})
    event = db.session.scalars(select(Event).where(Event.id == event_id).with_for_update()
                               .execution_options(populate_existing=True)).first()
    if event is None:
        raise WorkflowError(_("This event does not exist."), code="missing", status=404)
    return event


# --- Calls (owned by the applications package) ---------------------------------------------------

#: "Exchange students of a call": students whose application in the call was given a place.
CALL_AUDIENCE_STATUSES = (ApplicationStatus.placed, ApplicationStatus.accepted)


def _call_ids_of(user):
    """SQL: the calls in which the user is an exchange student (`user.id` may be a bound parameter, for statements
    built once per role)."""
    return select(Application.call_id).where(Application.student_id == user.id,
                                             Application.status.in_(CALL_AUDIENCE_STATUSES))


def is_in_call_audience(user, call_id: int | None) -> bool:
    """Is the user an exchange student of this call (a student placed in it, or who accepted the place)?"""
    if user is None or call_id is None or user.role is not Role.student:
        return False
    return db.session.scalar(select(func.count(Application.id)).where(
        Application.student_id == user.id, Application.call_id == call_id,
        Application.status.in_(CALL_AUDIENCE_STATUSES))) > 0


def call_choices() -> list[tuple[int, str]]:
    """Calls to choose as an audience, newest first."""
    rows = db.session.execute(select(Call.id, Call.title, Call.academic_year)
                              .order_by(Call.academic_year.desc(), Call.id.desc()))
    return [(call_id, f"{title} ({academic_year_label(year)})") for call_id, title, year in rows]


def call_label(call: Call | None) -> str:
    return f"{call.title} ({academic_year_label(call.academic_year)})" if call is not None else ""


# --- Who sees and who may register ------------------------------------------------------------

def audience_clause(user):
    """SQL: events whose audience includes the user (staff: those open to everyone signed in)."""
    conditions = [Event.audience == Audience.everyone]
    if user.role is Role.student:
        conditions.append(Event.audience == Audience.students)
        conditions.append(and_(Event.audience == Audience.call, Event.call_id.in_(_call_ids_of(user))))
    elif user.role is Role.partner:
        conditions.append(Event.audience == Audience.partners)
    return or_(*conditions)


def visible_clause(user):
    """SQL: the events the user may see. Staff see everything; others published or cancelled events of
    their audience (never drafts)."""
    if user.is_staff:
        return true()
    return and_(Event.status != EventStatus.draft, audience_clause(user))


def event_query_for(user, event_id: int):
    """The event if the user may see it, with what its page shows loaded up front."""
    return select(Event).where(Event.id == event_id, visible_clause(user)).options(*event_page_options())


def event_page_options():
    return (selectinload(Event.questions), selectinload(Event.partner_institution), selectinload(Event.call))


def in_audience(user, event: Event) -> bool:
    audience = event.audience
    if audience is Audience.everyone:
        return True
    if audience is Audience.students:
        return user.role is Role.student
    if audience is Audience.partners:
        return user.role is Role.partner
    if audience is Audience.call:
        return is_in_call_audience(user, event.call_id)
    return False


def can_manage(user) -> bool:
    """Coordinators and administrators run the cultural programme."""
    return bool(user and user.is_authenticated and user.is_staff)


# --- Creating and editing events ------------------------------------------------------------------

@dataclass
class EventData:
    title: str
    description: str
    category: EventCategory
    starts_at: datetime
    ends_at: datetime
    venue: str | None = None
    online_url: str | None = None
    capacity: int | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    audience: Audience = Audience.everyone
    call_id: int | None = None
    partner_institution_id: int | None = None
    country: str | None = None


def _check_event_data(data: EventData) -> None:
    if not (data.title or "").strip():
        raise WorkflowError(_("Please give the event a title."), code="no-title", field="title")
    if data.starts_at is None or data.ends_at is None:
        raise WorkflowError(_("Please give the start and the end."), code="no-dates", field="starts_at")
    if data.ends_at <= data.starts_at:
        raise WorkflowError(_("The end must be after the start."), code="end-before-start", field="ends_at")
    if data.registration_opens_at and data.registration_closes_at \
            and data.registration_closes_at <= data.registration_opens_at:
        raise WorkflowError(_("Registration must close after it opens."), code="closes-before-opens",
                            field="registration_closes_at")
    if data.registration_closes_at and data.registration_closes_at > data.ends_at:
        raise WorkflowError(_("Registration cannot close after the event has ended."), code="closes-after-end",
                            field="registration_closes_at")
    if data.registration_opens_at and data.registration_opens_at >= data.ends_at:
        raise WorkflowError(_("Registration must open before the event ends."), code="opens-after-end",
                            field="registration_opens_at")
    if not (data.venue or data.online_url):
        raise WorkflowError(_("Give a venue, an online link, or both."), code="no-place", field="venue")
    if data.capacity is not None and data.capacity < 1:
        raise WorkflowError(_("The capacity must be at least 1 (leave it empty for unlimited)."),
                            code="capacity", field="capacity")
    if data.audience is Audience.call:
        if data.call_id is None:
            raise WorkflowError(_("Choose the call whose exchange students are invited."), code="no-call",
                                field="call_id")
        if db.session.get(Call, data.call_id) is None:
            raise WorkflowError(_("Choose a call from the list."), code="unknown-call", field="call_id")


def _apply(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.description = data.description or ""
    event.category = data.category
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    event.venue = data.venue or None
    event.online_url = data.online_url or None
    event.capacity = data.capacity
    event.registration_opens_at = data.registration_opens_at
    event.registration_closes_at = data.registration_closes_at
    event.audience = data.audience
    event.call_id = data.call_id if data.audience is Audience.call else None
    event.partner_institution_id = data.partner_institution_id
    event.country = data.country.upper() if data.country else None


def create_event(data: EventData, by: User, cover: StoredFile | None = None) -> Event:
    """A new draft. `cover` is an image already checked and stored by core.uploads.save_upload."""
    _check_event_data(data)
    event = Event(status=EventStatus.draft, created_by_id=by.id, sequence=0)
    _apply(event, data)
    if cover is not None:
        event.cover_image, event.cover_mimetype = cover.stored_name, cover.mimetype
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, data: EventData, by: User, cover: StoredFile | None = None,
                 remove_cover: bool = False, now: datetime | None = None) -> list[Registration]:
    """Save the changes; returns who was promoted from the waitlist when seats were added."""
    _check_event_data(data)
    event = lock_event(event.id)
    if event.status is EventStatus.cancelled:
        raise WorkflowError(_("A cancelled event cannot be changed."), code="cancelled", status=409)
    confirmed = count_confirmed(event.id)
    if data.capacity is not None and data.capacity < confirmed:
        raise WorkflowError(
            _("%(count)s people are already confirmed: the capacity cannot be lower than that.", count=confirmed),
            code="capacity-below-registered", field="capacity")
    _apply(event, data)
    if cover is not None or remove_cover:
        delete_upload(event.cover_image)
        event.cover_image = cover.stored_name if cover else None
        event.cover_mimetype = cover.mimetype if cover else None
    event.sequence = (event.sequence or 0) + 1
    db.session.flush()
    return promote_waitlist(event, now)


def publish_event(event: Event, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not event.can_transition(EventStatus.published):
        raise WorkflowError(_("Only a draft can be published."), code="not-draft", status=409)
    if event.ends_at <= now:
        raise WorkflowError(_("This event has already ended; it cannot be published."), code="ended", status=409)
    event.status = EventStatus.published
    event.sequence = (event.sequence or 0) + 1
    audit.record("event_published", user=by, detail=f"event {event.id}")


def cancel_event(event: Event, reason: str | None, by: User, now: datetime | None = None) -> int:
    """Cancel the event and tell everyone registered or waiting; returns how many were told."""
    now = now or utcnow()
    event = lock_event(event.id)
    if not event.can_transition(EventStatus.cancelled):
        raise WorkflowError(_("This event has already been cancelled."), code="already-cancelled", status=409)
    event.status = EventStatus.cancelled
    event.cancelled_at = now
    event.cancellation_reason = (reason or "").strip() or None
    event.sequence = (event.sequence or 0) + 1
    db.session.flush()
    registrations = active_registrations(event.id)
    attachment = mail.Attachment(ical.filename_for(event), ical.calendar_bytes([event]), ical.ICS_MIMETYPE)
    for registration in registrations:
        queue_mail(registration.user, "event_cancelled", attachments=[attachment], event=event,
                   when=when_for(event, registration.user), reason=event.cancellation_reason,
                   link=mail.external_url("events.detail", event_id=event.id))
    audit.record("event_cancelled", user=by, detail=f"event {event.id}: {len(registrations)} told")
    return len(registrations)


# --- Questions asked at registration ----------------------------------------------------------

def add_question(event: Event, label: str, kind: QuestionKind, options: str | None, is_required: bool) -> EventQuestion:
    if event.status is EventStatus.cancelled:
        raise WorkflowError(_("A cancelled event cannot be changed."), code="cancelled", status=409)
    if len(event.questions) >= MAX_QUESTIONS:
        raise WorkflowError(_("An event can have at most %(max)s questions.", max=MAX_QUESTIONS),
                            code="too-many-questions", field="label")
    label = (label or "").strip()
    if not label:
        raise WorkflowError(_("Please write the question."), code="no-label", field="label")
    cleaned = "\n".join(line.strip() for line in (options or "").splitlines() if line.strip())
    if kind is QuestionKind.choice and len(cleaned.splitlines()) < 2:
        raise WorkflowError(_("Give at least two options, one per line."), code="options", field="options")
    position = max((q.position for q in event.questions), default=0) + 1
    question = EventQuestion(label=label, kind=kind, options=cleaned if kind is QuestionKind.choice else None,
                             is_required=is_required, position=position)
    event.questions.append(question)
    db.session.flush()
    return question


def delete_question(event: Event, question_id: int) -> None:
    question = next((q for q in event.questions if q.id == question_id), None)
    if question is None:
        raise WorkflowError(_("This question does not exist."), code="missing", status=404)
    event.questions.remove(question)
    db.session.flush()


def clean_answers(questions, answers: dict | None) -> dict[int, str]:
    """Check answers against the questions: required ones given, choices from the list, length limits."""
    answers = answers or {}
    cleaned = {}
    for question in questions:
        value = str(answers.get(question.id) or "").strip()
        field = f"q_{question.id}"
        if len(value) > MAX_ANSWER_LENGTH:
            raise WorkflowError(_("Use at most %(max)d characters.", max=MAX_ANSWER_LENGTH), code="too-long",
                                field=field)
        if question.is_required and not value:
            raise WorkflowError(_("This field is required."), code="required", field=field)
        if value and question.kind is QuestionKind.choice and value not in question.option_list:
            raise WorkflowError(_("Choose a value from the list."), code="bad-choice", field=field)
        if value:
            cleaned[question.id] = value
    return cleaned


# --- Counting seats --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seats:
    confirmed: int = 0
    waitlisted: int = 0
    checked_in: int = 0


def count_confirmed(event_id: int) -> int:
    return db.session.scalar(select(func.count(Registration.id)).where(
        Registration.event_id == event_id, Registration.status == RegistrationStatus.confirmed)) or 0


def seat_counts(event_ids) -> dict[int, Seats]:
    """Confirmed, waitlisted and checked-in counts for several events in one query."""
    event_ids = list(event_ids)
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Registration.event_id,
               func.count(Registration.id).filter(Registration.status == RegistrationStatus.confirmed),
               func.count(Registration.id).filter(Registration.status == RegistrationStatus.waitlisted),
               func.count(Registration.id).filter(attended_clause()))
        .where(Registration.event_id.in_(event_ids)).group_by(Registration.event_id))
    counts = {event_id: Seats() for event_id in event_ids}
    for event_id, n_confirmed, n_waiting, n_in in rows:
        counts[event_id] = Seats(n_confirmed or 0, n_waiting or 0, n_in or 0)
    return counts


def seats_left(event: Event, seats: Seats) -> int | None:
    return waitlist.seats_left(event.capacity, seats.confirmed)


def waitlist_order():
    return (Registration.queued_at, Registration.id)


def waiting_list(event_id: int) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(
        Registration.event_id == event_id, Registration.status == RegistrationStatus.waitlisted)
        .order_by(*waitlist_order())))


def active_registrations(event_id: int) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(
        Registration.event_id == event_id, Registration.status != RegistrationStatus.cancelled)
        .options(selectinload(Registration.user)).order_by(Registration.id)))


def waitlist_position(registration: Registration) -> int | None:
    if not registration.is_waitlisted:
        return None
    ahead = db.session.scalar(select(func.count(Registration.id)).where(
        Registration.event_id == registration.event_id, Registration.status == RegistrationStatus.waitlisted,
        or_(Registration.queued_at < registration.queued_at,
            and_(Registration.queued_at == registration.queued_at, Registration.id < registration.id))))
    return (ahead or 0) + 1


#: The other registrations of the same event, for position_column (made once: building an alias and its
#: columns costs more than the rest of the statement).
_OTHER_REGISTRATION = aliased(Registration, name="other_registration")


def position_column():
    """SQL: a correlated waitlist position for Registration rows (1 = next to get a seat)."""
    other = _OTHER_REGISTRATION
    return (select(func.count(other.id) + 1).where(
        other.event_id == Registration.event_id, other.status == RegistrationStatus.waitlisted,
        or_(other.queued_at < Registration.queued_at,
            and_(other.queued_at == Registration.queued_at, other.id < Registration.id)))
        .correlate(Registration).scalar_subquery())


# --- Registering and cancelling -----------------------------------------------------------------

def registration_of(event_id: int, user_id: int) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.event_id == event_id,
                                                        Registration.user_id == user_id))


def set_registration_status(registration: Registration, to_status: RegistrationStatus) -> None:
    """The one writer of ``Registration.status``: WorkflowError when ``REGISTRATION_TRANSITIONS`` does not allow
    the move. The caller sets the fields that go with it (queued_at, confirmed_at, cancelled_at)."""
    to_status = RegistrationStatus(to_status)
    if not registration.can_transition(to_status):
        raise WorkflowError(_("Someone else changed this record while you were editing it. Please reload and try again."),
                            code="transition-not-allowed", status=409)
    registration.status = to_status


def registration_problem(event: Event, user: User, now: datetime | None = None,
                         registration: Registration | None = None) -> WorkflowError | None:
    """Why the user may not register now (None when they may). Shared by the page and the service."""
    now = now or utcnow()
    if event.status is EventStatus.draft:
        return WorkflowError(_("This event is not published yet."), code="draft", status=409)
    if event.status is EventStatus.cancelled:
        return WorkflowError(_("This event has been cancelled."), code="cancelled", status=409)
    if not in_audience(user, event):
        return WorkflowError(_("This event is for %(audience)s only.", audience=event.audience.label),
                             code="audience", status=403)
    if registration is not None and registration.is_confirmed:
        return WorkflowError(_("You are already registered for this event."), code="duplicate", status=409)
    if registration is not None and registration.is_waitlisted:
        return WorkflowError(_("You are already on the waitlist for this event."), code="duplicate", status=409)
    if event.registration_opens_at and now < event.registration_opens_at:
        return WorkflowError(_("Registration has not opened yet."), code="not-open", status=409)
    if now >= event.closes_at:
        return WorkflowError(_("Registration for this event has closed."), code="closed", status=409)
    return None


def register(event_id: int, user: User, answers: dict | None = None, now: datetime | None = None) -> Registration:
    """Register the user: a confirmed seat when one is free and nobody is waiting, else the waitlist.

    Runs under the event lock, so concurrent registrations never exceed the capacity.
    """
    now = now or utcnow()
    event = lock_event(event_id)
    registration = registration_of(event.id, user.id)
    problem = registration_problem(event, user, now, registration)
    if problem is not None:
        raise problem
    cleaned = clean_answers(event.questions, answers)
    confirmed = count_confirmed(event.id)
    waiting = db.session.scalar(select(func.count(Registration.id)).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.waitlisted)) or 0
    seated = waitlist.admit(event.capacity, confirmed, waiting)
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id)
        db.session.add(registration)
    set_registration_status(registration, RegistrationStatus.confirmed if seated else RegistrationStatus.waitlisted)
    registration.queued_at = now
    registration.confirmed_at = now if seated else None
    registration.cancelled_at = None
    registration.checked_in_at = None
    registration.checked_in_by_id = None
    if registration.answers:  # a returning registrant answers afresh (delete first: unique per question)
        registration.answers.clear()
        db.session.flush()
    registration.answers.extend(RegistrationAnswer(question_id=qid, value=value) for qid, value in cleaned.items())
    db.session.flush()
    if seated:
        _queue_confirmation(registration, event, user)
    else:
        queue_mail(user, "event_waitlisted", event=event, when=when_for(event, user),
                   position=waitlist_position(registration),
                   link=mail.external_url("events.detail", event_id=event.id))
    return registration


def _queue_confirmation(registration: Registration, event: Event, user: User, template: str = "event_registered"):
    attachment = mail.Attachment(ical.filename_for(event), ical.calendar_bytes([event]), ical.ICS_MIMETYPE)
    queue_mail(user, template, attachments=[attachment], event=event, when=when_for(event, user),
               code=registration.checkin_code, link=mail.external_url("events.detail", event_id=event.id))


def cancel_problem(event: Event, registration: Registration | None,
                   now: datetime | None = None) -> WorkflowError | None:
    """Why the registrant may not cancel now (None when they may). Shared by the page and the service."""
    if registration is None:
        return WorkflowError(_("You are not registered for this event."), code="not-registered", status=409)
    return registration.cancel_problem(now or utcnow())


def cancel_registration(event_id: int, user: User, now: datetime | None = None) -> list[Registration]:
    """Give up a seat or a waitlist place; the first on the waitlist moves up. Returns who was promoted.

    A registration that was checked in stays: the person came (and a certificate may rest on it).
    """
    now = now or utcnow()
    event = lock_event(event_id)
    registration = registration_of(event.id, user.id)
    problem = cancel_problem(event, registration, now)
    if problem is not None:
        raise problem
    was_confirmed = registration.is_confirmed
    set_registration_status(registration, RegistrationStatus.cancelled)
    registration.cancelled_at = now
    registration.confirmed_at = None
    db.session.flush()
    return promote_waitlist(event, now) if was_confirmed else []


def promote_waitlist(event: Event, now: datetime | None = None) -> list[Registration]:
    """Fill free seats from the head of the waitlist and tell the promoted. Call with the event locked."""
    now = now or utcnow()
    if event.status is not EventStatus.published or now >= event.starts_at:
        return []
    queue = waiting_list(event.id)
    if not queue:
        return []
    chosen = set(waitlist.promote(event.capacity, count_confirmed(event.id), [r.id for r in queue]))
    promoted = [r for r in queue if r.id in chosen]
    for registration in promoted:
        set_registration_status(registration, RegistrationStatus.confirmed)
        registration.confirmed_at = now
    db.session.flush()
    for registration in promoted:
        _queue_confirmation(registration, event, registration.user, template="event_promoted")
    return promoted


# --- Check-in ---------------------------------------------------------------------------------------

def normalise_code(value: str | None) -> str:
    """A typed code ('abcd-efgh 23') or a scanned check-in link → 'ABCDEFGH23'."""
    value = (value or "").strip()
    if "://" in value or value.startswith("/"):
        found = parse_qs(urlsplit(value).query).get("code")
        value = found[0] if found else ""
    return "".join(c for c in value.upper() if c.isalnum())[:16]


def find_by_code(code: str) -> Registration | None:
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(select(Registration).where(Registration.checkin_code == code)
                             .options(selectinload(Registration.user), selectinload(Registration.event)))


def checkin_opens_at(event: Event) -> datetime:
    """When check-in opens: CHECKIN_OPENS_BEFORE_MINUTES (default two hours) before the start."""
    return event.starts_at - timedelta(minutes=int(current_app.config.get("CHECKIN_OPENS_BEFORE_MINUTES", 120)))


def checkin_not_open(event: Event, now: datetime | None = None) -> WorkflowError | None:
    """The refusal while check-in has not opened yet (None once it has)."""
    opens_at = checkin_opens_at(event)
    if (now or utcnow()) >= opens_at:
        return None
    return WorkflowError(_("Check-in has not opened yet: it opens on %(when)s, before the event starts.",
                           when=format_datetime(opens_at, "short")), code="not-open", field="code", status=409)


def check_in_problem(event: Event, registration: Registration | None,
                     now: datetime | None = None) -> WorkflowError | None:
    problem = checkin_not_open(event, now)
    if problem is not None:
        return problem
    if registration is None:
        return WorkflowError(_("No registration has this code. Check the code and try again."),
                             code="unknown-code", field="code", status=404)
    if registration.event_id != event.id:
        return WorkflowError(_("This code is for another event (%(title)s), not this one.",
                               title=registration.event.title), code="other-event", field="code", status=422)
    if event.status is not EventStatus.published:
        return WorkflowError(_("Only a published event takes check-ins."), code="not-published", status=409)
    if registration.status is RegistrationStatus.waitlisted:
        return WorkflowError(_("%(name)s is on the waitlist, without a seat.", name=registration.user.name),
                             code="waitlisted", field="code", status=409)
    if registration.status is RegistrationStatus.cancelled:
        return WorkflowError(_("%(name)s cancelled this registration.", name=registration.user.name),
                             code="cancelled", field="code", status=409)
    if registration.checked_in_at is not None:
        return WorkflowError(_("%(name)s has already checked in.", name=registration.user.name),
                             code="already", field="code", status=409)
    return None


def check_in(event: Event, registration: Registration | None, by: User, now: datetime | None = None) -> Registration:
    now = now or utcnow()
    problem = check_in_problem(event, registration, now)
    if problem is not None:
        raise problem
    registration.checked_in_at = now
    registration.checked_in_by_id = by.id
    db.session.flush()
    return registration


def check_in_code(event: Event, code: str, by: User, now: datetime | None = None) -> Registration:
    if not normalise_code(code):
        raise WorkflowError(_("Please type or scan a check-in code."), code="no-code", field="code")
    return check_in(event, find_by_code(code), by, now)


def checkin_kept_because(registration: Registration) -> str | None:
    """Why the registration's check-in may not be removed (None when it may): asks
    `signals.checkin_removal_requested`."""
    for _receiver, refusal in signals.checkin_removal_requested.send(registration):
        if refusal:
            return str(refusal)
    return None


def undo_check_in(event: Event, registration: Registration, by: User, reason: str | None) -> None:
    """Take back a check-in made by mistake, saying why (kept in the audit log). Refused while something rests
    on it (see `signals.checkin_removal_requested`: a valid certificate of participation)."""
    if registration.event_id != event.id or registration.checked_in_at is None:
        raise WorkflowError(_("This person has not checked in."), code="not-checked-in", status=409)
    reason = check_reason(reason, MAX_REASON_LENGTH, missing=_("Please say why the check-in is undone."))
    refusal = checkin_kept_because(registration)
    if refusal:
        raise WorkflowError(refusal, code="certified", status=409)
    registration.checked_in_at = None
    registration.checked_in_by_id = None
    audit.record("event_checkin_undone", user=by,
                 detail=f"event {event.id}, registration {registration.id} ({registration.user.name}): {reason}")
    db.session.flush()


# --- Organiser tools ----------------------------------------------------------------------------------

def registrations_for(event_id: int) -> list[Registration]:
    """Every registration of the event, with people and answers, in waitlist order."""
    return list(db.session.scalars(
        select(Registration).where(Registration.event_id == event_id)
        .options(selectinload(Registration.user), selectinload(Registration.answers))
        .order_by(*waitlist_order())))


def registrations_csv(event: Event, registrations: list[Registration]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row([_("Name"), _("Email address"), _("Status"), _("Waitlist position"),
                              _("Registered at (UTC)"), _("Checked in at (UTC)"), *[q.label for q in event.questions]]))
    position = 0
    for registration in registrations:
        if registration.is_waitlisted:
            position += 1
        writer.writerow(safe_row((
            registration.user.name, registration.user.email, registration.status.label,
            position if registration.is_waitlisted else "",
            registration.queued_at.strftime("%Y-%m-%d %H:%M"),
            registration.checked_in_at.strftime("%Y-%m-%d %H:%M") if registration.checked_in_at else "",
            *[registration.answer_for(q.id) for q in event.questions])))
    return out.getvalue()


def message_registrants(event: Event, subject: str, body: str, include_waitlist: bool, by: User) -> int:
    """Email everyone confirmed (and, if asked, waiting); returns how many."""
    statuses = [RegistrationStatus.confirmed] + ([RegistrationStatus.waitlisted] if include_waitlist else [])
    registrations = [r for r in active_registrations(event.id) if r.status in statuses]
    if not registrations:
        raise WorkflowError(_("Nobody is registered yet: there is nobody to write to."), code="nobody", status=409)
    for registration in registrations:
        queue_mail(registration.user, "event_message", event=event, subject=subject.strip(), body=body.strip(),
                   sender=by, when=when_for(event, registration.user),
                   link=mail.external_url("events.detail", event_id=event.id))
    audit.record("event_message_sent", user=by, detail=f"event {event.id} to {len(registrations)}: {subject[:200]}")
    return len(registrations)


# --- Finding events -----------------------------------------------------------------------------------

def _filtered(query, category: EventCategory | None, audience: Audience | None):
    if category is not None:
        query = query.where(Event.category == category)
    if audience is not None:
        query = query.where(Event.audience == audience)
    return query


def _in_time(query, when_: str, now: datetime):
    if when_ == "past":
        return query.where(Event.ends_at < now).order_by(Event.starts_at.desc(), Event.id.desc())
    return query.where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)


def _seat_count_column(status: RegistrationStatus):
    """SQL: how many registrations of the Event row have this status (a correlated count)."""
    return (select(func.count(Registration.id))
            .where(Registration.event_id == Event.id, Registration.status == status)
            .correlate(Event).scalar_subquery())


def _my_status_column(user):
    """SQL: the user's registration status for the Event row; NULL when none or cancelled."""
    return (select(Registration.status)
            .where(Registration.event_id == Event.id, Registration.user_id == user.id,
                   Registration.status != RegistrationStatus.cancelled)
            .correlate(Event).scalar_subquery())


#: What a list of events shows of each one (plain rows: the list pages need no Event objects).
LIST_COLUMNS = (Event.id, Event.title, Event.category, Event.status, Event.audience, Event.starts_at,
                Event.ends_at, Event.venue, Event.online_url, Event.capacity)


def list_rows_query(user, when_: str = "upcoming", category: EventCategory | None = None,
                    audience: Audience | None = None, now: datetime | None = None):
    """SQL for the list of events as rows: LIST_COLUMNS, then `confirmed` and `waitlisted` (seat counts) and
    `my_status` (the user's registration status, None when not registered), in one statement."""
    query = select(*LIST_COLUMNS,
                   _seat_count_column(RegistrationStatus.confirmed).label("confirmed"),
                   _seat_count_column(RegistrationStatus.waitlisted).label("waitlisted"),
                   _my_status_column(user).label("my_status")).where(visible_clause(user))
    return _filtered(_in_time(query, when_, now or utcnow()), category, audience)


def events_between(user, start: datetime, end: datetime, category=None, audience=None,
                   include_drafts: bool = True) -> list[Event]:
    query = select(Event).where(visible_clause(user), Event.starts_at < end, Event.ends_at > start)
    if not include_drafts:
        query = query.where(Event.status != EventStatus.draft)
    return list(db.session.scalars(_filtered(query, category, audience).order_by(Event.starts_at, Event.id)))


def month_rows(user, start: datetime, end: datetime, category=None, audience=None) -> list:
    """The events between start and end for the month view, as rows in one statement: id, title, category,
    status, starts_at, ends_at, capacity, `confirmed` (seats taken) and `my_status` (the user's registration
    status, None when not registered)."""
    query = select(Event.id, Event.title, Event.category, Event.status, Event.starts_at, Event.ends_at,
                   Event.capacity, _seat_count_column(RegistrationStatus.confirmed).label("confirmed"),
                   _my_status_column(user).label("my_status")
                   ).where(visible_clause(user), Event.starts_at < end, Event.ends_at > start)
    return db.session.execute(_filtered(query, category, audience).order_by(Event.starts_at, Event.id)).all()


def feed_events(user, now: datetime | None = None, category=None, audience=None) -> list[Event]:
    """The whole programme as a calendar: from 60 days ago on, published and cancelled (not drafts)."""
    now = now or utcnow()
    return events_between(user, now - timedelta(days=60), now + timedelta(days=3650), category, audience,
                          include_drafts=False)


# --- The private calendar feed ----------------------------------------------------------------------------

def new_calendar_token(user) -> str:
    """Give `user` a new secret feed link (the old one, if any, stops working)."""
    user.calendar_token = secrets.token_urlsafe(32)
    return user.calendar_token


def _renew_calendar_link(user, **kwargs) -> None:
    """After a new password, a private calendar link the user had is replaced (the old one stops working)."""
    if user.calendar_token:
        new_calendar_token(user)


def connect_signals() -> None:
    """Follow the auth domain (called once by create_app)."""
    signals.password_changed.connect(_renew_calendar_link, weak=False)


def remove_calendar_token(user) -> None:
    user.calendar_token = None


def calendar_feed_user(token: str):
    """The active account whose feed link holds `token`, or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token, User.is_active_account.is_(True)))


@dataclass(frozen=True)
class HomeSummary:
    """The home page's events panel."""
    upcoming: list  # rows: id, title, starts_at, ends_at, status, position (the waitlist place; None when confirmed)
    open_count: int  # upcoming published events open to the user
    draft_count: int | None = None  # staff only: drafts of events still to come


@functools.cache
def _home_summary_statement(role: Role, limit: int):
    """The panel's statement for a role, built once per process (building it cost more than running it): the
    user and the time are bound parameters."""
    user_id, now = bindparam("user_id"), bindparam("now")
    user = SimpleNamespace(id=user_id, role=role, is_staff=role in STAFF)  # stands in for any user of the role
    counted = [select(func.count(Event.id)).where(visible_clause(user), Event.status == EventStatus.published,
                                                  Event.ends_at >= now).scalar_subquery().label("open_count")]
    if user.is_staff:
        counted.append(select(func.count(Event.id)).where(Event.status == EventStatus.draft, Event.ends_at >= now)
                       .scalar_subquery().label("draft_count"))
    counts = select(*counted).subquery("counts")
    waitlisted = Registration.status == RegistrationStatus.waitlisted
    upcoming = (select(Event.id, Event.title, Event.starts_at, Event.ends_at, Registration.status,
                       case((waitlisted, position_column())).label("position"))
                .join(Event, Event.id == Registration.event_id)
                .where(Registration.user_id == user_id, Registration.status != RegistrationStatus.cancelled,
                       Event.status == EventStatus.published, Event.ends_at >= now)
                .order_by(Event.starts_at, Event.id).limit(limit).subquery("upcoming"))
    return (select(counts, upcoming).select_from(counts).outerjoin(upcoming, true())
            .order_by(upcoming.c.starts_at, upcoming.c.id))


def home_summary(user, now: datetime | None = None, limit: int = 5) -> HomeSummary:
    """The user's next `limit` registrations with waitlist positions and the panel's counts, in one statement:
    the counts are a one-row table LEFT JOINed to the registrations, so they come back when there are none."""
    rows = db.session.execute(_home_summary_statement(user.role, limit),
                              {"user_id": user.id, "now": now or utcnow()}).all()
    first = rows[0]
    return HomeSummary(
        upcoming=[row for row in rows if row.id is not None],
        open_count=first.open_count or 0,
        draft_count=(first.draft_count or 0) if user.is_staff else None)


def registrations_of_user(user, now: datetime | None = None):
    """All the user's registrations, upcoming first then past, with waitlist positions."""
    rows = db.session.execute(
        select(Registration, Event, position_column())
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.user_id == user.id, Event.status != EventStatus.draft)
        .order_by(Event.starts_at.desc(), Event.id.desc())).all()
    return [(registration, event, position if registration.is_waitlisted else None)
            for registration, event, position in rows]
