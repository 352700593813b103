"""Public calls page and the student's application (dashboard, step-by-step form, documents, submission)."""
from flask import abort, flash, redirect, render_template, request, url_for
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..auth.models import STAFF, Role
from ..auth.permissions import public, role_required
from ..core import uploads
from ..core.actions import attempt
from ..core.dashboard import Panel, panel
from ..core.forms import EmptyForm
from ..core.navigation import nav_item
from ..core.types import utcnow
from ..extensions import db
from . import bp, loading, pipeline, services
from .access import (can_see_support_needs, get_application_for, get_document_for, get_own_application,
                     partner_may_see_document)
from .forms import (LANGUAGE_ROWS, MAX_LANGUAGES, LanguagesForm, MotivationForm, PersonalForm, StudyForm, UploadForm, WithdrawForm,
                    destinations_form)
from .labels import DOCUMENT_LABELS, STATUS_LABELS, TemplateLabels
from .models import Application, ApplicationDocument, Call, CallPlace, DocumentKind
from .workflow import ApplicationStatus as S
from .workflow import is_open

bp.add_app_template_global(TemplateLabels, "application_labels")

STEP_LABELS = {
    "personal": _l("Personal details"),
    "study": _l("Studies"),
    "languages": _l("Languages"),
    "motivation": _l("Motivation"),
    "destinations": _l("Destinations"),
    "documents": _l("Documents"),
    "review": _l("Review and submit"),
}


def place_label(place: CallPlace) -> str:
    partner = place.partner
    from ..core.filters import eqf_levels_filter
    from ..core.i18n import country_name, language_name
    from ..core.reference import isced_label
    parts = [f"{partner.name} ({partner.city + ', ' if partner.city else ''}{country_name(partner.country)})",
             isced_label(place.condition.isced_code),
             eqf_levels_filter(place.condition.eqf_level_list)]
    languages = ", ".join(f"{language_name(code)} {level}" for code, level in place.language_requirements)
    if languages:
        parts.append(languages)
    return " · ".join(parts)


def _application_loaded(application_id: int, student) -> Application:
    return get_own_application(student, application_id)


# --- Public calls page -------------------------------------------------------------------------

def render_calls(status: int = 200):
    calls = services.public_calls()
    mine = {}
    if current_user.is_authenticated and current_user.role is Role.student:
        mine = {a.call_id: a for a in db.session.scalars(
            select(Application).where(Application.student_id == current_user.id))}
    places = {call.id: sorted(call.places, key=lambda p: (p.partner.country, p.partner.name, p.id)) for call in calls}
    return render_template("applications/calls.html", calls=calls, places=places, mine=mine,
                           apply_form=EmptyForm()), status


@bp.get("/calls")
@public
def calls():
    return render_calls()


@bp.post("/calls/<int:call_id>/apply")
@role_required(Role.student)
def apply(call_id):
    call = db.get_or_404(Call, call_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    again = services.find_application(call, current_user) is not None  # withdrawn: applying again
    try:
        outcome = attempt(lambda: services.start_application(call, current_user), success=_(
            "Your application is a draft again, with what you had filled in. Check it and send it in before "
            "the deadline.") if again else _("Your application has been started. It is saved as a draft as you go."))
    except IntegrityError:  # rolled back
        flash(_("You already have an application for this call. Open it from your applications."), "error")
        return render_calls(409)
    if not outcome:
        return render_calls(outcome.status)
    return redirect(url_for("applications.edit", application_id=outcome.value.id, step="personal"))


# --- The student's dashboard ----------------------------------------------------------------------

@bp.get("/")
@role_required(Role.student, *STAFF)
def index():
    if current_user.role in STAFF:
        return redirect(url_for("applications.manage"))
    # What the cards show: progress (languages, documents, choices), the choices' partners, the last messages
    # (plain rows). No criteria, no language requirements: the dashboard checks no eligibility.
    applications = db.session.scalars(
        select(Application).where(Application.student_id == current_user.id)
        .order_by(Application.created_at.desc()).options(joinedload(Application.call, innerjoin=True))).all()
    if applications:
        loading.load_languages(applications)
        loading.load_documents(applications)
        loading.load_choices(applications, requirements=False)
    # The calls still to apply to, with their destinations counted in SQL (a large call has hundreds).
    open_calls = services.open_calls_without(current_user.id)
    progress = {a.id: services.progress(a) for a in applications if a.is_editable}
    messages = services.latest_messages(a.id for a in applications)
    return render_template("applications/dashboard.html", applications=applications, open_calls=open_calls,
                           place_totals=pipeline.place_totals(open_calls),
                           progress=progress, messages=messages, apply_form=EmptyForm())


# --- The form, step by step ----------------------------------------------------------------------

def step_url(application, step):
    return url_for("applications.edit", application_id=application.id, step=step)


def next_step(step: str) -> str:
    index = services.STEPS.index(step)
    return services.STEPS[min(index + 1, len(services.STEPS) - 1)]


def place_options(application):
    """The call's places, those the student meets first, and select options that say which are not possible."""
    places = services.load_places(application.call)
    reasons = {p.id: services.eligibility_reasons(application, p) for p in places}
    places.sort(key=lambda p: bool(reasons[p.id]))
    options = [(p.id, place_label(p) if not reasons[p.id]
                else _("%(place)s (you do not meet its conditions)", place=place_label(p))) for p in places]
    return places, options


def render_step(application, step, form=None, status=200, upload_forms=None, problems=None):
    context = {"application": application, "call": application.call, "step": step, "steps": services.STEPS,
               "step_labels": STEP_LABELS, "progress": services.progress(application), "form": form,
               "document_labels": DOCUMENT_LABELS, "deadline_passed": (application.status is S.draft
                                                                        and not application.call.is_open())}
    if step == "destinations":
        places, _options = place_options(application)
        context["places"] = places
        context["place_reasons"] = {p.id: services.describe_reasons(services.eligibility_reasons(application, p))
                                    for p in places}
        context["call_reasons"] = services.describe_reasons(services.call_eligibility_reasons(application))
    if step == "documents":
        forms = upload_forms or {}
        context["upload_forms"] = {kind: forms.get(kind) or UploadForm(prefix=kind.value)
                                   for kind in application.call.required_document_list}
        context["delete_form"] = EmptyForm()
    if step == "review":
        context["problems"] = problems if problems is not None else services.submission_problems(application)
        context["choice_checks"] = services.choice_checks(application)
        context["submit_form"] = EmptyForm()
    return render_template("applications/form.html", **context), status


def build_form(application, step, formdata=None):
    a = application
    if step == "personal":
        return PersonalForm(formdata=formdata, obj=None if formdata else a)
    if step == "study":
        form = StudyForm(formdata=formdata, obj=None if formdata else a)
        if not formdata and a.gpa_scale:
            form.gpa_scale.data = a.gpa_scale.value
        return form
    if step == "languages":
        if formdata:
            return LanguagesForm(formdata=formdata)
        rows = [{"language": s.language, "level": s.cefr_level, "certificate": s.certificate or ""}
                for s in a.languages][:MAX_LANGUAGES]
        if LANGUAGE_ROWS <= len(rows) < MAX_LANGUAGES:
            rows.append({})  # always one empty row to add a language
        return LanguagesForm(data={"languages": rows})
    if step == "motivation":
        return MotivationForm(formdata=formdata, obj=None if formdata else a)
    if step == "destinations":
        _places, options = place_options(a)
        if formdata:
            return destinations_form(a.call, options, formdata=formdata)
        data = {f"rank_{c.rank}": str(c.place_id) for c in a.choices if c.rank <= a.call.max_choices}
        return destinations_form(a.call, options, data=data)
    return None


def save_step(application, step, form):
    if step == "personal":
        services.update_application(application, full_name=form.full_name.data,
                                    date_of_birth=form.date_of_birth.data, nationality=form.nationality.data or None,
                                    student_number=form.student_number.data)
    elif step == "study":
        from .scoring import GpaScale
        services.update_application(application, study_programme=form.study_programme.data,
                                    isced_code=form.isced_code.data or None, eqf_level=form.eqf_level.data,
                                    year_of_study=form.year_of_study.data, gpa=form.gpa.data,
                                    gpa_scale=GpaScale(form.gpa_scale.data) if form.gpa_scale.data else None)
    elif step == "languages":
        services.set_languages(application, form.rows())
    elif step == "motivation":
        services.update_application(application, motivation=form.motivation.data,
                                    support_needs=form.support_needs.data)
    elif step == "destinations":
        services.set_choices(application, form.place_ids())


def read_only_answer(application):
    flash(_("This application is %(status)s and can no longer be changed.",
            status=STATUS_LABELS[application.status]), "error")
    return render_detail(application, 422)


@bp.route("/<int:application_id>/edit/<step>", methods=["GET", "POST"])
@role_required(Role.student)
def edit(application_id, step):
    application = _application_loaded(application_id, current_user)
    if step not in services.STEPS:
        abort(404)
    if not application.is_editable:
        if request.method == "GET":
            return redirect(url_for("applications.detail", application_id=application.id))
        return read_only_answer(application)
    if request.method == "GET" or step in ("documents", "review"):
        return render_step(application, step, build_form(application, step))
    form = build_form(application, step, formdata=request.form)
    if not form.validate_on_submit():
        return render_step(application, step, form, 422)
    outcome = attempt(lambda: save_step(application, step, form), form=form, success=_("Saved."))
    if not outcome:
        return render_step(application, step, form, outcome.status)
    go = request.form.get("go")
    return redirect(step_url(application, next_step(step) if go == "next" else step))


@bp.post("/<int:application_id>/documents/<kind>")
@role_required(Role.student)
def upload(application_id, kind):
    application = _application_loaded(application_id, current_user)
    try:
        kind = DocumentKind(kind)
    except ValueError:
        abort(404)
    if not application.is_editable:
        return read_only_answer(application)
    form = UploadForm(prefix=kind.value)
    if not form.validate_on_submit():
        return render_step(application, "documents", status=422, upload_forms={kind: form})
    required = kind in application.call.required_document_list  # an optional one's form is not shown: flashed
    outcome = attempt(lambda: services.upload_document(application, kind, request.files.get(f"{kind.value}-file"),
                                                       by=current_user),
                      form=form if required else None, field="file",
                      success=_("%(document)s uploaded.", document=DOCUMENT_LABELS[kind]))
    if not outcome:
        return render_step(application, "documents", status=outcome.status, upload_forms={kind: form})
    return redirect(step_url(application, "documents"))


@bp.post("/<int:application_id>/documents/<int:document_id>/delete")
@role_required(Role.student)
def delete_document(application_id, document_id):
    application = _application_loaded(application_id, current_user)
    document = next((d for d in application.documents if d.id == document_id), None)
    if document is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: services.delete_document(application, document, by=current_user),
                      success=_("The document has been deleted."))
    if not outcome:
        return render_step(application, "documents", status=outcome.status) if application.is_editable \
            else render_detail(application, outcome.status)
    return redirect(step_url(application, "documents"))


@bp.get("/<int:application_id>/documents/<int:document_id>")
@login_required
def document(application_id, document_id):
    """Owner, coordinators, and the partner the student is nominated to; anyone else gets 404."""
    doc: ApplicationDocument = get_document_for(current_user, application_id, document_id)
    as_attachment = request.args.get("download") == "1"
    return uploads.send_upload(doc.stored_name, doc.mimetype, doc.original_name, as_attachment=as_attachment)


@bp.post("/<int:application_id>/submit")
@role_required(Role.student)
def submit(application_id):
    application = _application_loaded(application_id, current_user)
    if not EmptyForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: services.submit_application(application, by=current_user), on_error="none",
                      success=_("Your application has been submitted. We have sent you a confirmation by email."))
    if isinstance(outcome.error, services.SubmissionRefused):  # the page lists every reason
        flash(_("Your application cannot be submitted yet. Please see what is missing below."), "error")
        return render_step(application, "review", status=outcome.status, problems=outcome.error.problems)
    if not outcome:
        flash(outcome.message, "error")
        if application.is_editable:
            return render_step(application, "review", status=outcome.status)
        return render_detail(application, outcome.status)
    return redirect(url_for("applications.detail", application_id=application.id))


# --- The application page (student; partner after nomination) ------------------------------------------

def render_detail(application, status=200, withdraw_form=None):
    user = current_user
    context = {
        "application": application, "call": application.call,
        "messages": services.student_messages(application),
        "choice_checks": services.choice_checks(application),
        "show_support_needs": can_see_support_needs(user, application),
        "is_owner": user.role is Role.student and application.student_id == user.id,
        "withdraw_form": withdraw_form or WithdrawForm(),
        "action_form": EmptyForm(),
        "can_withdraw": is_open(application.status),
        "progress": services.progress(application) if application.is_editable else None,
        "document_labels": DOCUMENT_LABELS,
        "document_visible": (lambda document: partner_may_see_document(user, application, document))
        if user.role is Role.partner else None,
    }
    return render_template("applications/detail.html", **context), status


@bp.get("/<int:application_id>")
@login_required
def detail(application_id):
    application = get_application_for(current_user, application_id)
    if current_user.role in STAFF:
        return redirect(url_for("applications.review", application_id=application.id))
    return render_detail(application)


@bp.post("/<int:application_id>/withdraw")
@role_required(Role.student)
def withdraw(application_id):
    application = _application_loaded(application_id, current_user)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return render_detail(application, 422, withdraw_form=form)
    outcome = attempt(lambda: services.withdraw_application(application, by=current_user, comment=form.comment.data),
                      success=_("Your application has been withdrawn."))
    if not outcome:
        return render_detail(application, outcome.status, withdraw_form=form)
    return redirect(url_for("applications.detail", application_id=application.id))


@bp.errorhandler(StaleDataError)
def concurrent_change(exc):
    """Two saves of the same application at the same moment: the second one is refused, nothing half-saved."""
    db.session.rollback()
    from ..core.errors import render_error
    return render_error(409, _("Someone else changed this application at the same moment. Nothing was saved: "
                               "please go back, reload the page and try again."))


# --- Home page panel and navigation ---------------------------------------------------------------

@panel(order=20)
def applications_panel(user):
    if user.role is Role.student:
        rows = db.session.execute(
            select(Application.id, Application.status, Call.title, Call.closes_at)
            .join(Application.call).where(Application.student_id == user.id)
            .order_by(Application.created_at.desc()).limit(5)).all()
        now = utcnow()
        open_calls = db.session.scalar(select(func.count(Call.id)).where(Call.opens_at <= now, Call.closes_at >= now))
        return Panel("applications/_panel_student.html", {"rows": rows, "open_calls": open_calls})
    if user.role in STAFF:
        from .views_staff import staff_panel_context
        return Panel("applications/_panel_staff.html", staff_panel_context())
    return None


nav_item("applications.index", _l("My applications"), roles=[Role.student], order=10, match_prefix="/applications")
nav_item("applications.manage", _l("Applications"), roles=STAFF, order=30, match_prefix="/applications")

from . import views_staff  # noqa: E402,F401
