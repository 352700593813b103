"""Publishing a matching run as a background job (see exchange/jobs): every student's transition and offer in one
transaction, then one e-mail per student, with the progress on the job's page. Without Redis it runs at once."""
from datetime import datetime

from flask_babel import force_locale

from ..auth.models import User
from ..core import mail
from ..core.i18n import ngettext
from ..extensions import db
from ..jobs.services import report_progress, site_path
from . import services
from .models import MatchingRun

FUNC = "exchange.placements.jobs:publish"
#: The job's page is updated about this many times.
PROGRESS_STEPS = 100


def published_message(n: int) -> str:
    return ngettext("The results are published: %(num)d student has been offered a place.",
                    "The results are published: %(num)d students have been offered a place.", n)


def publish(job_id: str, run_id: int, deadline: str, by_id: int, notify: bool = True) -> dict:
    """`deadline`: ISO 8601, UTC. The job's steps: each student saved, then (with `notify`) each e-mail sent."""
    run = db.session.get(MatchingRun, run_id)
    by = db.session.get(User, by_id)
    students = run.applications_count
    total = students * 2 if notify else students
    every = max(1, total // PROGRESS_STEPS)

    def progress(done: int) -> None:
        if done % every == 0 or done == total:
            report_progress(job_id, done, total)

    report_progress(job_id, 0, total)
    with force_locale(by.locale if by is not None and by.locale else "en"):
        publication = services.save_publication(run, datetime.fromisoformat(deadline), by, progress=progress)
        db.session.commit()  # the results hold before the first e-mail goes out
        if notify:
            with mail.connection():  # thousands of messages: one SMTP connection
                services.notify_publication(run.call, publication, progress=lambda n: progress(students + n))
        report_progress(job_id, total, total, published_message(len(publication.offers)))
    return {"offers": len(publication.offers), "back_url": site_path("placements.call", call_id=run.call_id)}
