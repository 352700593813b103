"""Matching runs and nominations (coordinators), the student's offer, the partners' incoming students and
factsheets, the home page panels and `flask placements expire-offers`."""
import csv
import io
from datetime import timedelta

import click
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from ..core.i18n import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..applications import services as app_services
from ..applications.access import get_own_application
from ..applications.labels import PERIOD_LABELS
from ..applications.models import Application, ApplicationDocument, Call, CallPlace
from ..auth.models import STAFF, Role
from ..auth.permissions import role_required, scoped_first_or_404, staff_required
from ..core import uploads
from ..core.csvsafe import safe_row
from ..core.dashboard import Panel, panel
from ..core.errors import WorkflowError
from ..core.forms import EmptyForm, put_error
from ..core.i18n import country_name, language_name
from ..core.navigation import nav_item
from ..core.numbers import whole_number
from ..core.reference import academic_year_label, isced_label
from ..core.types import to_local, to_utc, utcnow
from ..extensions import db
from ..jobs.models import JobStatus
from ..jobs.services import start_job, unfinished_job, uses_redis
from ..partners.models import Agreement, CooperationCondition, PartnerInstitution
from ..partners import factsheets
from . import adjustments, bp, jobs, panels, queries, student
from . import comparison as comparison_services
from . import incoming as incoming_services
from . import nominations as nomination_services
from . import offers as offer_services
from . import runs as run_services
from .forms import (CancelNominationForm, FactsheetForm, IncomingFilterForm, MoveForm, NominateForm, PublishForm,
                    RejectForm, RespondForm, SharingForm)
from .labels import PARTNER_STATUS, TemplateLabels
from .models import (MatchingRun, Nomination, NominationStatus, Offer, OfferStatus,
                     PartnerFactsheet, RunPlacement, RunStatus)

bp.add_app_template_global(TemplateLabels, "placement_labels")

PER_PAGE = 50
def check_action_form() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


# --- Look-ups, narrowed to what the user may see ------------------------------------------------------

def get_call(call_id: int) -> Call:
    return scoped_first_or_404(select(Call).where(Call.id == call_id))


def get_run(run_id: int) -> MatchingRun:
    return scoped_first_or_404(select(MatchingRun).where(MatchingRun.id == run_id)
                               .options(joinedload(MatchingRun.call), joinedload(MatchingRun.created_by),
                                        joinedload(MatchingRun.published_by)))


def get_incoming(nomination_id: int) -> Nomination:
    """A live nomination to the partner user's institution (404 for anyone else's, and for rejected or cancelled
    ones: incoming_services.partner_clause)."""
    return scoped_first_or_404(
        select(Nomination).where(Nomination.id == nomination_id, incoming_services.partner_clause(current_user))
        .options(joinedload(Nomination.application).joinedload(Application.student),
                 joinedload(Nomination.application).joinedload(Application.call),
                 joinedload(Nomination.application).selectinload(Application.languages),
                 joinedload(Nomination.application).selectinload(Application.documents),
                 joinedload(Nomination.nominated_by), joinedload(Nomination.decided_by),
                 joinedload(Nomination.place).options(*app_services.place_loader())))


# --- Coordinators: calls and runs ------------------------------------------------------------------

@bp.get("/")
@staff_required
def index():
    drafts = db.session.scalars(select(MatchingRun).where(MatchingRun.status == RunStatus.draft)
                                .options(joinedload(MatchingRun.call), joinedload(MatchingRun.created_by))
                                .order_by(MatchingRun.created_at.desc()).limit(10)).all()
    return render_template("placements/index.html", calls=queries.calls_overview(), drafts=drafts, now=utcnow())


def render_call(call: Call, status: int = 200):
    runs = run_services.runs_of(call)
    counts = queries.status_counts(call)
    next_round = run_services.next_round(call)
    free = run_services.free_seats(call) if next_round > 1 else {}
    return render_template("placements/call.html", call=call, runs=runs, counts=counts, next_round=next_round,
                           free_seats=sum(free.values()), offers=queries.offer_counts(call),
                           nominations=queries.nomination_counts(call), to_nominate=queries.nominable_count(call),
                           action_form=EmptyForm(), now=utcnow()), status


def expire_due_offers(call) -> None:
    """Offers past their deadline expire when anyone looks (besides `flask placements expire-offers`)."""
    if offer_services.expire_due_offers_of(call):
        db.session.commit()


@bp.get("/calls/<int:call_id>")
@staff_required
def call(call_id):
    call = get_call(call_id)
    expire_due_offers(call)
    return render_call(call)


@bp.post("/calls/<int:call_id>/runs")
@staff_required
def new_run(call_id):
    call = get_call(call_id)
    check_action_form()
    expire_due_offers(call)
    if uses_redis() and queries.placeable_count(call) > current_app.config["MATCHING_INLINE_LIMIT"]:
        # A large call takes seconds: a worker runs it, its page shows the steps and then opens the run.
        job = start_job("placements.run", f"{_('Matching')} · {call.title}"[:200], jobs.RUN_FUNC, call.id,
                        current_user.id, user=current_user, total=3)
        return redirect(url_for("jobs.detail", job_id=job.id), code=303)
    try:
        run = run_services.run_matching(call, by=current_user)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_call(call, exc.status)
    db.session.commit()
    flash(_("The run is ready. Review it, adjust it if needed, then publish it."), "success")
    return redirect(url_for("placements.run", run_id=run.id))


TABS = ("places", "placed", "unplaced", "adjustments")


def render_run(run: MatchingRun, publish_form=None, status: int = 200):
    tab = request.args.get("tab", "places")
    if tab not in TABS:
        tab = "places"
    context = {"run": run, "call": run.call, "tab": tab, "now": utcnow(),
               "publish_form": publish_form or default_publish_form(),
               "next_round": run_services.next_round(run.call) if run.is_draft else None,
               "publishing": unfinished_job(PUBLISH_JOB, publish_subject(run)) if run.is_draft else None}
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
    return f"{run_services.place_name(place)} · {seats} · {mark}"


@bp.route("/runs/<int:run_id>/placements/<int:placement_id>/move", methods=["GET", "POST"])
@staff_required
def move(run_id, placement_id):
    run = get_run(run_id)
    placement = scoped_first_or_404(select(RunPlacement).where(RunPlacement.id == placement_id,
                                                               RunPlacement.run_id == run.id)
                                    .options(joinedload(RunPlacement.application)))
    if not run.is_draft:
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
        try:
            adjustments.move_placement(run, placement, to_place, form.reason.data, by=current_user,
                                    confirm=form.confirm.data)
        except adjustments.NeedsConfirmation as exc:
            db.session.rollback()
            warnings, status = exc.warnings, exc.status
        except WorkflowError as exc:
            db.session.rollback()
            put_error(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash(_("%(name)s has been moved.", name=placement.application.full_name), "success")
            return redirect(url_for("placements.run", run_id=run.id, tab="placed" if to_place else "unplaced"))
    elif form.is_submitted():
        status = 422
    return render_template("placements/move.html", run=run, call=run.call, placement=placement, form=form,
                           warnings=warnings, places={rp.place_id: rp for rp in places}), status


@bp.get("/calls/<int:call_id>/compare")
@staff_required
def compare(call_id):
    call = get_call(call_id)
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
    call = get_call(call_id)
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
    call = get_call(call_id)
    check_action_form()
    try:
        n = offer_services.close_waitlist(call, by=current_user)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_call(call, exc.status)
    db.session.commit()
    flash(ngettext("The waiting list is closed: %(num)s student was told they have no place.",
                   "The waiting list is closed: %(num)s students were told they have no place.", n), "success")
    return redirect(url_for("placements.call", call_id=call.id))


# --- Coordinators: nominations ---------------------------------------------------------------------

def render_nominations(call: Call, status: int = 200):
    page = queries.placed_page(call, per_page=PER_PAGE)
    nominations = nomination_services.nominations_by_application(a.id for a in page.items)
    return render_template("placements/nominations.html", call=call, page=page, nominations=nominations,
                           counts=queries.nomination_counts(call), action_form=EmptyForm(),
                           to_nominate=queries.nominable_count(call)), status


@bp.get("/calls/<int:call_id>/nominations")
@staff_required
def nominations(call_id):
    return render_nominations(get_call(call_id))


@bp.post("/calls/<int:call_id>/nominations")
@staff_required
def nominate_many(call_id):
    call = get_call(call_id)
    check_action_form()
    everyone = request.form.get("all") == "1"
    try:
        ids = [int(v) for v in request.form.getlist("ids")]
    except ValueError:
        abort(400)
    if not everyone and not ids:
        flash(_("Tick the students to nominate first."), "error")
        return render_nominations(call, 422)
    try:
        result = nomination_services.nominate_many(call, by=current_user, application_ids=None if everyone else ids)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_nominations(call, exc.status)
    db.session.commit()
    if result.done:
        flash(ngettext("%(num)s student nominated to their partner university.",
                       "%(num)s students nominated to their partner universities.", len(result.done)), "success")
    for application, message in result.refused:
        flash(_("%(name)s: %(message)s", name=application.full_name, message=message), "error")
    return redirect(url_for("placements.nominations", call_id=call.id))


@bp.route("/applications/<int:application_id>/nominate", methods=["GET", "POST"])
@staff_required
def nominate(application_id):
    application = scoped_first_or_404(select(Application).where(Application.id == application_id)
                                      .options(joinedload(Application.call), joinedload(Application.student),
                                               selectinload(Application.languages),
                                               joinedload(Application.placed_place)
                                               .options(*app_services.place_loader())))
    form = NominateForm()
    if request.method == "GET":
        form.planned_arrival.data, form.planned_departure.data = nomination_services.default_period(application.call)
    status = 200
    if form.validate_on_submit():
        try:
            nomination_services.nominate(application, by=current_user, arrival=form.planned_arrival.data,
                              departure=form.planned_departure.data, notify=True)
        except WorkflowError as exc:
            db.session.rollback()
            put_error(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash(_("%(name)s has been nominated to %(partner)s.", name=application.full_name,
                    partner=application.placed_place.partner.name), "success")
            return redirect(url_for("placements.nominations", call_id=application.call_id))
    elif form.is_submitted():
        status = 422
    return render_template("placements/nominate.html", application=application, call=application.call, form=form,
                           offer=offer_services.latest_offer(application),
                           nomination=nomination_services.latest_nomination(application)), status


@bp.route("/nominations/<int:nomination_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel_nomination(nomination_id):
    nomination = scoped_first_or_404(select(Nomination).where(Nomination.id == nomination_id)
                                     .options(joinedload(Nomination.application).joinedload(Application.call),
                                              joinedload(Nomination.institution)))
    form = CancelNominationForm()
    status = 200
    if form.validate_on_submit():
        try:
            nomination_services.cancel_nomination(nomination, by=current_user, reason=form.reason.data)
        except WorkflowError as exc:
            db.session.rollback()
            put_error(form, exc, "reason")
            status = exc.status
        else:
            db.session.commit()
            flash(_("The nomination has been cancelled."), "success")
            return redirect(url_for("placements.nominations", call_id=nomination.application.call_id))
    elif form.is_submitted():
        status = 422
    return render_template("placements/cancel_nomination.html", nomination=nomination, form=form), status


# --- The student ------------------------------------------------------------------------------------

def render_offer(application, respond_form=None, sharing_form=None, status: int = 200):
    outcome = student.student_outcome(application)
    return render_template("placements/offer.html", application=application, call=application.call,
                           outcome=outcome, now=utcnow(),
                           respond_form=respond_form or RespondForm(application=application),
                           sharing_form=sharing_form or _sharing_form(application, outcome)), status


def _sharing_form(application, outcome):
    form = SharingForm(application=application)
    if outcome is not None and outcome.offer is not None and not form.is_submitted():
        form.documents.data = [k.value for k in outcome.offer.shared_kinds]
    return form


def _student_application(application_id: int) -> Application:
    return get_own_application(current_user, application_id)


@bp.get("/my/<int:application_id>")
@role_required(Role.student)
def offer(application_id):
    application = _student_application(application_id)
    expire_due_offers(application.call)
    return render_offer(application)


@bp.post("/my/<int:application_id>/respond")
@role_required(Role.student)
def respond(application_id):
    application = _student_application(application_id)
    offer = scoped_first_or_404(select(Offer).where(Offer.application_id == application.id)
                                .order_by(Offer.created_at.desc(), Offer.id.desc()))
    form = RespondForm(application=application)
    answer = request.form.get("answer")
    if not form.validate_on_submit() or answer not in ("accept", "decline"):
        if answer not in ("accept", "decline"):
            flash(_("Choose whether you accept or decline the place."), "error")
        return render_offer(application, respond_form=form, status=422)
    try:
        offer_services.respond_to_offer(offer, accept=answer == "accept", by=current_user, shared=form.documents.data)
    except WorkflowError as exc:
        db.session.rollback()
        put_error(form, exc)
        return render_offer(application, respond_form=form, status=exc.status)
    db.session.commit()
    if answer == "accept" and not form.documents.data:
        flash(_("You have accepted the place. Choose below which documents the partner university may see; "
                "the office will then nominate you."), "success")
    elif answer == "accept":
        flash(_("You have accepted the place. The office will nominate you to the partner university."), "success")
    else:
        flash(_("You have declined the place."), "success")
    return redirect(url_for("placements.offer", application_id=application.id))


@bp.post("/my/<int:application_id>/documents")
@role_required(Role.student)
def sharing(application_id):
    application = _student_application(application_id)
    form = SharingForm(application=application)
    if not form.validate_on_submit():
        return render_offer(application, sharing_form=form, status=422)
    try:
        offer_services.set_shared_documents(application, form.documents.data, by=current_user)
    except WorkflowError as exc:
        db.session.rollback()
        put_error(form, exc)
        return render_offer(application, sharing_form=form, status=exc.status)
    db.session.commit()
    flash(_("Your choice of documents to share has been saved."), "success")
    return redirect(url_for("placements.offer", application_id=application.id))


# --- Partner universities: incoming students ----------------------------------------------------------

def incoming_filters(years: list[int]):
    form = IncomingFilterForm(request.args, years=years)
    year = status = None
    valid = form.validate()
    if valid:
        year = int(form.year.data) if form.year.data else None
        status = NominationStatus(form.status.data) if form.status.data else None
    return form, valid, year, status


@bp.get("/incoming")
@role_required(Role.partner)
def incoming():
    summary = incoming_services.incoming_summary(current_user)
    form, valid, year, status = incoming_filters(summary.years)
    counts = summary.by_status(year)
    page = incoming_services.incoming_page(current_user, year, status, per_page=PER_PAGE,
                                  total=counts.get(status, 0) if status else sum(counts.values()))
    return render_template("placements/incoming.html", filters=form, page=page, year=year, status=status,
                           counts=counts, institution=current_user.institution), (200 if valid else 422)


def csv_header() -> list[str]:
    return [_("Name"), _("Email address"), _("Citizenship"), _("Study field (ISCED-F)"), _("EQF level"),
            _("Languages"), _("Academic year"), _("Period"), _("Planned arrival"), _("Planned departure"),
            _("Status"), _("Nominated on"), _("Reason")]


def csv_row(nomination: Nomination) -> list:
    a = nomination.application
    return [a.full_name or a.student.name, a.student.email, country_name(a.nationality) if a.nationality else "",
            isced_label(a.isced_code), a.eqf_level or "",
            "; ".join(f"{language_name(s.language)} {s.cefr_level}" for s in a.languages),
            academic_year_label(nomination.academic_year), str(PERIOD_LABELS[a.call.period]),
            nomination.planned_arrival.isoformat() if nomination.planned_arrival else "",
            nomination.planned_departure.isoformat() if nomination.planned_departure else "",
            str(PARTNER_STATUS[nomination.status]), nomination.nominated_at.strftime("%Y-%m-%d"),
            nomination.reason or ""]


@bp.get("/incoming.csv")
@role_required(Role.partner)
def incoming_csv():
    _form, valid, year, status = incoming_filters(incoming_services.incoming_summary(current_user).years)
    if not valid:
        abort(422)
    nominations = db.session.scalars(incoming_services.incoming_loaded(incoming_services.incoming_query(current_user, year, status))
                                     ).unique().all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header())
    writer.writerows([safe_row(csv_row(n)) for n in nominations])
    name = f"incoming-students{'-' + str(year) if year else ''}.csv"
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


def render_incoming_detail(nomination: Nomination, reject_form=None, status: int = 200):
    return render_template("placements/incoming_detail.html", nomination=nomination,
                           application=nomination.application, documents=incoming_services.shared_documents_of(nomination),
                           reject_form=reject_form or RejectForm(), action_form=EmptyForm()), status


@bp.get("/incoming/<int:nomination_id>")
@role_required(Role.partner)
def incoming_detail(nomination_id):
    return render_incoming_detail(get_incoming(nomination_id))


@bp.post("/incoming/<int:nomination_id>/accept")
@role_required(Role.partner)
def accept_nomination(nomination_id):
    nomination = get_incoming(nomination_id)
    check_action_form()
    try:
        nomination_services.decide_nomination(nomination, accept=True, by=current_user)
    except WorkflowError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_incoming_detail(nomination, status=exc.status)
    db.session.commit()
    flash(_("You have accepted %(name)s. The student and the sending coordinator have been told.",
            name=nomination.application.full_name), "success")
    return redirect(url_for("placements.incoming_detail", nomination_id=nomination.id))


@bp.post("/incoming/<int:nomination_id>/reject")
@role_required(Role.partner)
def reject_nomination(nomination_id):
    nomination = get_incoming(nomination_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return render_incoming_detail(nomination, form, 422)
    try:
        nomination_services.decide_nomination(nomination, accept=False, by=current_user, reason=form.reason.data)
    except WorkflowError as exc:
        db.session.rollback()
        put_error(form, exc, "reason")
        return render_incoming_detail(nomination, form, exc.status)
    db.session.commit()
    flash(_("You have rejected %(name)s. The student and the sending coordinator have been told.",
            name=nomination.application.full_name), "success")
    return redirect(url_for("placements.incoming"))  # a rejected nomination is no longer shown to the partner


@bp.get("/incoming/<int:nomination_id>/documents/<int:document_id>")
@role_required(Role.partner)
def incoming_document(nomination_id, document_id):
    nomination = get_incoming(nomination_id)
    kinds = nomination.shared_kinds
    document = scoped_first_or_404(select(ApplicationDocument).where(
        ApplicationDocument.id == document_id, ApplicationDocument.application_id == nomination.application_id,
        ApplicationDocument.kind.in_(kinds)))
    return uploads.send_upload(document.stored_name, document.mimetype, document.original_name,
                               as_attachment=request.args.get("download") == "1")


# --- Factsheets -----------------------------------------------------------------------------------------

def factsheet_page(institution: PartnerInstitution):
    sheet = factsheets.factsheet_of(institution.id)
    form = FactsheetForm(obj=sheet) if request.method == "GET" else FactsheetForm()
    status = 200
    if form.validate_on_submit():
        try:
            factsheets.save_factsheet(institution, form.values(), by=current_user)
        except WorkflowError as exc:
            db.session.rollback()
            put_error(form, exc)
            status = exc.status
        else:
            db.session.commit()
            flash(_("The factsheet has been saved. Students see it when they choose destinations."), "success")
            return redirect(url_for("placements.partner", institution_id=institution.id))
    elif form.is_submitted():
        status = 422
    return render_template("placements/factsheet_form.html", institution=institution, form=form,
                           sheet=sheet), status


@bp.route("/factsheet", methods=["GET", "POST"])
@role_required(Role.partner)
def factsheet():
    institution = scoped_first_or_404(select(PartnerInstitution).where(
        PartnerInstitution.id == (current_user.institution_id or -1)))
    return factsheet_page(institution)


@bp.route("/partners/<int:institution_id>/factsheet", methods=["GET", "POST"])
@staff_required
def edit_factsheet(institution_id):
    return factsheet_page(scoped_first_or_404(select(PartnerInstitution).where(
        PartnerInstitution.id == institution_id)))


@bp.get("/partners/<int:institution_id>")
@login_required
def partner(institution_id):
    """A partner's page for students choosing destinations: the factsheet and the places offered now."""
    query = select(PartnerInstitution).where(PartnerInstitution.id == institution_id)
    if current_user.role is Role.partner:
        query = query.where(PartnerInstitution.id == (current_user.institution_id or -1))
    institution = scoped_first_or_404(query)
    places = db.session.scalars(
        select(CallPlace).join(CallPlace.call).join(CallPlace.condition).join(CooperationCondition.agreement)
        .where(Agreement.partner_id == institution.id, Call.closes_at >= utcnow())
        .options(joinedload(CallPlace.call), *app_services.place_loader())
        .order_by(Call.closes_at, CallPlace.id)).unique().all()
    can_edit = current_user.role in STAFF or (current_user.role is Role.partner
                                              and current_user.institution_id == institution.id)
    return render_template("placements/partner.html", institution=institution,
                           sheet=factsheets.factsheet_of(institution.id), places=places, can_edit=can_edit)


@bp.get("/calls/<int:call_id>/destinations")
@role_required(Role.student, *STAFF)
def destinations(call_id):
    call = get_call(call_id)
    places = app_services.load_places(call)
    with_sheet = set(db.session.scalars(select(PartnerFactsheet.institution_id).where(
        PartnerFactsheet.institution_id.in_([p.partner.id for p in places]))))
    return render_template("placements/destinations.html", call=call, places=places, with_sheet=with_sheet)


# --- Home page panels, navigation, command line ---------------------------------------------------------

@panel(order=15)
def placements_panel(user):
    if user.role is Role.student:
        offers = panels.open_offers_of(user)
        return Panel("placements/_panel_student.html", {"offers": offers}) if offers else None
    if user.role is Role.partner:
        if not user.institution_id:
            return None
        pending, total = panels.partner_panel_counts(user)
        return Panel("placements/_panel_partner.html", {"pending": pending, "total": total})
    if user.role in STAFF:
        drafts, to_nominate = panels.staff_panel_data()
        if not drafts and not to_nominate:
            return None
        return Panel("placements/_panel_staff.html", {"drafts": drafts, "to_nominate": to_nominate})
    return None


nav_item("placements.index", _l("Matching"), roles=STAFF, order=35, match_prefix="/placements")
nav_item("placements.incoming", _l("Incoming students"), roles=[Role.partner], order=20,
         match_prefix="/placements/incoming")
nav_item("placements.factsheet", _l("Factsheet"), roles=[Role.partner], order=30,
         match_prefix="/placements/factsheet")


@bp.cli.command("expire-offers")
def expire_offers_command():
    """Expire the offers whose deadline has passed (their seats go to the next round)."""
    n = offer_services.expire_offers()
    db.session.commit()
    click.echo(f"{n} offers expired.")
