"""Housekeeping: `flask maintenance prune` (cron) and `flask worker` (at most once an hour) delete the failed
logins that no longer count, and keep those of the throttling window."""
from datetime import timedelta

from sqlalchemy import select

from exchange.auth.models import LoginAttempt
from exchange.core.types import utcnow
from exchange.jobs import maintenance


def failed_logins(app, db):
    """One failed login just outside LOGIN_WINDOW_MINUTES and one inside; returns the recent one's id."""
    window = timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"])
    old = LoginAttempt(email="old@example.test", address="192.0.2.1", at=utcnow() - window - timedelta(minutes=1))
    recent = LoginAttempt(email="new@example.test", address="192.0.2.2", at=utcnow() - window + timedelta(minutes=1))
    db.session.add_all([old, recent])
    db.session.commit()
    return recent.id


def remaining(db):
    db.session.expire_all()
    return db.session.scalars(select(LoginAttempt.id)).all()


def maintenance_connection():
    from exchange.jobs.services import redis_connection
    return redis_connection()


def test_the_prune_command_deletes_old_failed_logins_and_keeps_recent_ones(app, db):
    recent = failed_logins(app, db)
    result = app.test_cli_runner().invoke(args=["maintenance", "prune"])
    assert result.exit_code == 0, result.output
    assert "1 failed logins deleted." in result.output
    assert remaining(db) == [recent]


def test_the_worker_prunes_at_most_once_an_hour(app, db, redis_queue):
    recent = failed_logins(app, db)
    connection = maintenance_connection()
    try:
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output
        assert remaining(db) == [recent]
        assert 0 < connection.ttl(maintenance.lock_key()) <= 3600

        again = failed_logins(app, db)  # another old one: the next worker leaves it for the next hour
        assert app.test_cli_runner().invoke(args=["worker", "--burst"]).exit_code == 0
        assert len(remaining(db)) == 3 and {recent, again} <= set(remaining(db))
    finally:
        connection.delete(maintenance.lock_key())


def test_a_failing_task_does_not_stop_the_worker(app, db, redis_queue, monkeypatch):
    def broken():
        raise RuntimeError("database went away")
    monkeypatch.setattr(maintenance, "tasks", lambda: {"broken things": broken})
    connection = maintenance_connection()
    try:
        assert maintenance.prune_if_due(connection) is None
    finally:
        connection.delete(maintenance.lock_key())
