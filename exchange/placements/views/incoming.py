"""Partner universities: incoming students."""
import csv
import io

from flask import Response, abort, redirect, render_template, request, url_for
from ...core.i18n import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...applications import services as app_services
from ...applications.labels import PERIOD_LABELS
from ...applications.models import Application, ApplicationDocument
from ...auth.models import Role
from ...auth.permissions import role_required, scoped_first_or_404
from ...core import uploads
from ...core.csvsafe import safe_row
from ...core.actions import attempt
from ...core.forms import EmptyForm
from ...core.i18n import country_name, language_name
from ...core.reference import academic_year_label, isced_label
from ...extensions import db
from .. import bp
from .. import incoming as incoming_services
from .. import nominations as nomination_services
from ..forms import IncomingFilterForm, RejectForm
from ..labels import PARTNER_STATUS
from ..models import Nomination, NominationStatus
from .common import PER_PAGE, check_action_form


def get_incoming(nomination_id: int) -> Nomination:
    """A live nomination to the partner user's institution (404 for anyone else's, and for rejected or cancelled
    ones: incoming_services.nominations_visible_to_partner)."""
    return scoped_first_or_404(
        select(Nomination).where(Nomination.id == nomination_id,
                                 incoming_services.nominations_visible_to_partner(current_user.partner_institution_id))
        .options(joinedload(Nomination.application).joinedload(Application.student),
                 joinedload(Nomination.application).joinedload(Application.call),
                 joinedload(Nomination.application).selectinload(Application.languages),
                 joinedload(Nomination.application).selectinload(Application.documents),
                 joinedload(Nomination.nominated_by), joinedload(Nomination.decided_by),
                 joinedload(Nomination.place).options(*app_services.place_loader())))


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
    outcome = attempt(lambda: nomination_services.decide_nomination(nomination, accept=True, by=current_user),
                      success=lambda _result: _("You have accepted %(name)s. The student and the sending "
                                                "coordinator have been told.", name=nomination.application.full_name))
    if not outcome:
        return render_incoming_detail(nomination, status=outcome.status)
    return redirect(url_for("placements.incoming_detail", nomination_id=nomination.id))


@bp.post("/incoming/<int:nomination_id>/reject")
@role_required(Role.partner)
def reject_nomination(nomination_id):
    nomination = get_incoming(nomination_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return render_incoming_detail(nomination, form, 422)
    outcome = attempt(lambda: nomination_services.decide_nomination(nomination, accept=False, by=current_user,
                                                                    reason=form.reason.data),
                      form=form, field="reason",
                      success=lambda _result: _("You have rejected %(name)s. The student and the sending "
                                                "coordinator have been told.", name=nomination.application.full_name))
    if not outcome:
        return render_incoming_detail(nomination, form, outcome.status)
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
