"""Registration, waitlist, promotion, event workflow, check-in and the attendance API."""
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.pagination import paginate_rows
from exchange.core.types import utcnow
from exchange.events import ical, services
from exchange.extensions import db
from exchange.events.models import (Audience, Event, EventCategory, EventStatus, QuestionKind, Registration,
                                    RegistrationStatus, attended, attended_clause)
from tests.fixtures.mail import text_of

CONFIRMED, WAITLISTED, CANCELLED = (RegistrationStatus.confirmed, RegistrationStatus.waitlisted,
                                    RegistrationStatus.cancelled)


def register(event, user, answers=None, now=None):
    db.session.commit()  # keep the fixtures when a refused registration rolls back
    return services.commit_with_retry(lambda: services.register(event.id, user, answers, now=now))


def cancel(event, user, now=None):
    db.session.commit()
    return services.commit_with_retry(lambda: services.cancel_registration(event.id, user, now=now))


def statuses(db, event):
    return {r.user_id: r.status for r in db.session.scalars(select(Registration).where(Registration.event_id == event.id))}


def ics_of(message):
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert parts, "no calendar attached"
    return icalendar.Calendar.from_ical(parts[0].get_content())


# --- Registering --------------------------------------------------------------------------------------

def test_register_confirms_and_mails_the_calendar_file(db, make_event, make_user, outbox):
    event = make_event(title="Flamenco for beginners")
    user = make_user(Role.student, name="Ana Pérez", email="ana@example.org")
    registration = register(event, user)
    assert registration.status is CONFIRMED and registration.confirmed_at is not None
    assert len(registration.checkin_code) == 10
    message = outbox.last()
    assert message["To"] == "ana@example.org"
    assert "You are registered: Flamenco for beginners" in message["Subject"]
    body = text_of(message)
    assert registration.checkin_code[:5] + "-" + registration.checkin_code[5:] in body
    assert f"http://exchange.test/events/{event.id}" in body
    vevent = ics_of(message).walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == "Flamenco for beginners"
    assert vevent.decoded("DTSTART") == event.starts_at


def test_full_event_puts_newcomers_on_the_waitlist(db, make_event, students, outbox):
    event = make_event(capacity=2)
    a, b, c, d = students(4)
    for user in (a, b, c, d):
        register(event, user)
    assert statuses(db, event) == {a.id: CONFIRMED, b.id: CONFIRMED, c.id: WAITLISTED, d.id: WAITLISTED}
    assert "On the waitlist" in outbox.last()["Subject"]
    assert "position 2" in text_of(outbox.last())
    assert services.waitlist_position(services.registration_of(event.id, d.id)) == 2


def test_cancelling_promotes_the_first_on_the_waitlist_and_tells_them(db, make_event, students, outbox):
    event = make_event(capacity=2, title="Potluck")
    a, b, c, d = students(4)
    for user in (a, b, c, d):
        register(event, user)
    sent_before = len(outbox)
    promoted = cancel(event, a)
    assert [r.user_id for r in promoted] == [c.id]
    assert statuses(db, event) == {a.id: CANCELLED, b.id: CONFIRMED, c.id: CONFIRMED, d.id: WAITLISTED}
    assert services.waitlist_position(services.registration_of(event.id, d.id)) == 1
    messages = outbox.messages()[sent_before:]
    assert len(messages) == 1
    assert messages[0]["To"] == c.email and "A seat is yours: Potluck" in messages[0]["Subject"]
    ics_of(messages[0])  # the promoted get the calendar file too


def test_leaving_the_waitlist_promotes_nobody(db, make_event, students, outbox):
    event = make_event(capacity=1)
    a, b, c = students(3)
    for user in (a, b, c):
        register(event, user)
    assert cancel(event, b) == []
    assert statuses(db, event) == {a.id: CONFIRMED, b.id: CANCELLED, c.id: WAITLISTED}
    assert services.waitlist_position(services.registration_of(event.id, c.id)) == 1


def test_registering_again_after_cancelling_goes_to_the_back(db, make_event, students):
    event = make_event(capacity=1)
    a, b = students(2)
    register(event, a)
    cancel(event, a)
    register(event, b)
    again = register(event, a)
    assert again.status is WAITLISTED
    assert db.session.scalar(select(func.count(Registration.id)).where(Registration.user_id == a.id)) == 1


def test_nobody_jumps_the_queue_when_a_seat_is_free(db, make_event, students):
    """With people waiting, a newcomer waits too, even if a seat has just been added."""
    event = make_event(capacity=1)
    a, b, c = students(3)
    register(event, a)
    register(event, b)
    event.capacity = 2  # changed behind the service's back: the waitlist was not promoted
    db.session.commit()
    assert register(event, c).status is WAITLISTED


# --- Refused registrations: a clear message, a 4xx, nothing changed ---------------------------------------

def _refused(db, event, user, code, status, **kw):
    before = db.session.scalar(select(func.count(Registration.id)))
    with pytest.raises(WorkflowError) as caught:
        register(event, user, **kw)
    assert caught.value.code == code
    assert caught.value.status == status
    assert 400 <= caught.value.status < 500 and caught.value.message
    assert db.session.scalar(select(func.count(Registration.id))) == before
    return caught.value


def test_register_twice_is_refused(db, make_event, make_user):
    event = make_event()
    user = make_user()
    register(event, user)
    error = _refused(db, event, user, "duplicate", 409)
    assert "already registered" in error.message


def test_join_the_waitlist_twice_is_refused(db, make_event, students):
    event = make_event(capacity=1)
    a, b = students(2)
    register(event, a)
    register(event, b)
    assert "already on the waitlist" in _refused(db, event, b, "duplicate", 409).message


def test_register_after_the_deadline_is_refused(db, make_event, make_user):
    event = make_event()
    event.registration_closes_at = event.starts_at - timedelta(days=2)
    _refused(db, event, make_user(), "closed", 409, now=event.starts_at - timedelta(days=1))


def test_register_after_the_start_is_refused(db, make_event, make_user):
    event = make_event()
    _refused(db, event, make_user(), "closed", 409, now=event.starts_at + timedelta(minutes=1))


def test_register_before_opening_is_refused(db, make_event, make_user):
    event = make_event()
    event.registration_opens_at = utcnow() + timedelta(days=1)
    _refused(db, event, make_user(), "not-open", 409)


def test_register_for_a_cancelled_event_is_refused(db, make_event, make_user):
    _refused(db, make_event(status=EventStatus.cancelled), make_user(), "cancelled", 409)


def test_register_for_a_draft_is_refused(db, make_event, make_user):
    _refused(db, make_event(status=EventStatus.draft), make_user(Role.coordinator), "draft", 409)


@pytest.mark.parametrize(("audience", "role"), [
    (Audience.students, Role.partner), (Audience.students, Role.coordinator),
    (Audience.partners, Role.student), (Audience.call, Role.student),
])
def test_register_outside_the_audience_is_refused(db, make_event, make_user, make_empty_call, audience, role):
    event = make_event(audience=audience, call_id=make_empty_call().id if audience is Audience.call else None)
    _refused(db, event, make_user(role), "audience", 403)


def test_cancelling_after_the_deadline_is_refused(db, make_event, make_user):
    event = make_event()
    user = make_user()
    register(event, user)
    with pytest.raises(WorkflowError) as caught:
        cancel(event, user, now=event.starts_at + timedelta(minutes=5))
    assert caught.value.status == 409
    assert services.registration_of(event.id, user.id).status is CONFIRMED


def test_cancelling_without_registration_is_refused(db, make_event, make_user):
    with pytest.raises(WorkflowError) as caught:
        cancel(make_event(), make_user())
    assert caught.value.code == "not-registered"


# --- Questions ------------------------------------------------------------------------------------------

def test_answers_are_checked_and_saved(db, make_event, make_user):
    event = make_event(questions=[("Dietary needs", "text", None, False),
                                  ("T-shirt size", "choice", "S\nM\nL", True)])
    diet, size = event.questions
    user = make_user()
    with pytest.raises(WorkflowError) as caught:
        register(event, user, {diet.id: "Vegan"})
    assert caught.value.field == f"q_{size.id}"
    with pytest.raises(WorkflowError) as caught:
        register(event, user, {size.id: "XXL"})
    assert caught.value.code == "bad-choice"
    with pytest.raises(WorkflowError):
        register(event, user, {size.id: "M", diet.id: "x" * 501})
    assert services.registration_of(event.id, user.id) is None
    registration = register(event, user, {diet.id: " Vegan ", size.id: "M"})
    assert registration.answer_for(diet.id) == "Vegan" and registration.answer_for(size.id) == "M"
    cancel(event, user)
    again = register(event, user, {size.id: "L"})  # answers afresh
    assert again.answer_for(size.id) == "L" and again.answer_for(diet.id) == ""


def test_add_and_delete_questions(db, make_event, make_user):
    event = make_event()
    question = services.add_question(event, "T-shirt size", QuestionKind.choice, "S\n\n M \nL", True)
    assert question.option_list == ["S", "M", "L"]
    with pytest.raises(WorkflowError) as caught:
        services.add_question(event, "Size", QuestionKind.choice, "only one", False)
    assert caught.value.field == "options"
    services.delete_question(event, question.id)
    assert event.questions == []


# --- Editing and cancelling events -------------------------------------------------------------------------

def data_from(event, **changes):
    values = dict(title=event.title, description=event.description, category=event.category,
                  starts_at=event.starts_at, ends_at=event.ends_at, venue=event.venue, online_url=event.online_url,
                  capacity=event.capacity, audience=event.audience)
    values.update(changes)
    return services.EventData(**values)


def test_create_event_is_a_draft(db, make_user):
    coordinator = make_user(Role.coordinator)
    start = utcnow() + timedelta(days=3)
    event = services.create_event(services.EventData(
        title=" Tandem ", description="", category=EventCategory.language_tandem, starts_at=start,
        ends_at=start + timedelta(hours=2), venue="Café"), by=coordinator)
    assert event.status is EventStatus.draft and event.title == "Tandem" and event.created_by_id == coordinator.id


@pytest.mark.parametrize(("changes", "field"), [
    ({"ends_at_offset": 0}, "ends_at"),
    ({"ends_at_offset": -60}, "ends_at"),
    ({"venue": None, "online_url": None}, "venue"),
    ({"title": "  "}, "title"),
    ({"capacity": 0}, "capacity"),
    ({"audience": Audience.call, "call_id": None}, "call_id"),
])
def test_bad_event_data_is_refused(db, make_event, make_user, changes, field):
    event = make_event()
    if "ends_at_offset" in changes:
        changes = {"ends_at": event.starts_at + timedelta(minutes=changes["ends_at_offset"])}
    with pytest.raises(WorkflowError) as caught:
        services.update_event(event, data_from(event, **changes), by=make_user(Role.coordinator))
    assert caught.value.field == field


def test_capacity_below_the_number_registered_is_refused(db, make_event, students, make_user):
    event = make_event(capacity=5)
    for user in students(4):
        register(event, user)
    with pytest.raises(WorkflowError) as caught:
        services.update_event(event, data_from(event, capacity=3), by=make_user(Role.coordinator))
    assert caught.value.field == "capacity" and "4 people" in caught.value.message
    db.session.rollback()
    assert db.session.get(Event, event.id).capacity == 5


def test_more_capacity_promotes_the_waitlist(db, make_event, students, make_user, outbox):
    event = make_event(capacity=1)
    a, b, c, d = students(4)
    for user in (a, b, c, d):
        register(event, user)
    coordinator = make_user(Role.coordinator)
    promoted = services.commit_with_retry(
        lambda: services.update_event(event, data_from(event, capacity=3), by=coordinator))
    assert [r.user_id for r in promoted] == [b.id, c.id]
    assert statuses(db, event)[d.id] is WAITLISTED
    assert {m["To"] for m in outbox.messages()[-2:]} == {b.email, c.email}
    unlimited = services.commit_with_retry(
        lambda: services.update_event(event, data_from(event, capacity=None), by=coordinator))
    assert [r.user_id for r in unlimited] == [d.id]


def test_cancel_event_tells_everyone_registered(db, make_event, students, make_user, outbox):
    event = make_event(capacity=1, title="Beach volleyball")
    a, b, c = students(3)
    for user in (a, b, c):
        register(event, user)
    cancel(event, c)
    before = len(outbox)
    told = services.commit_with_retry(lambda: services.cancel_event(event, "Storm warning", by=make_user(Role.coordinator)))
    assert told == 2
    messages = outbox.messages()[before:]
    assert {m["To"] for m in messages} == {a.email, b.email}
    assert "Storm warning" in text_of(messages[0])
    assert str(ics_of(messages[0]).walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    with pytest.raises(WorkflowError):
        services.cancel_event(event, "", by=make_user(Role.coordinator))


def test_publish_only_drafts(db, make_event, make_user):
    coordinator = make_user(Role.coordinator)
    draft = make_event(status=EventStatus.draft)
    services.publish_event(draft, by=coordinator)
    assert draft.status is EventStatus.published
    with pytest.raises(WorkflowError):
        services.publish_event(draft, by=coordinator)


def test_mail_is_not_sent_when_the_work_is_rolled_back(db, make_event, make_user, outbox):
    event = make_event()
    services.register(event.id, make_user())
    db.session.rollback()
    db.session.commit()
    assert len(outbox) == 0


# --- Check-in and attendance -------------------------------------------------------------------------------

def test_check_in_with_a_typed_or_scanned_code(db, make_event, students, make_user):
    event = make_event()
    a, b = students(2)
    coordinator = make_user(Role.coordinator)
    ra, rb = register(event, a), register(event, b)
    typed = f" {ra.checkin_code[:5].lower()}-{ra.checkin_code[5:]} "
    assert services.check_in_code(event, typed, by=coordinator, now=event.starts_at) is ra
    assert ra.checked_in_at is not None and ra.checked_in_by_id == coordinator.id and attended(ra)
    scanned = f"http://exchange.test/events/{event.id}/checkin?code={rb.checkin_code}"
    assert services.check_in_code(event, scanned, by=coordinator, now=event.starts_at) is rb


@pytest.mark.parametrize(("situation", "code", "status"), [
    ("other-event", "other-event", 422),
    ("waitlisted", "waitlisted", 409),
    ("already", "already", 409),
    ("unknown", "unknown-code", 404),
    ("empty", "no-code", 422),
])
def test_check_in_refusals(db, make_event, students, make_user, situation, code, status):
    event = make_event(capacity=1)
    other = make_event(title="Another event")
    a, b = students(2)
    coordinator = make_user(Role.coordinator)
    mine = register(event, a)
    waiting = register(event, b)
    elsewhere = register(other, b)
    if situation == "already":
        services.check_in(event, mine, by=coordinator, now=event.starts_at)
    given = {"other-event": elsewhere.checkin_code, "waitlisted": waiting.checkin_code,
             "already": mine.checkin_code, "unknown": "ZZZZZZZZZZ", "empty": " - "}[situation]
    before = {r.id: r.checked_in_at for r in db.session.scalars(select(Registration))}
    with pytest.raises(WorkflowError) as caught:
        services.check_in_code(event, given, by=coordinator, now=event.starts_at)
    assert caught.value.code == code and caught.value.status == status
    if situation == "other-event":
        assert "Another event" in caught.value.message
    assert {r.id: r.checked_in_at for r in db.session.scalars(select(Registration))} == before


def test_undo_check_in_needs_a_reason_and_goes_to_the_audit_log(db, make_event, make_user):
    from exchange.core.audit import AuditEvent
    event = make_event()
    registration = register(event, make_user(name="Ana Pérez"))
    coordinator = make_user(Role.coordinator)
    services.check_in(event, registration, by=coordinator, now=event.starts_at)
    for reason in ("", "   ", None, "x" * 501):
        with pytest.raises(WorkflowError) as caught:
            services.undo_check_in(event, registration, by=coordinator, reason=reason)
        assert caught.value.field == "reason"
        assert attended(registration)
    services.undo_check_in(event, registration, by=coordinator, reason=" Checked in the wrong person ")
    assert not attended(registration)
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "event_checkin_undone"))
    assert entry.user_id == coordinator.id
    assert entry.detail == f"event {event.id}, registration {registration.id} (Ana Pérez): Checked in the wrong person"
    with pytest.raises(WorkflowError) as caught:
        services.undo_check_in(event, registration, by=coordinator, reason="again")
    assert caught.value.code == "not-checked-in"


def test_check_in_opens_two_hours_before_the_start(app, db, make_event, make_user, monkeypatch):
    event = make_event()
    registration = register(event, make_user())
    coordinator = make_user(Role.coordinator)
    for now in (None, event.starts_at - timedelta(minutes=121)):  # today (a week before), and just too early
        with pytest.raises(WorkflowError) as caught:
            services.check_in_code(event, registration.checkin_code, by=coordinator, now=now)
        assert caught.value.code == "not-open" and caught.value.status == 409
        assert caught.value.message.startswith("Check-in has not opened yet: it opens on ")
        assert registration.checked_in_at is None
    assert services.check_in(event, registration, by=coordinator, now=event.starts_at - timedelta(minutes=120))
    assert attended(registration)


def test_check_in_opening_is_configurable(app, db, make_event, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_OPENS_BEFORE_MINUTES", 30)
    event = make_event()
    registration = register(event, make_user())
    coordinator = make_user(Role.coordinator)
    assert services.checkin_opens_at(event) == event.starts_at - timedelta(minutes=30)
    with pytest.raises(WorkflowError) as caught:
        services.check_in(event, registration, by=coordinator, now=event.starts_at - timedelta(minutes=60))
    assert caught.value.code == "not-open"
    services.check_in(event, registration, by=coordinator, now=event.starts_at - timedelta(minutes=30))
    assert attended(registration)


def test_a_checked_in_registration_cannot_be_cancelled(db, make_event, make_user):
    event = make_event()
    user = make_user()
    registration = register(event, user)
    services.check_in(event, registration, by=make_user(Role.coordinator), now=event.starts_at - timedelta(hours=1))
    checked_in_at = registration.checked_in_at
    with pytest.raises(WorkflowError) as caught:
        cancel(event, user, now=event.starts_at - timedelta(minutes=30))
    assert caught.value.code == "checked-in" and caught.value.status == 409
    assert "You have checked in at this event" in caught.value.message
    db.session.expire_all()
    registration = db.session.get(Registration, registration.id)
    assert registration.status is CONFIRMED and registration.checked_in_at == checked_in_at


def test_attended_means_checked_in(db, make_event, students, make_user):
    """The rule that gates certificates of participation, in Python and in SQL."""
    past = make_event(title="Welcome tour")
    missed = make_event(title="Excursion")
    a, b = students(2)
    coordinator = make_user(Role.coordinator)
    ra = register(past, a)
    rb = register(past, b)
    rm = register(missed, a)
    services.check_in(past, ra, by=coordinator, now=past.starts_at)
    db.session.commit()
    assert db.session.scalars(select(Registration.id).where(attended_clause())).all() == [ra.id]
    assert [r.has_attended for r in (ra, rb, rm)] == [True, False, False]


# --- Visibility, lists and calendars -----------------------------------------------------------------------

def test_who_sees_which_event(db, make_event, make_user):
    everyone = make_event(title="Everyone")
    for_students = make_event(title="Students", audience=Audience.students)
    for_partners = make_event(title="Partners", audience=Audience.partners)
    draft = make_event(title="Draft", status=EventStatus.draft)
    cancelled = make_event(title="Cancelled", status=EventStatus.cancelled)

    def seen(user):
        return {e.title for e in db.session.scalars(select(Event).where(services.visible_clause(user)))}
    assert seen(make_user(Role.student)) == {"Everyone", "Students", "Cancelled"}
    assert seen(make_user(Role.partner)) == {"Everyone", "Partners", "Cancelled"}
    assert seen(make_user(Role.coordinator)) == {"Everyone", "Students", "Partners", "Draft", "Cancelled"}
    del everyone, for_students, for_partners, draft, cancelled


def test_upcoming_registrations_with_waitlist_positions(db, make_event, students):
    soon = make_event(title="Soon", capacity=1, starts_at=utcnow() + timedelta(days=1))
    later = make_event(title="Later", starts_at=utcnow() + timedelta(days=5))
    past = make_event(title="Past", starts_at=utcnow() - timedelta(days=5))
    a, b, c = students(3)
    register(soon, a)
    register(soon, b)
    register(soon, c)
    register(later, c)
    db.session.add(Registration(event_id=past.id, user_id=c.id, status=CONFIRMED, queued_at=utcnow()))
    db.session.commit()
    summary = services.home_summary(c)
    assert [(row.title, row.status, row.position) for row in summary.upcoming] == [
        ("Soon", WAITLISTED, 2), ("Later", CONFIRMED, None)]
    assert (summary.open_count, summary.draft_count) == (2, None)
    assert [row.title for row in services.home_summary(c, limit=1).upcoming] == ["Soon"]


def test_home_summary_without_registrations_still_counts(db, make_event, students, make_user):
    make_event(title="Open")
    make_event(title="For partners", audience=Audience.partners)
    make_event(title="Draft", status=EventStatus.draft)
    make_event(title="Old draft", status=EventStatus.draft, starts_at=utcnow() - timedelta(days=3))
    student, = students(1)
    assert services.home_summary(student) == services.HomeSummary(upcoming=[], open_count=1)
    coordinator = make_user(Role.coordinator)
    assert services.home_summary(coordinator) == services.HomeSummary(upcoming=[], open_count=2, draft_count=1)


def test_seat_counts_in_one_query(db, make_event, students):
    event = make_event(capacity=2)
    empty = make_event()
    users = students(3)
    for user in users:
        register(event, user)
    services.check_in(event, services.registration_of(event.id, users[0].id), by=users[0], now=event.starts_at)
    counts = services.seat_counts([event.id, empty.id])
    assert counts[event.id] == services.Seats(confirmed=2, waitlisted=1, checked_in=1)
    assert counts[empty.id] == services.Seats()
    assert services.seats_left(event, counts[event.id]) == 0


def test_icalendar_file(app, db, make_event):
    event = make_event(title="Tandem", description="Some **bold** words", online_url="https://meet.example.org/x")
    with app.test_request_context():
        data = ical.calendar_bytes([event], name="Programme")
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    vevent = cal.walk("VEVENT")[0]
    assert str(vevent["UID"]) == f"event-{event.id}@exchange.test"
    assert vevent.decoded("DTSTART") == event.starts_at and vevent.decoded("DTEND") == event.ends_at
    assert "Some bold words" in str(vevent["DESCRIPTION"]) and "**" not in str(vevent["DESCRIPTION"])
    assert str(vevent["LOCATION"]) == "Student café"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent["DTSTAMP"]


def test_messages_reach_every_registrant_in_their_language(db, make_event, make_user, outbox):
    event = make_event(capacity=1)
    a = make_user(locale="es")
    b = make_user()
    register(event, a)
    register(event, b)
    before = len(outbox)
    sent = services.message_registrants(event, "Meeting point changed", "Meet at gate 3.", include_waitlist=False,
                                        by=make_user(Role.coordinator))
    db.session.commit()
    assert sent == 1
    [message] = outbox.messages()[before:]
    assert message["To"] == a.email and "Meeting point changed" in message["Subject"]
    assert "Meet at gate 3." in text_of(message)


# --- The exchange students of a call ----------------------------------------------------------------------------

def test_call_audience_is_the_students_placed_in_the_call(db, make_event, make_empty_call, apply_to, make_user):
    call, other_call = make_empty_call(), make_empty_call(title="Traineeships")
    event = make_event(title="Pre-departure briefing", audience=Audience.call, call_id=call.id)
    make_event(title="Welcome day")
    placed, accepted, submitted, elsewhere = (make_user(Role.student) for _ in range(4))
    apply_to(call, placed, "placed")
    apply_to(call, accepted, "accepted")
    apply_to(call, submitted, "submitted")
    apply_to(other_call, elsewhere, "placed")
    for user, expected in ((placed, True), (accepted, True), (submitted, False), (elsewhere, False)):
        assert services.is_in_call_audience(user, call.id) is expected
        assert services.in_audience(user, event) is expected
        visible = db.session.scalar(select(Event.id).where(services.visible_clause(user), Event.id == event.id))
        assert (visible is not None) is expected
        # The home panel's statement is built once per role: the user is a parameter, not part of it.
        assert services.home_summary(user).open_count == (2 if expected else 1)
    assert register(event, placed).status is CONFIRMED
    _refused(db, event, submitted, "audience", 403)
    assert not services.is_in_call_audience(make_user(Role.coordinator), call.id)


def test_call_audience_needs_an_existing_call(db, make_event, make_empty_call, make_user):
    event = make_event()
    coordinator = make_user(Role.coordinator)
    with pytest.raises(WorkflowError) as caught:
        services.update_event(event, data_from(event, audience=Audience.call, call_id=999999), by=coordinator)
    assert caught.value.field == "call_id"
    call = make_empty_call(title="Erasmus+ study 2031/32", academic_year=2031)
    services.update_event(event, data_from(event, audience=Audience.call, call_id=call.id), by=coordinator)
    assert event.call_id == call.id
    assert services.call_label(event.call) == "Erasmus+ study 2031/32 (2031/32)"
    assert services.call_choices() == [(call.id, "Erasmus+ study 2031/32 (2031/32)")]


# --- Lists as plain rows ------------------------------------------------------------------------------

def test_list_rows_carry_seat_counts_and_the_viewers_status(db, make_event, students):
    event = make_event(capacity=2, title="Busy")
    quiet = make_event(title="Quiet", starts_at=utcnow() + timedelta(days=9))
    a, b, c, d = students(4)
    for user in (a, b, c, d):
        register(event, user)
    cancel(event, d)
    for user, expected in ((a, CONFIRMED), (c, WAITLISTED), (d, None)):
        rows = db.session.execute(services.list_rows_query(user)).all()
        assert [(r.title, r.confirmed, r.waitlisted, r.my_status) for r in rows] == [
            ("Busy", 2, 1, expected), ("Quiet", 0, 0, None)]
    start, end = utcnow(), utcnow() + timedelta(days=30)
    month = services.month_rows(c, start, end)
    assert [(r.id, r.confirmed, r.my_status) for r in month] == [(event.id, 2, WAITLISTED), (quiet.id, 0, None)]
    assert [r.id for r in services.month_rows(c, start, end, category=EventCategory.excursion)] == []


def test_list_rows_respect_the_audience(db, make_event, students, make_user):
    make_event(title="For everyone")
    make_event(title="For partners", audience=Audience.partners)
    make_event(title="Draft", status=EventStatus.draft)
    student, = students(1)
    coordinator = make_user(Role.coordinator)
    titles = lambda user: [r.title for r in db.session.execute(services.list_rows_query(user))]  # noqa: E731
    assert titles(student) == ["For everyone"]
    assert sorted(titles(coordinator)) == ["Draft", "For everyone", "For partners"]


@pytest.mark.parametrize(("page", "titles"), [(1, ["E00", "E01", "E02", "E03"]), (3, ["E08"]), (7, [])])
def test_paginate_rows_counts_with_the_page(app, db, make_event, students, page, titles):
    for i in range(9):
        make_event(title=f"E{i:02d}", starts_at=utcnow() + timedelta(days=1 + i))
    student, = students(1)
    with app.test_request_context(f"/events/?page={page}"):
        result = paginate_rows(services.list_rows_query(student), per_page=4)
    assert [row.title for row in result.items] == titles
    assert (result.total, result.pages, result.page) == (9, 3, page)
