"""Never over capacity: many people register for the last seats at the same moment.

Real concurrency: threads, each with its own session and database connection.
- PostgreSQL (when the suite runs there): the suite's own app and schema; the event row is locked with
  SELECT ... FOR UPDATE.
- SQLite: the suite's database is in memory on one shared connection, so this test builds a separate app on
  a temporary database FILE, where writers are serialised by SQLite's write lock (and retried when locked).
The test creates its users and event, and removes them (PostgreSQL) or the whole file (SQLite) afterwards.
"""
import os
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from exchange import create_app
from exchange.auth.models import Role, User
from exchange.config import TestConfig
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.events import services
from exchange.events.models import Audience, Event, EventCategory, EventStatus, Registration, RegistrationStatus
from exchange.extensions import db

CAPACITY = 20
ALREADY_CONFIRMED = 16  # 4 seats left
NEWCOMERS = 52  # at least 50 concurrent registrations for the last seats
DOUBLE_CLICKERS = 4  # of the newcomers, these submit twice at once
CANCELLERS = 3  # of those already confirmed, these cancel at the same moment


def _setup(app):
    with app.app_context():
        starts_at = utcnow() + timedelta(days=5)
        event = Event(title="Last seats", description="", category=EventCategory.cultural_evening,
                      starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), venue="Hall", capacity=CAPACITY,
                      audience=Audience.everyone, status=EventStatus.published, sequence=0)
        db.session.add(event)
        tag = uuid.uuid4().hex[:6]
        users = [User(email=f"conc-{tag}-{n}@example.test", name=f"Student {n}", role=Role.student)
                 for n in range(ALREADY_CONFIRMED + NEWCOMERS)]
        db.session.add_all(users)
        db.session.flush()
        for user in users[:ALREADY_CONFIRMED]:
            db.session.add(Registration(event_id=event.id, user_id=user.id, status=RegistrationStatus.confirmed,
                                        queued_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        ids = [u.id for u in users]
        event_id = event.id
        db.session.remove()
    return event_id, ids[:ALREADY_CONFIRMED], ids[ALREADY_CONFIRMED:]


def _run_concurrently(app, jobs):
    """Start every job at the same moment, each in its own thread, app context and session."""
    barrier = threading.Barrier(len(jobs))
    outcomes, failures = [], []
    lock = threading.Lock()

    def worker(kind, event_id, user_id):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                db.session.commit()  # hold no connection while waiting at the barrier
                barrier.wait(timeout=60)
                if kind == "register":
                    result = services.commit_with_retry(lambda: services.register(event_id, user)).status.value
                else:
                    services.commit_with_retry(lambda: services.cancel_registration(event_id, user))
                    result = "cancelled"
                with lock:
                    outcomes.append((kind, user_id, result))
            except WorkflowError as exc:
                with lock:
                    outcomes.append((kind, user_id, f"refused:{exc.code}"))
            except Exception as exc:  # anything else is a failure of the test
                with lock:
                    failures.append(f"{kind} {user_id}: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a registration hung"
    return outcomes, failures


def _check(app, event_id, confirmed_before, newcomers, outcomes, failures):
    assert not failures, failures
    registrations = [o for o in outcomes if o[0] == "register"]
    assert len(registrations) == NEWCOMERS + DOUBLE_CLICKERS
    doubles = [o for o in registrations if o[2] == "refused:duplicate"]
    assert len(doubles) == DOUBLE_CLICKERS  # the second click of each double-clicker, and nothing else
    assert all(o[2] in ("confirmed", "waitlisted", "refused:duplicate") for o in registrations)
    cancels = sorted(o[1] for o in outcomes if o[0] == "cancel" and o[2] == "cancelled")
    assert cancels == sorted(confirmed_before[:CANCELLERS])
    with app.app_context():
        rows = db.session.execute(select(Registration.user_id, Registration.status)
                                  .where(Registration.event_id == event_id)).all()
        per_user = db.session.execute(select(Registration.user_id, func.count(Registration.id))
                                      .where(Registration.event_id == event_id)
                                      .group_by(Registration.user_id)
                                      .having(func.count(Registration.id) > 1)).all()
        db.session.remove()
    statuses = [status for _user, status in rows]
    confirmed = statuses.count(RegistrationStatus.confirmed)
    waitlisted = statuses.count(RegistrationStatus.waitlisted)
    cancelled = statuses.count(RegistrationStatus.cancelled)
    assert per_user == []  # one row per person: nobody is both confirmed and waitlisted
    assert confirmed == CAPACITY  # never over, and every freed seat was refilled from the waitlist
    assert cancelled == CANCELLERS
    assert confirmed + waitlisted == ALREADY_CONFIRMED - CANCELLERS + NEWCOMERS
    assert waitlisted == ALREADY_CONFIRMED - CANCELLERS + NEWCOMERS - CAPACITY
    newly_confirmed = {uid for _kind, uid, result in registrations if result == "confirmed"}
    assert len(newly_confirmed) <= CAPACITY - ALREADY_CONFIRMED + CANCELLERS


def _jobs(event_id, confirmed_before, newcomers):
    jobs = [("register", event_id, uid) for uid in newcomers]
    jobs += [("register", event_id, uid) for uid in newcomers[:DOUBLE_CLICKERS]]
    jobs += [("cancel", event_id, uid) for uid in confirmed_before[:CANCELLERS]]
    return jobs


def test_concurrent_registrations_on_a_sqlite_file(tmp_path):
    path = os.path.join(tmp_path, "concurrency.db")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
                     SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 15}},
                     UPLOAD_FOLDER=os.path.join(tmp_path, "uploads"), MAIL_FOLDER=os.path.join(tmp_path, "mail"))
    with app.app_context():
        db.create_all()
    try:
        event_id, confirmed_before, newcomers = _setup(app)
        outcomes, failures = _run_concurrently(app, _jobs(event_id, confirmed_before, newcomers))
        _check(app, event_id, confirmed_before, newcomers, outcomes, failures)
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def test_concurrent_registrations_on_postgresql(app, db, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("runs when TEST_DATABASE_URL points at PostgreSQL")
    statements = []

    def remember(conn, cursor, statement, *args):
        if "FROM events" in statement:
            statements.append(statement)
    sa_event.listen(db.engine, "before_cursor_execute", remember)
    try:
        event_id, confirmed_before, newcomers = _setup(app)
        outcomes, failures = _run_concurrently(app, _jobs(event_id, confirmed_before, newcomers))
        _check(app, event_id, confirmed_before, newcomers, outcomes, failures)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", remember)
    assert any("FOR UPDATE" in s for s in statements)  # the event row was locked
