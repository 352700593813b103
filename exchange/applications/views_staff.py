"""Coordinators: calls and their places, the review pipeline, the application review page, exports."""
from datetime import timedelta

from flask import abort, flash, get_template_attribute, redirect, render_template, request, url_for
from ..core.i18n import current_locale
from ..core.i18n import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..auth.models import User
from ..auth.permissions import scoped_first_or_404, staff_required
from ..core.actions import attempt
from ..core.forms import EmptyForm, form_status, put_error
from ..core.fragments import FragmentCache
from ..core.numbers import whole_number
from ..core.types import to_local, to_utc, utcnow
from ..core.urls import known_args
from ..extensions import db
from ..jobs.services import start_job
from ..partners.models import MobilityType
from . import bp, exports, loading, pipeline, services
from .access import can_see_support_needs, get_call_or_404
from .forms import (AssignReviewerForm, BulkForm, CallForm, CommentForm, DecisionForm, PipelineFilterForm,
                    score_form)
from .labels import DOCUMENT_LABELS, STATUS_LABELS
from .models import Application, ApplicationStatusCount, Call, CallPeriod
from .scoring import GpaScale
from .workflow import Actor
from .workflow import ApplicationStatus as S
from .workflow import allowed_targets


def staff_panel_context() -> dict:
    """Open and recent calls with what needs action (counts in SQL)."""
    now = utcnow()
    calls = db.session.scalars(select(Call).where(Call.closes_at >= now - timedelta(days=120))
                               .order_by(Call.closes_at).limit(5)).all()
    counts = {}
    if calls:
        counts = dict(db.session.execute(  # from the counters the database keeps (ApplicationStatusCount)
            select(ApplicationStatusCount.call_id, func.sum(ApplicationStatusCount.n))
            .where(ApplicationStatusCount.call_id.in_([c.id for c in calls]),
                   ApplicationStatusCount.status.in_([S.submitted, S.under_review]))
            .group_by(ApplicationStatusCount.call_id)).all())
    return {"calls": calls, "needs_action": counts}


# --- Calls ------------------------------------------------------------------------------------

@bp.get("/manage")
@staff_required
def manage():
    calls = services.calls_with_counts()
    return render_template("applications/manage_calls.html", calls=calls, now=utcnow(),
                           totals=services.place_totals(call.id for call, _counts in calls))


def fill_call_form(form: CallForm, call: Call) -> None:
    form.title.data = call.title
    form.academic_year.data = call.academic_year
    form.period.data = call.period.value
    form.mobility_type.data = call.mobility_type.value
    form.description.data = call.description
    form.opens_at.data = to_local(call.opens_at)
    form.closes_at.data = to_local(call.closes_at)
    form.max_choices.data = call.max_choices
    form.min_gpa.data = call.min_gpa
    form.eqf_levels.data = call.eqf_level_list
    form.required_documents.data = [k.value for k in call.required_document_list]
    for row, criterion in zip(form.criteria.entries, call.criteria):
        row.form.name.data = criterion.name
        row.form.weight.data = criterion.weight
        row.form.uses_gpa.data = criterion.uses_gpa


DEFAULT_CRITERIA = [("GPA", 50, True), ("Language", 20, False), ("Motivation", 30, False)]


def call_form_page(call: Call | None):
    form = CallForm()
    if request.method == "GET":
        if call is not None:
            fill_call_form(form, call)
        else:
            form.required_documents.data = ["transcript", "language_certificate", "cv", "motivation_letter"]
            form.eqf_levels.data = [6, 7]
            for row, (name, weight, uses_gpa) in zip(form.criteria.entries, DEFAULT_CRITERIA):
                row.form.name.data, row.form.weight.data, row.form.uses_gpa.data = name, weight, uses_gpa
    if form.validate_on_submit():
        outcome = attempt(lambda: services.save_call(
            call, title=form.title.data, academic_year=form.academic_year.data,
            period=CallPeriod(form.period.data), mobility_type=MobilityType(form.mobility_type.data),
            description=form.description.data, opens_at=to_utc(form.opens_at.data),
            closes_at=to_utc(form.closes_at.data), max_choices=form.max_choices.data, min_gpa=form.min_gpa.data,
            eqf_levels=form.eqf_levels.data or [], required_documents=form.required_documents.data or [],
            criteria=form.criteria_data(), by=current_user), form=form, success=_("The call has been saved."))
        if not outcome:
            return render_template("applications/call_form.html", form=form, call=call), outcome.status
        call = outcome.value
        return redirect(url_for("applications.call_places", call_id=call.id) if not call.places
                        else url_for("applications.pipeline", call_id=call.id))
    return render_template("applications/call_form.html", form=form, call=call), form_status(form)


@bp.route("/manage/calls/new", methods=["GET", "POST"])
@staff_required
def new_call():
    return call_form_page(None)


@bp.route("/manage/calls/<int:call_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_call(call_id):
    return call_form_page(get_call_or_404(call_id, selectinload(Call.criteria)))


@bp.route("/manage/calls/<int:call_id>/places", methods=["GET", "POST"])
@staff_required
def call_places(call_id):
    call = get_call_or_404(call_id, selectinload(Call.criteria))
    conditions = services.available_conditions(call)
    current = {p.condition_id: p for p in services.load_places(call)}
    # Conditions that left the agreement list but are still in the call stay visible.
    listed = {c.id for c in conditions}
    extra = [p.condition for cid, p in current.items() if cid not in listed]
    rows = conditions + extra
    errors: dict[int, str] = {}
    values: dict[int, str] = {}
    included: set[int] = set(current)
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        included = set()
        wanted: dict[int, int] = {}
        for condition in rows:
            raw = (request.form.get(f"seats-{condition.id}") or "").strip()
            values[condition.id] = raw
            if request.form.get(f"include-{condition.id}") != "1":
                continue
            included.add(condition.id)
            seats = whole_number(raw, maximum=999)
            if seats is None:
                errors[condition.id] = _("Seats must be a whole number from 0 to 999.")
                continue
            wanted[condition.id] = seats
        if not errors:
            outcome = attempt(lambda: services.set_call_places(call, wanted, by=current_user),
                              success=_("The destinations of the call have been saved."))
            if not outcome:
                return render_places(call, rows, current, included, values, errors, outcome.status)
            return redirect(url_for("applications.pipeline", call_id=call.id))
        return render_places(call, rows, current, included, values, errors, 422)
    return render_places(call, rows, current, included, values, errors, 200)


def render_places(call, rows, current, included, values, errors, status):
    return render_template("applications/call_places.html", call=call, rows=rows, current=current,
                           included=included, values=values, errors=errors, form=EmptyForm()), status


# --- The pipeline ------------------------------------------------------------------------------

def pipeline_filters(call):
    """The filter form, the filters and the call's destinations (pipeline.Destinations, cached per process)."""
    places = pipeline.destinations(call)
    form = PipelineFilterForm(request.args, places=places.choices, places_html=places.options)
    valid = form.validate()
    return form, (pipeline.Filters.from_form(form) if valid else pipeline.Filters()), places


def pipeline_args(filters_form=None) -> dict[str, str]:
    """The filters and page of this request's query, for the pipeline's links and redirects back to it."""
    return known_args(PipelineFilterForm(formdata=None) if filters_form is None else filters_form, "page")


@bp.get("/manage/calls/<int:call_id>", endpoint="pipeline")
@staff_required
def pipeline_page(call_id):
    call = get_call_or_404(call_id)  # the pipeline shows no criteria
    filters_form, filters, places = pipeline_filters(call)
    return render_pipeline(call, filters_form, filters, places, BulkForm()), 200 if not filters_form.errors else 422


#: The filter forms' HTML (see filters_html): a few dozen, each mostly its call's destination list (~60 kB); and
#: the bulk-action bar's, per language.
_FILTERS_HTML = FragmentCache(48)
_BULK_HTML = FragmentCache(8)


def _pipeline_macro(name: str):
    return get_template_attribute("applications/_pipeline_forms.html", name)


def filters_html(call, form, places, sort: str):
    """The pipeline's filter form as HTML, rendered once per language, call destinations (their version), query
    values and sort, then reused: seven fields, one a select of hundreds of destinations, were a tenth of the page's
    cost. A form with errors (rare, a hand-made URL) is rendered each time."""
    render = lambda: _pipeline_macro("filters_form")(form, sort, call)  # noqa: E731
    if form.errors:
        return Markup(render())
    key = (str(current_locale()), places.version, request.script_root, sort,
           tuple((field.name, tuple(request.args.getlist(field.name))) for field in form))
    return _FILTERS_HTML.get_or_render(key, render)


def bulk_html(form):
    """The bulk-action bar as HTML: kept per language while it is blank (a failed submission shows its values and
    errors, rendered each time)."""
    render = lambda: _pipeline_macro("bulk_bar")(form)  # noqa: E731
    if form.is_submitted() or form.errors:
        return Markup(render())
    return _BULK_HTML.get_or_render(str(current_locale()), render)


def render_pipeline(call, filters_form, filters, places, bulk_form, selected=None):
    counts = pipeline.status_counts(call)
    page = pipeline.paginate(call, filters, counts, per_page=25)
    return render_template("applications/pipeline.html", call=call, page=page, filters=filters_form,
                           filters_html=filters_html(call, filters_form, places, filters.sort),
                           bulk_html=bulk_html(bulk_form),
                           sort=filters.sort, counts=counts, places=places.choices,
                           choice_partners=pipeline.choice_partners(page.items, places.partners),
                           seats=places.seats, bulk_form=bulk_form,
                           selected=selected, score_range=(filters.score_min, filters.score_max),
                           pipeline_args=pipeline_args(filters_form))


@bp.post("/manage/calls/<int:call_id>/bulk")
@staff_required
def bulk(call_id):
    call = get_call_or_404(call_id)  # the pipeline shows no criteria
    form = BulkForm()
    ids = []
    for raw in request.form.getlist("ids"):
        if (application_id := whole_number(raw)) is None:
            abort(400)
        ids.append(application_id)
    valid = form.validate_on_submit()
    if valid and not ids:
        form.action.errors.append(_("Select at least one application."))
        valid = False
    if not valid:
        filters_form, filters, places = pipeline_filters(call)
        return render_pipeline(call, filters_form, filters, places, form, selected=set(ids)), 422
    result = services.bulk_transition(call, ids, S(form.action.data), by=current_user, comment=form.comment.data)
    db.session.commit()
    if result.done:
        flash(_("%(n)s applications changed to %(status)s.", n=len(result.done),
                status=STATUS_LABELS[S(form.action.data)]), "success")
    for application, message in result.refused:
        flash(_("%(name)s: %(message)s", name=application.full_name or application.student.name, message=message),
              "error")
    return redirect(url_for("applications.pipeline", call_id=call.id, **pipeline_args()))


@bp.get("/manage/calls/<int:call_id>/export.<fmt>")
@staff_required
def export(call_id, fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    call = get_call_or_404(call_id, selectinload(Call.criteria))
    filters_form, filters, _places = pipeline_filters(call)
    count = exports.count(call, filters)
    if count <= exports.inline_limit():
        return exports.response(call, filters, fmt)
    # Too many to write within a request: a background job writes the file, its page offers it.
    job = start_job("applications.export", _("Export of %(call)s (%(format)s)", call=call.title, format=fmt.upper()),
                    exports.FUNC, call.id, exports.filters_to_args(filters), fmt, str(current_locale()),
                    url_for("applications.pipeline", call_id=call.id, **pipeline_args(filters_form)),
                    user=current_user, total=count)
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


# --- The review page ---------------------------------------------------------------------------

def get_for_review(application_id: int) -> Application:
    """The application with what the review page and its actions use: its call, the criteria and the student in
    one statement, its choices, languages, documents and reviews in a second (see loading.py). The history and the
    comments, only shown, are read by render_review as plain rows (with the staff who may review)."""
    application = loading.application_with_criteria(application_id)
    if application is None:  # staff may see every application: the query answers the miss (audited 404)
        scoped_first_or_404(select(Application).where(Application.id == application_id))
    loading.load_collections([application])
    return application


def staff_targets(application):
    return allowed_targets(application.status, Actor.staff)


def render_review(application, status=200, decision_form=None, scores=None, comment_form=None, assign_form=None):
    criteria = application.call.criteria
    my_review = next((r for r in application.reviews if r.reviewer_id == current_user.id), None)
    if scores is None:
        data = {}
        for criterion in criteria:
            value = my_review.score_for(criterion.id) if my_review else None
            if value is None and criterion.uses_gpa and application.gpa_normalised is not None:
                value = application.gpa_normalised
            data[f"c{criterion.id}"] = value
        scores = score_form(criteria, formdata=None, data=data)
    if decision_form is None:
        decision_form = DecisionForm(targets=staff_targets(application), formdata=None)
        decision_form.version.data = application.version_id
    history, comments, staff = loading.review_rows(application.id)
    reviewers = [u for u in staff if all(r.reviewer_id != u.id for r in application.reviews)]
    context = {
        "history": history, "comments": comments,
        "application": application, "call": application.call, "criteria": criteria,
        "decision_form": decision_form, "score_form": scores,
        "comment_form": comment_form or CommentForm(formdata=None),
        "assign_form": assign_form or AssignReviewerForm(reviewers=reviewers, formdata=None),
        "action_form": EmptyForm(), "my_review": my_review,
        "choice_checks": services.choice_checks(application),
        "call_reasons": services.describe_reasons(services.call_eligibility_reasons(application)),
        "missing": services.missing_items(application),
        "show_support_needs": can_see_support_needs(current_user, application),
        "document_labels": DOCUMENT_LABELS, "gpa_scales": GpaScale,
    }
    return render_template("applications/review.html", **context), status


@bp.get("/manage/applications/<int:application_id>")
@staff_required
def review(application_id):
    return render_review(get_for_review(application_id))


@bp.post("/manage/applications/<int:application_id>/decision")
@staff_required
def decide(application_id):
    application = get_for_review(application_id)
    form = DecisionForm(targets=list(S))  # any status may be asked for; the workflow decides
    if not form.validate_on_submit():
        form.to_status.choices = DecisionForm(targets=staff_targets(application), formdata=None).to_status.choices
        return render_review(application, 422, decision_form=form)
    def decision():
        services.check_version(application, form.version.data)
        services.transition(application, S(form.to_status.data), by=current_user, comment=form.comment.data)

    try:
        outcome = attempt(decision, on_error="none", success=lambda _result: _(
            "The application is now %(status)s.", status=STATUS_LABELS[application.status]))
    except StaleDataError:  # rolled back
        application = get_for_review(application_id)
        flash(_("Someone else changed this application at the same moment. Nothing was saved: check the current "
                "state below; what you typed is still in the form, so you can save it again."), "error")
        form.version.data = application.version_id
        return render_review(application, 409, decision_form=form)
    if not outcome:
        application = get_for_review(application_id)
        form.to_status.choices = DecisionForm(targets=staff_targets(application), formdata=None).to_status.choices
        if outcome.error.code == "conflict":
            # The coordinator now sees the current state; saving again applies what they typed.
            form.version.data = application.version_id
            flash(outcome.message, "error")
        else:
            put_error(form, outcome.error)
        return render_review(application, outcome.status, decision_form=form)
    return redirect(url_for("applications.review", application_id=application.id))


@bp.post("/manage/applications/<int:application_id>/scores")
@staff_required
def scores(application_id):
    application = get_for_review(application_id)
    form = score_form(application.call.criteria)
    if not form.validate_on_submit():
        return render_review(application, 422, scores=form)
    values = {criterion.id: field.data for criterion, field in form.score_fields()}
    try:
        outcome = attempt(lambda: services.save_scores(application, current_user, values), form=form,
                          success=lambda _result: _("Your scores have been saved. The application's score is now "
                                                    "%(score)s.", score=application.score))
    except StaleDataError:  # rolled back
        flash(_("Someone else saved scores at the same moment. Nothing was saved: please save yours again."), "error")
        return render_review(get_for_review(application_id), 409, scores=form)
    if not outcome:
        return render_review(get_for_review(application_id), outcome.status, scores=form)
    return redirect(url_for("applications.review", application_id=application.id) + "#scores")


@bp.post("/manage/applications/<int:application_id>/comments")
@staff_required
def comment(application_id):
    application = get_for_review(application_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return render_review(application, 422, comment_form=form)
    outcome = attempt(lambda: services.add_comment(application, current_user, form.body.data,
                                                   internal=form.visibility.data != "student"),
                      form=form, success=_("Your comment has been added.") if form.visibility.data != "student"
                      else _("Your message has been sent to the student."))
    if not outcome:
        return render_review(get_for_review(application_id), outcome.status, comment_form=form)
    return redirect(url_for("applications.review", application_id=application.id) + "#comments")


@bp.post("/manage/applications/<int:application_id>/reviewers")
@staff_required
def assign(application_id):
    application = get_for_review(application_id)
    form = AssignReviewerForm(reviewers=services.staff_users())
    if not form.validate_on_submit():
        return render_review(application, 422, assign_form=form)
    reviewer = db.session.get(User, form.reviewer_id.data)
    outcome = attempt(lambda: services.assign_reviewer(application, reviewer, by=current_user), form=form,
                      success=lambda _result: _("%(name)s now reviews this application.", name=reviewer.name))
    if not outcome:
        return render_review(get_for_review(application_id), outcome.status, assign_form=form)
    return redirect(url_for("applications.review", application_id=application.id) + "#reviewers")


@bp.post("/manage/applications/<int:application_id>/reviewers/<int:review_id>/remove")
@staff_required
def unassign(application_id, review_id):
    application = get_for_review(application_id)
    review_row = next((r for r in application.reviews if r.id == review_id), None)
    if review_row is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.unassign_reviewer(application, review_row)
    db.session.commit()
    flash(_("The reviewer has been removed; the score has been recomputed."), "success")
    return redirect(url_for("applications.review", application_id=application.id) + "#reviewers")
