"""Certificates: staff issue (one or in bulk), revoke and reissue; recipients download; anyone verifies."""
import io

from flask import abort, current_app, flash, make_response, redirect, render_template, request, send_file, url_for
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from ..applications.models import Application, Call
from ..auth.models import STAFF, Role
from ..auth.permissions import admin_required, public, role_required, scoped_first_or_404, staff_required
from ..core.actions import attempt
from ..core.dashboard import Panel, panel
from ..core.navigation import nav_item
from ..core.pagination import paginate
from ..core.uploads import send_upload
from ..core.forms import form_status
from ..events.models import Event
from ..extensions import db, limiter
from ..jobs.services import start_job
from . import bp, jobs, services, verify_bp
from .display import period_label
from .forms import (BulkIssueForm, CompletionForm, FilterForm, IssueForm, ReissueForm, RevokeForm, SettingsForm,
                    language_choices)
from .kinds import PLACED_STATUSES, not_started, placement_facts
from .models import Certificate, CertificateKind

nav_item("certificates.index", _l("Certificates"), roles=STAFF, order=60, match_prefix="/certificates")

PER_PAGE = 25


@bp.context_processor
@verify_bp.context_processor
def certificate_helpers():
    return {"period_label": period_label}


def get_certificate(certificate_id: int) -> Certificate:
    return scoped_first_or_404(services.certificates_for(current_user).where(Certificate.id == certificate_id))


def optional_url(endpoint: str, **values) -> str | None:
    """A link into another domain's pages, when that page exists."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def pdf_response(data: bytes, filename: str, inline: bool = False):
    response = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=filename,
                         as_attachment=not inline, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Staff: the register of certificates -------------------------------------------------------------

@bp.get("/")
@staff_required
def index():
    filters = FilterForm(request.args)
    filters.validate()
    query = services.search_certificates(services.Filters(
        q=filters.q.data if not filters.q.errors else None,
        kind=CertificateKind(filters.kind.data) if filters.kind.data and not filters.kind.errors else None,
        status=filters.status.data if not filters.status.errors else None))
    page = paginate(query.options(joinedload(Certificate.recipient)), per_page=PER_PAGE)
    return render_template("certificates/index.html", page=page, filters=filters)


def render_detail(certificate: Certificate, revoke_form=None, reissue_form=None, status: int = 200):
    subject_url = None
    if certificate.event_id:
        subject_url = optional_url("events.detail", event_id=certificate.event_id)
    elif certificate.application_id:
        subject_url = optional_url("applications.detail", application_id=certificate.application_id)
    history = services.history_of(certificate)
    replacement = next((c for c in history if c.is_valid and c.id != certificate.id), None)
    return render_template(
        "certificates/detail.html", certificate=certificate, subject_url=subject_url, history=history,
        replacement=replacement, revoke_form=revoke_form or RevokeForm(formdata=None),
        reissue_form=reissue_form or ReissueForm(formdata=None, language=certificate.language),
        verify_url=url_for("verification.verify", code=certificate.code)), status


@bp.get("/<int:certificate_id>")
@staff_required
def detail(certificate_id):
    return render_detail(get_certificate(certificate_id))


@bp.get("/<int:certificate_id>/pdf")
@login_required
def download(certificate_id):
    """The PDF as it was first rendered (see services.pdf_of)."""
    certificate = get_certificate(certificate_id)
    data = services.pdf_of(certificate)
    db.session.commit()
    return pdf_response(data, certificate.filename)


@bp.post("/<int:certificate_id>/revoke")
@staff_required
def revoke(certificate_id):
    certificate = get_certificate(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: services.revoke_certificate(certificate, current_user, form.reason.data),
                          form=form, field="reason",
                          success=lambda _result: _("Certificate %(number)s has been revoked.",
                                                    number=certificate.number))
        if outcome:
            services.notify_revoked(certificate)
            return redirect(url_for("certificates.detail", certificate_id=certificate.id), code=303)
    return render_detail(certificate, revoke_form=form, status=422)


@bp.post("/<int:certificate_id>/reissue")
@staff_required
def reissue(certificate_id):
    certificate = get_certificate(certificate_id)
    form = ReissueForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: services.reissue_certificate(certificate, current_user, form.reason.data,
                                                               form.language.data or None),
                          form=form, field="reason",
                          success=lambda new: _("Certificate %(old)s has been replaced by %(new)s.",
                                                old=certificate.number, new=new.number))
        if outcome:
            services.notify_issued([outcome.value])
            return redirect(url_for("certificates.detail", certificate_id=outcome.value.id), code=303)
    return render_detail(certificate, reissue_form=form, status=422)


@bp.post("/issue")
@staff_required
def issue():
    form = IssueForm()
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(back or url_for("certificates.index"), code=303)
    outcome = attempt(lambda: services.issue_certificate(form.kind.data, int(form.subject_id.data), current_user,
                                                         form.language.data or None),
                      on_error="none",  # an unknown subject is a 404, not a message
                      success=lambda certificate: _("Certificate %(number)s has been issued to %(name)s.",
                                                    number=certificate.number, name=certificate.recipient_name))
    if not outcome:
        if outcome.status == 404:
            abort(404)
        flash(outcome.message, "error")
        return redirect(back or url_for("certificates.index"), code=303)
    certificate = outcome.value
    services.notify_issued([certificate])
    return redirect(url_for("certificates.detail", certificate_id=certificate.id), code=303)


def start_bulk(kind: CertificateKind, scope_id: int, title: str, notify: bool, nobody: str, back: str):
    """The bulk job's page; back to `back` with the message `nobody` when nobody can receive the certificate."""
    count = len(services.eligible_subject_ids(kind, scope_id))
    if not count:
        flash(nobody, "error")
        return redirect(back, code=303)
    job = start_job(f"certificates.{kind.value}", title, jobs.FUNC, kind.value, scope_id, current_user.id, notify,
                    user=current_user, total=count)
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


# --- Staff: events --------------------------------------------------------------------------------

@bp.get("/events")
@staff_required
def events():
    page = paginate(services.events_overview(), per_page=PER_PAGE)
    return render_template("certificates/events.html", page=page,
                           counts=services.event_counts(e.id for e in page.items))


@bp.get("/events/<int:event_id>")
@staff_required
def event(event_id):
    event = scoped_first_or_404(select(Event).where(Event.id == event_id))
    rows = services.event_attendees(event)
    return render_template("certificates/event.html", event=event, rows=rows,
                           issued=sum(1 for _registration, certificate in rows if certificate),
                           bulk_form=BulkIssueForm(formdata=None), languages=language_choices(),
                           event_url=optional_url("events.detail", event_id=event.id),
                           not_started=not_started(event))


@bp.post("/events/<int:event_id>/bulk")
@staff_required
def event_bulk(event_id):
    event = scoped_first_or_404(select(Event).where(Event.id == event_id))
    form = BulkIssueForm()
    if not form.validate_on_submit():
        abort(400)
    if refusal := not_started(event):
        flash(refusal, "error")
        return redirect(url_for("certificates.event", event_id=event.id), code=303)
    return start_bulk(CertificateKind.participation, event.id,
                      _("Certificates of participation: %(title)s", title=event.title), form.notify.data,
                      _("Nobody checked in at this event, so there is nobody to certify."),
                      url_for("certificates.event", event_id=event.id))


# --- Staff: calls (placement letters, completion certificates) --------------------------------------

@bp.get("/calls")
@staff_required
def calls():
    page = paginate(services.calls_by_year(), per_page=PER_PAGE)
    return render_template("certificates/calls.html", page=page,
                           counts=services.call_counts(c.id for c in page.items))


@bp.get("/calls/<int:call_id>")
@staff_required
def call(call_id):
    call = scoped_first_or_404(select(Call).where(Call.id == call_id))
    rows = services.call_students(call)
    return render_template("certificates/call.html", call=call, rows=rows, bulk_form=BulkIssueForm(formdata=None),
                           completed=sum(1 for r in rows if r.record), languages=language_choices())


@bp.post("/calls/<int:call_id>/bulk")
@staff_required
def call_bulk(call_id):
    call = scoped_first_or_404(select(Call).where(Call.id == call_id))
    form = BulkIssueForm()
    if not form.validate_on_submit() or form.kind.data == CertificateKind.participation.value:
        abort(400)
    kind = CertificateKind(form.kind.data)
    title = (_("Placement letters: %(title)s", title=call.title) if kind is CertificateKind.placement
             else _("Certificates of completed exchange: %(title)s", title=call.title))
    return start_bulk(kind, call.id, title, form.notify.data,
                      _("No student of this call can receive this certificate yet."),
                      url_for("certificates.call", call_id=call.id))


@bp.route("/applications/<int:application_id>/completion", methods=["GET", "POST"])
@staff_required
def completion(application_id):
    application = scoped_first_or_404(
        select(Application).where(Application.id == application_id, Application.status.in_(PLACED_STATUSES),
                                  Application.placed_place_id.is_not(None)))
    record = services.completion_record_of(application.id)
    form = CompletionForm(obj=record)
    if form.validate_on_submit():
        outcome = attempt(lambda: services.save_completion(application, form.started_on.data, form.ended_on.data,
                                                           form.ects_credits.data, current_user),
                          form=form, field="ended_on",
                          success=lambda _result: _("The completed exchange of %(name)s has been recorded.",
                                                    name=application.full_name or application.student.name))
        if outcome:
            return redirect(url_for("certificates.call", call_id=application.call_id), code=303)
    return render_template("certificates/completion.html", form=form, application=application, record=record,
                           facts=placement_facts(application)), form_status(form)


# --- Admin: what certificates print about the institution ------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    home = services.home_institution()
    form = SettingsForm(obj=home, institution_name=home.name if home else None)
    if form.validate_on_submit():
        outcome = attempt(lambda: services.update_settings(
            home, institution_name=form.institution_name.data, country=form.country.data,
            city=form.city.data, signatory_name=form.signatory_name.data,
            signatory_title=form.signatory_title.data, logo=request.files.get("logo"),
            signature=request.files.get("signature"), remove_logo=form.remove_logo.data,
            remove_signature=form.remove_signature.data, by=current_user),
            form=form, field="logo", success=_("The certificate settings have been saved."))
        if not outcome:
            return render_template("certificates/settings.html", form=form, home=home), outcome.status
        return redirect(url_for("certificates.settings"), code=303)
    return render_template("certificates/settings.html", form=form, home=home), form_status(form)


@bp.get("/settings/image/<name>")
@admin_required
def settings_image(name):
    home = services.home_institution()
    if home is None or name not in {home.logo_path, home.signature_path}:
        abort(404)
    mimetype = "image/png" if name.endswith(".png") else "image/jpeg"
    return send_upload(name, mimetype, name)


@bp.get("/settings/specimen/<kind>.pdf")
@staff_required
def specimen(kind):
    if kind not in {k.value for k in CertificateKind}:
        abort(404)
    language = request.args.get("lang", "")
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    return pdf_response(services.render_specimen(kind, language), f"specimen-{kind}-{language}.pdf", inline=True)


# --- Recipients -----------------------------------------------------------------------------------

@bp.get("/mine")
@login_required
def mine():
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.recipient_id == current_user.id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())).all()
    return render_template("certificates/mine.html", certificates=certificates)


@bp.get("/nominees")
@role_required(Role.partner)
def nominees():
    query = (services.certificates_for(current_user)
             .where(Certificate.kind == CertificateKind.placement)
             .order_by(Certificate.academic_year.desc(), Certificate.recipient_name, Certificate.id))
    page = paginate(query, per_page=PER_PAGE)
    return render_template("certificates/nominees.html", page=page)


# --- Public verification ----------------------------------------------------------------------------

def verify_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


@verify_bp.get("/verify/<code>")
@public
@limiter.limit(verify_limit)
def verify(code):
    """Anyone with the code (printed as a QR code) sees whether the certificate is valid, and its core facts."""
    certificate = None
    if 10 <= len(code) <= 43:
        certificate = db.session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        abort(404)
    response = make_response(render_template("certificates/verify.html", certificate=certificate,
                                             issuer=certificate.issuer_name))
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- Home page panels -------------------------------------------------------------------------------

@panel(order=60)
def certificates_panel(user):
    if user.is_staff:
        return None
    if user.role is Role.partner:
        latest, count = services.latest_placement_letters(user)
        return Panel("certificates/_panel_partner.html", {"count": count, "latest": latest}) if count else None
    latest, count = services.latest_certificates(user)
    if not count and user.role is not Role.student:
        return None
    return Panel("certificates/_panel.html", {"count": count, "latest": latest})
