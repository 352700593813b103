"""Start jobs, run them (in-process or on an RQ worker), report progress and store results."""
import importlib
import json
import logging
import traceback

from flask import current_app
from sqlalchemy import select, update

from ..auth.models import STAFF, Role
from ..core.errors import WorkflowError
from ..core.types import utcnow
from ..extensions import db
from .models import Job, JobStatus

log = logging.getLogger(__name__)
QUEUE_NAME = "exchange"

#: Who may start each kind of job (a kind, or a family of kinds: a prefix ending in "."). A job's page and files
#: are for those roles only, checked on every request: its owner while they still hold one of them, and staff when
#: staff may start it. A kind not listed here cannot be started.
STARTED_BY: dict[str, tuple[Role, ...]] = {
    "applications.export": STAFF,
    "placements.run": STAFF,
    "placements.publish": STAFF,
    "certificates.": STAFF,  # certificates.participation, certificates.placement, ...
}


def roles_for(kind: str) -> tuple[Role, ...]:
    """The roles that may start jobs of `kind` (none for a kind not in STARTED_BY)."""
    if kind in STARTED_BY:
        return STARTED_BY[kind]
    return next((roles for prefix, roles in STARTED_BY.items() if prefix.endswith(".") and kind.startswith(prefix)),
                ())


def may_open(user, job: Job) -> bool:
    """Whether `user` may see the job's page and download its files."""
    if user.role not in roles_for(job.kind):
        return False
    return job.created_by_id == user.id or user.role in STAFF


def redis_connection():
    from redis import Redis
    return Redis.from_url(current_app.config["REDIS_URL"])


def queue():
    from rq import Queue
    return Queue(current_app.config.get("RQ_QUEUE", QUEUE_NAME), connection=redis_connection())


def unfinished_job(kind: str, subject: str) -> Job | None:
    """The latest job of `kind` on `subject` that is queued or running, if any."""
    return db.session.scalar(select(Job).where(Job.kind == kind, Job.subject == subject,
                                               Job.status.in_((JobStatus.queued, JobStatus.running)))
                             .order_by(Job.created_at.desc()).limit(1))


def uses_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def start_job(kind: str, title: str, func: str, *args, user=None, total: int = 0, subject: str | None = None) -> Job:
    """Create a Job and run `func(job_id, *args)` ('package.module:function'); `subject` names what it works on
    (see unfinished_job).

    Commits the job row first so that a worker (another process) can see it.
    """
    if not roles_for(kind):
        raise ValueError(f"no role may start jobs of kind {kind!r}: add it to jobs.services.STARTED_BY")
    job = Job(kind=kind, title=title, total=total, created_by_id=getattr(user, "id", None), subject=subject)
    db.session.add(job)
    db.session.commit()
    if uses_redis():
        queue().enqueue("exchange.jobs.entry.run_job", job.id, func, list(args), job_id=f"exchange-{job.id}",
                        job_timeout=current_app.config.get("JOB_TIMEOUT", 3600))
    else:
        run_job(job.id, func, list(args))
        db.session.refresh(job)
    return job


def _resolve(func: str):
    module_name, _, name = func.partition(":")
    return getattr(importlib.import_module(module_name), name)


def run_job(job_id: str, func: str, args: list) -> None:
    """Run one job, in the app context: in-process, or on `flask worker` (a plain RQ worker, without an app context,
    runs ``exchange.jobs.entry.run_job``, which makes one)."""
    _set(job_id, status=JobStatus.running, started_at=utcnow())
    try:
        result = _resolve(func)(job_id, *args)
    except WorkflowError as exc:  # a refusal with a message for the user (nothing to do, a rule not met)
        db.session.rollback()
        _set(job_id, status=JobStatus.failed, error=exc.message[:2000], finished_at=utcnow(),
             result_json=json.dumps({"refusal": exc.message}))
        return None
    except Exception as exc:  # a job's failure is recorded, not raised into the worker loop
        db.session.rollback()
        log.error("Job %s failed: %s", job_id, traceback.format_exc())
        _set(job_id, status=JobStatus.failed, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow())
        return None
    db.session.commit()
    values = {"status": JobStatus.finished, "finished_at": utcnow()}
    if result is not None:
        values["result_json"] = json.dumps(result)
    _set(job_id, **values)
    return None


def _set(job_id: str, **values) -> None:
    """Write job fields in a transaction of their own, visible at once to other processes.

    On SQLite, while the job's own session holds the database's single write lock (it has written and not yet
    committed), a second connection would wait for that lock until it gives up: the fields are then written in
    the session's transaction and seen when the job commits (in-process jobs on SQLite have no other watcher)."""
    statement = update(Job).where(Job.id == job_id).values(**values)
    if _session_is_writing():
        db.session.execute(statement)
        return
    with db.engine.begin() as conn:
        conn.execute(statement)


def _session_is_writing() -> bool:
    if db.engine.dialect.name != "sqlite" or not db.session().in_transaction():
        return False
    return bool(db.session.connection().connection.dbapi_connection.in_transaction)


def report_progress(job_id: str, done: int, total: int | None = None, message: str | None = None) -> None:
    values = {"done": done}
    if total is not None:
        values["total"] = total
    if message is not None:
        values["message"] = message[:500]
    _set(job_id, **values)


def store_result_file(content: bytes, filename: str, mimetype: str) -> dict:
    """Save a job's output under the upload folder; returns the entry for result["files"][key]."""
    import os
    import secrets

    from ..core.uploads import upload_folder
    stored_name = "job-" + secrets.token_hex(16) + os.path.splitext(filename)[1]
    with open(os.path.join(upload_folder(), stored_name), "wb") as fh:
        fh.write(content)
    return {"stored_name": stored_name, "filename": filename, "mimetype": mimetype}
