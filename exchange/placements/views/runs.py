"""Coordinators: calls and runs (the matching, its manual moves and comparison, publication, offers, the
waiting list)."""
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from ...core.i18n import gettext as _
from ...core.i18n import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...applications import pipeline
from ...applications.access import get_call_or_404
from ...applications.models import Call, CallPlace
from ...auth.permissions import scoped_first_or_404, staff_required
from ...core.actions import attempt
from ...core.errors import WorkflowError
from ...core.forms import EmptyForm, put_error
from ...core.numbers import whole_number
from ...core.types import to_local, to_utc, utcnow
from ...extensions import db
from ...jobs.models import JobStatus
from ...jobs.services import start_job, unfinished_job, uses_redis
from .. import adjustments, bp, jobs, queries
from .. import comparison as comparison_services
from .. import offers as offer_services
from .. import runs as run_services
from ..forms import MoveForm, PublishForm
from ..models import MatchingRun, OfferStatus, RunPlacement, RunStatus
from .common import PER_PAGE, check_action_form, expire_due_offers, get_run


@bp.get("/")
@staff_required
def index():
    drafts = db.session.scalars(select(MatchingRun).where(MatchingRun.status == RunStatus.draft)
                                .options(joinedload(MatchingRun.call), joinedload(MatchingRun.created_by))
                                .order_by(MatchingRun.created_at.desc()).limit(10)).all()
    return render_template("placements/index.html", calls=queries.calls_overview(), drafts=drafts, now=utcnow())


def render_call(call: Call, status: int = 200):
    runs = run_services.runs_of(call)
    counts = pipeline.status_counts(call)  # keyed by ApplicationStatus: the template's counts.get('eligible') finds them
    next_round = run_services.next_round(call)
    free = run_services.free_seats(call) if next_round > 1 else {}
    return render_template("placements/call.html", call=call, runs=runs, counts=counts, next_round=next_round,
                           free_seats=sum(free.values()), offers=queries.offer_counts(call),
                           nominations=queries.nomination_counts(call), to_nominate=queries.nominable_count(call),
                           action_form=EmptyForm(), now=utcnow()), status


@bp.get("/calls/<int:call_id>")
@staff_required
def call(call_id):
    call = get_call_or_404(call_id)
    expire_due_offers(call)
    return render_call(call)


@bp.post("/calls/<int:call_id>/runs")
@staff_required
def new_run(call_id):
    call = get_call_or_404(call_id)
    check_action_form()
    expire_due_offers(call)
    if uses_redis() and queries.placeable_count(call) > current_app.config["MATCHING_INLINE_LIMIT"]:
        # A large call takes seconds: a worker runs it, its page shows the steps and then opens the run.
        job = start_job("placements.run", f"{_('Matching')} · {call.title}"[:200], jobs.RUN_FUNC, call.id,
                        current_user.id, user=current_user, total=3)
        return redirect(url_for("jobs.detail", job_id=job.id), code=303)
    outcome = attempt(lambda: run_services.run_matching(call, by=current_user),
                      success=_("The run is ready. Review it, adjust it if needed, then publish it."))
    if not outcome:
        return render_call(call, outcome.status)
    return redirect(url_for("placements.run", run_id=outcome.value.id))


TABS = ("places", "placed", "unplaced", "adjustments")


def render_run(run: MatchingRun, publish_form=None, status: int = 200):
    tab = request.args.get("tab", "places")
    if tab not in TABS:
        tab = "places"
    context = {"run": run, "call": run.call, "tab": tab, "now": utcnow(),
               "publish_form": publish_form or default_publish_form(),
               "next_round": run_services.next_round(run.call) if run.can_publish() else None,
               "publishing": unfinished_job(PUBLISH_JOB, publish_subject(run)) if run.can_publish() else None}
    if tab == "places":
        context["page"] = run_services.run_places_page(run, per_page=PER_PAGE)
    elif tab in ("placed", "unplaced"):
        place_id = whole_number(request.args.get("place"))
        context["place_filter"] = run_services.run_place_of(run, place_id) if place_id else None
        context["page"] = run_services.run_placements_page(run, tab == "placed", per_page=PER_PAGE, place_id=place_id,
                                                           place=context["place_filter"])
    else:
        context["adjustments"] = run_services.adjustments_of(run)
    return render_template("placements/run.html", **context), status


def default_publish_form() -> PublishForm:
    """Two weeks to answer, at the end of the day in the coordinator's time zone."""
    form = PublishForm()
    form.deadline.data = to_local(utcnow() + timedelta(days=14)).replace(hour=23, minute=59, second=0,
                                                                           microsecond=0)
    return form


@bp.get("/runs/<int:run_id>")
@staff_required
def run(run_id):
    run = get_run(run_id)
    expire_due_offers(run.call)
    return render_run(run)


PUBLISH_JOB = "placements.publish"


def publish_subject(run: MatchingRun) -> str:
    return f"matching_run:{run.id}"


@bp.post("/runs/<int:run_id>/publish")
@staff_required
def publish(run_id):
    """The run's rules are checked here; the students' transitions and e-mails are a job (on a worker when there
    is Redis: the coordinator follows it on the job's page; otherwise at once, back to the call)."""
    run = get_run(run_id)
    running = unfinished_job(PUBLISH_JOB, publish_subject(run))
    if running is not None:  # e.g. a second click, or a colleague, while a worker publishes it
        flash(_("This run is being published already: follow it here."), "error")
        return redirect(url_for("jobs.detail", job_id=running.id), code=303)
    form = PublishForm()
    if not form.validate_on_submit():
        return render_run(run, form, 422)
    deadline = to_utc(form.deadline.data)
    try:
        offer_services.check_publishable(run, deadline)
    except WorkflowError as exc:
        db.session.rollback()
        put_error(form, exc)
        return render_run(run, form, exc.status)
    title = f"{_('Run %(id)s', id=run.id)} · {run.call.title}"[:200]
    job = start_job(PUBLISH_JOB, title, jobs.FUNC, run.id, deadline.isoformat(), current_user.id,
                    user=current_user, total=run.applications_count, subject=publish_subject(run))
    if job.status is JobStatus.finished:
        flash(jobs.published_message(job.result["offers"]), "success")
        return redirect(url_for("placements.call", call_id=run.call_id))
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


def place_option_label(place: CallPlace, run_place, choice) -> str:
    seats = ngettext("%(filled)s of %(num)s seat filled", "%(filled)s of %(num)s seats filled",
                     run_place.capacity, filled=run_place.filled) if run_place is not None else ""
    if choice is None:
        mark = _("not chosen")
    elif not choice["eligible"]:
        mark = _("choice %(rank)s, not eligible", rank=choice["rank"])
    else:
        mark = _("choice %(rank)s", rank=choice["rank"])
    return f"{place.short_label} · {seats} · {mark}"


@bp.route("/runs/<int:run_id>/placements/<int:placement_id>/move", methods=["GET", "POST"])
@staff_required
def move(run_id, placement_id):
    run = get_run(run_id)
    placement = scoped_first_or_404(select(RunPlacement).where(RunPlacement.id == placement_id,
                                                               RunPlacement.run_id == run.id)
                                    .options(joinedload(RunPlacement.application)))
    if not run.can_adjust():
        flash(_("A published run cannot be changed."), "error")
        return redirect(url_for("placements.run", run_id=run.id))
    places = run_services.run_places(run)
    options = [(str(rp.place_id), place_option_label(rp.place, rp, placement.choice(rp.place_id)))
               for rp in sorted(places, key=lambda rp: (placement.choice(rp.place_id) is None,
                                                        (placement.choice(rp.place_id) or {}).get("rank", 0)))]
    form = MoveForm(places=options)
    if request.method == "GET":
        form.place.data = str(placement.place_id) if placement.place_id else "none"
    warnings, status = None, 200
    if form.validate_on_submit():
        to_place = None if form.place.data == "none" else int(form.place.data)
        outcome = attempt(lambda: adjustments.move_placement(run, placement, to_place, form.reason.data,
                                                             by=current_user, confirm=form.confirm.data),
                          on_error="none",
                          success=lambda _result: _("%(name)s has been moved.", name=placement.application.full_name))
        if outcome:
            return redirect(url_for("placements.run", run_id=run.id, tab="placed" if to_place else "unplaced"))
        status = outcome.status
        if isinstance(outcome.error, adjustments.NeedsConfirmation):  # the page asks to confirm the warnings
            warnings = outcome.error.warnings
        else:
            put_error(form, outcome.error)
    elif form.is_submitted():
        status = 422
    return render_template("placements/move.html", run=run, call=run.call, placement=placement, form=form,
                           warnings=warnings, places={rp.place_id: rp for rp in places}), status


@bp.get("/calls/<int:call_id>/compare")
@staff_required
def compare(call_id):
    call = get_call_or_404(call_id)
    runs = run_services.runs_of(call)
    by_id = {r.id: r for r in runs}
    a, b = by_id.get(request.args.get("a", type=int)), by_id.get(request.args.get("b", type=int))
    comparison, status = None, 200
    if a is not None and b is not None and a.id != b.id:
        comparison = comparison_services.compare_runs(a, b)
    elif request.args.get("a") or request.args.get("b"):
        flash(_("Choose two different runs of this call."), "error")
        status = 422
    return render_template("placements/compare.html", call=call, runs=runs, a=a, b=b, comparison=comparison), status


@bp.get("/calls/<int:call_id>/offers")
@staff_required
def offers(call_id):
    call = get_call_or_404(call_id)
    expire_due_offers(call)
    counts = queries.offer_counts(call)
    status = request.args.get("status")
    status = OfferStatus(status) if status in {s.value for s in OfferStatus} else None
    page = queries.offers_page(call, status, per_page=PER_PAGE,
                               total=counts.get(status, 0) if status else sum(counts.values()))
    return render_template("placements/offers.html", call=call, page=page, status=status.value if status else None,
                           counts=counts)


@bp.post("/calls/<int:call_id>/close-waitlist")
@staff_required
def close_waitlist(call_id):
    call = get_call_or_404(call_id)
    check_action_form()
    outcome = attempt(lambda: offer_services.close_waitlist(call, by=current_user),
                      success=lambda n: ngettext("The waiting list is closed: %(num)s student was told they have no "
                                                 "place.", "The waiting list is closed: %(num)s students were told "
                                                 "they have no place.", n))
    if not outcome:
        return render_call(call, outcome.status)
    return redirect(url_for("placements.call", call_id=call.id))
