"""The registration workflow: its table, its one writer, and Registration.can_cancel (the question the event page
asks) agreeing with services.cancel_problem (the refusal the service gives)."""
from datetime import timedelta

import pytest

from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.events import services
from exchange.events.models import REGISTRATION_TRANSITIONS, EventStatus, Registration, RegistrationStatus

MOVES = [(a, b) for a in REGISTRATION_TRANSITIONS for b in RegistrationStatus]


def test_every_status_has_a_row():
    assert set(REGISTRATION_TRANSITIONS) == set(RegistrationStatus) | {None}


@pytest.mark.parametrize(("from_status", "to_status"), [m for m in MOVES if m[1] in REGISTRATION_TRANSITIONS[m[0]]])
def test_the_writer_makes_every_allowed_move(app, from_status, to_status):
    registration = Registration(status=from_status)
    assert registration.can_transition(to_status)
    services.set_registration_status(registration, to_status)
    assert registration.status is to_status


@pytest.mark.parametrize(("from_status", "to_status"),
                         [m for m in MOVES if m[1] not in REGISTRATION_TRANSITIONS[m[0]]])
def test_the_writer_refuses_the_other_moves(app, from_status, to_status):
    registration = Registration(status=from_status)
    with pytest.raises(WorkflowError) as exc:
        services.set_registration_status(registration, to_status)
    assert exc.value.status == 409 and registration.status is from_status


def test_registering_cancelling_and_promoting_go_through_the_table(db, make_event, make_user):
    event = make_event(capacity=1)
    first, second = make_user(Role.student), make_user(Role.student)
    mine = services.register(event.id, first)
    waiting = services.register(event.id, second)
    assert (mine.status, waiting.status) == (RegistrationStatus.confirmed, RegistrationStatus.waitlisted)
    assert services.cancel_registration(event.id, first) == [waiting]
    assert (mine.status, waiting.status) == (RegistrationStatus.cancelled, RegistrationStatus.confirmed)
    again = services.register(event.id, first)
    assert again is mine and mine.status is RegistrationStatus.waitlisted


def _cases(db, make_event, make_user, attend):
    """(registration, user, now) in the situations cancel_problem knows."""
    now = utcnow()
    event = make_event()
    owner = make_user(Role.student)
    confirmed = attend(event, user=owner, checked_in=False)
    yield confirmed, owner, now                                   # may cancel
    yield confirmed, make_user(Role.student), now                 # someone else's
    yield confirmed, owner, event.closes_at + timedelta(minutes=1)  # too late
    waiting = attend(event, checked_in=False, status=RegistrationStatus.waitlisted)
    yield waiting, waiting.user, now                              # may leave the waitlist
    checked = attend(event)
    yield checked, checked.user, now                              # came: stays
    gone = attend(event, checked_in=False, status=RegistrationStatus.cancelled)
    yield gone, gone.user, now                                    # already cancelled
    cancelled_event = make_event(status=EventStatus.cancelled)
    stranded = attend(cancelled_event, checked_in=False)
    yield stranded, stranded.user, now                            # the event was cancelled


def test_can_cancel_agrees_with_the_service(db, make_event, make_user, attend):
    answers = []
    for registration, user, now in _cases(db, make_event, make_user, attend):
        db.session.refresh(registration)
        expected = (registration.user_id == user.id
                    and services.cancel_problem(registration.event, registration, now) is None)
        assert registration.can_cancel(user, now) is expected
        answers.append(expected)
    assert answers == [True, False, False, True, False, False, False]


def test_the_event_page_offers_cancelling_when_the_model_allows_it(db, client, login, make_event, make_user, attend):
    event = make_event()
    user = login(Role.student)
    registration = attend(event, user=user, checked_in=False)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Cancel my registration" in page and "You are registered" in page
    registration.checked_in_at = utcnow()
    db.session.commit()
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Cancel my registration" not in page and "can no longer be cancelled" in page
