"""What the queue runs: a job, inside an app context (made here when the RQ worker has none, e.g. `rq worker`).

Queued by name (``jobs.services.start_job``), so the domains never import the app factory.
"""
from flask import has_app_context

from .. import create_app
from . import services


def run_job(job_id: str, func: str, args: list) -> None:
    if has_app_context():
        return services.run_job(job_id, func, args)
    with create_app().app_context():
        return services.run_job(job_id, func, args)
