"""The demo programme: a term of events around today, idempotent."""
from sqlalchemy import func, select

from exchange.core.types import utcnow
from exchange.events import demo, services
from exchange.events.models import Event, EventStatus, Registration, RegistrationStatus, attended_clause
from exchange.partners import demo as partners_demo


def seed(db):
    context = {}
    partners_demo.seed(context)
    db.session.flush()
    demo.seed(context)
    db.session.commit()
    return context


def test_demo_programme_is_alive_and_idempotent(db):
    context = seed(db)
    counts = (db.session.scalar(select(func.count(Event.id))), db.session.scalar(select(func.count(Registration.id))))
    seed(db)
    assert (db.session.scalar(select(func.count(Event.id))),
            db.session.scalar(select(func.count(Registration.id)))) == counts

    now = utcnow()
    events = list(db.session.scalars(select(Event).where(Event.status == EventStatus.published)))
    assert sum(e.ends_at < now for e in events) >= 3  # past
    assert any(e.starts_at <= now <= e.ends_at for e in events)  # ongoing
    assert sum(e.starts_at > now for e in events) >= 5  # upcoming
    assert db.session.scalar(select(func.count(Event.id)).where(Event.status == EventStatus.draft)) >= 1
    assert db.session.scalar(select(func.count(Event.id)).where(Event.status == EventStatus.cancelled)) >= 1

    potluck = context["events"]["potluck"]
    seats = services.seat_counts([potluck.id])[potluck.id]
    assert potluck.starts_at > now and seats.confirmed == potluck.capacity and seats.waitlisted >= 2

    student = context["users"]["student"]
    attended = list(db.session.scalars(select(Registration).where(Registration.user_id == student.id,
                                                                  attended_clause())))
    assert attended and all(r.event.ends_at < now for r in attended)
    assert context["attended_events"] == sorted((r.event for r in attended), key=lambda e: e.starts_at)
    waiting = services.registration_of(potluck.id, student.id)
    assert waiting.status is RegistrationStatus.waitlisted and services.waitlist_position(waiting) == 2
