"""Housekeeping that no request does: deleting rows nobody needs any more.

Two ways to run it, both documented in README (Production):

* ``flask maintenance prune`` runs every task once and commits: call it from cron or a systemd timer
  (needed when there is no Redis, hence no ``flask worker``);
* ``flask worker`` runs the same tasks between jobs, at most once per :data:`WORKER_INTERVAL` for all
  the workers on one queue together: the worker that sets the Redis key ``<RQ_QUEUE>:maintenance``
  (which expires after the interval) prunes, the others skip.

Each task deletes in the session and returns how many rows it deleted; :func:`prune` commits.
"""
import logging
from datetime import timedelta

from flask import current_app

from ..extensions import db

log = logging.getLogger(__name__)

#: How often `flask worker` prunes (between jobs, checked at RQ's maintenance ticks, every 10 minutes).
WORKER_INTERVAL = timedelta(hours=1)


def tasks() -> dict:
    """What to prune (what each count is of) and the function that does it."""
    from ..auth.services import prune_login_attempts
    return {"failed logins": prune_login_attempts}


def prune() -> dict[str, int]:
    """Run every task and commit; the rows deleted, per task."""
    counts = {name: task() for name, task in tasks().items()}
    db.session.commit()
    return counts


def lock_key() -> str:
    from .services import QUEUE_NAME
    return f"{current_app.config.get('RQ_QUEUE', QUEUE_NAME)}:maintenance"


def prune_if_due(connection) -> dict[str, int] | None:
    """For the worker: prune unless some worker of this queue did within WORKER_INTERVAL (then None).

    A failure is logged and rolled back, never raised into the worker loop; the next try is an interval later.
    """
    if not connection.set(lock_key(), "1", nx=True, ex=int(WORKER_INTERVAL.total_seconds())):
        return None
    try:
        counts = prune()
    except Exception:
        db.session.rollback()
        log.exception("Maintenance failed; the next try is in %s", WORKER_INTERVAL)
        return None
    log.info("Maintenance: %s", ", ".join(f"{count} {name} deleted" for name, count in counts.items()))
    return counts
