"""Matching runs of large calls and publishing a run, as background jobs (see exchange/jobs).

Publishing: every student's transition and offer in one transaction, then one e-mail per student, with the
progress on the job's page; without Redis it runs at once. A matching run: on a worker when Redis is configured
and the call has more than MATCHING_INLINE_LIMIT eligible applications (seconds at 50,000); the job's page
then opens the new run."""
from datetime import datetime

from flask_babel import force_locale

from ..auth.models import User
from ..core import mail
from ..core.i18n import gettext as _
from ..core.i18n import locale_of, ngettext
from ..extensions import db
from ..core.urls import site_path
from ..jobs.services import report_progress
from . import offers, runs
from ..applications.models import Call
from .models import MatchingRun

FUNC = "exchange.placements.jobs:publish"
RUN_FUNC = "exchange.placements.jobs:run"
#: The job's page is updated about this many times.
PROGRESS_STEPS = 100


def published_message(n: int) -> str:
    return ngettext("The results are published: %(num)d student has been offered a place.",
                    "The results are published: %(num)d students have been offered a place.", n)


def publish(job_id: str, run_id: int, deadline: str, by_id: int) -> dict:
    """`deadline`: ISO 8601, UTC. The job's steps: each student saved, then each e-mail sent."""
    run = db.session.get(MatchingRun, run_id)
    by = db.session.get(User, by_id)
    students = run.applications_count
    total = students * 2
    every = max(1, total // PROGRESS_STEPS)

    def progress(done: int) -> None:
        if done % every == 0 or done == total:
            report_progress(job_id, done, total)

    report_progress(job_id, 0, total)
    with force_locale(locale_of(by)):
        publication = offers.save_publication(run, datetime.fromisoformat(deadline), by, progress=progress)
        db.session.commit()  # the results hold before the first e-mail goes out
        with mail.connection():  # thousands of messages: one SMTP connection
            offers.notify_publication(run.call, publication, progress=lambda n: progress(students + n))
        report_progress(job_id, total, total, published_message(len(publication.offers)))
    return {"offers": len(publication.offers), "back_url": site_path("placements.call", call_id=run.call_id)}


def run(job_id: str, call_id: int, by_id: int) -> dict:
    """A matching run of the call's next round, saved as a draft; the job's page then opens it. A refusal
    (nobody to place, no seats) ends the job with its message (jobs.services.run_job)."""
    call = db.session.get(Call, call_id)
    by = db.session.get(User, by_id)
    steps = {1: _("Placing the students…"), 2: _("Saving the run…"), 3: ""}
    with force_locale(locale_of(by)):
        report_progress(job_id, 0, 3, _("Reading the applications…"))
        matching_run = runs.run_matching(call, by, progress=lambda step: report_progress(job_id, step, 3,
                                                                                         steps[step]))
        db.session.commit()
        report_progress(job_id, 3, 3, _("The run is ready. Review it, adjust it if needed, then publish it."))
    return {"run_id": matching_run.id, "redirect_url": site_path("placements.run", run_id=matching_run.id)}
