from flask import abort, flash, jsonify, redirect, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.permissions import deny, scoped_first_or_404
from ..core.uploads import send_upload
from . import bp
from .models import Job, JobStatus
from .services import may_open


def job_for(user, job_id: str) -> Job:
    """The job if the user may open it now (services.may_open: their role may start its kind, and it is theirs
    or they are staff), else 404: a coordinator who lost the role loses their exports with it."""
    query = select(Job).where(Job.id == job_id)
    if not user.is_staff:
        query = query.where(Job.created_by_id == user.id)
    job = scoped_first_or_404(query)
    if not may_open(user, job):
        deny(404)
    return job


@bp.get("/<job_id>")
@login_required
def detail(job_id):
    job = job_for(current_user, job_id)
    redirect_url = job.result.get("redirect_url") if job.status is JobStatus.finished else None
    if redirect_url:  # a job that made something to open (a matching run): go there
        if job.message:
            flash(job.message, "success")
        return redirect(redirect_url)
    return render_template("jobs/detail.html", job=job)


@bp.get("/<job_id>/status.json")
@login_required
def status(job_id):
    job = job_for(current_user, job_id)
    return jsonify(status=job.status.value, done=job.done, total=job.total, percent=job.percent,
                   message=job.message, over=job.is_over)


@bp.get("/<job_id>/files/<key>")
@login_required
def download(job_id, key):
    job = job_for(current_user, job_id)
    file = job.result.get("files", {}).get(key)
    if not file:
        abort(404)
    return send_upload(file["stored_name"], file["mimetype"], file["filename"], as_attachment=True)
