"""Partner institutions and agreements: coordinators manage them, partner users read their own. The factsheets
(on ``factsheets_bp``, under /placements): partners and coordinators edit them, students read them."""
from flask import Response, flash, redirect, render_template, request, url_for
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..applications import services as app_services
from ..applications.models import Call, CallPlace
from ..auth.models import STAFF, Role
from ..auth.permissions import role_required, scoped_first_or_404, staff_required
from ..core.actions import attempt
from ..core.dashboard import Panel, panel
from ..core.pagination import paginate, paginate_rows
from ..core.forms import EmptyForm, form_status, put_error
from ..core.navigation import nav_item
from ..core.numbers import whole_number
from ..core.types import utcnow
from ..extensions import db
from . import bp, csv_import, factsheets, factsheets_bp, services
from .forms import (AgreementFilterForm, AgreementForm, BalanceFilterForm, ConditionForm, ContactForm,
                    FactsheetForm, ImportForm, InstitutionFilterForm, InstitutionForm, NewAgreementForm,
                    TerminateForm)
from .models import (TRANSITIONS, Agreement, AgreementStatus, CooperationCondition, Direction, MobilityType,
                     PartnerContact, PartnerInstitution, current_academic_year)

nav_item("partners.index", _l("Partners"), roles=STAFF, order=20, match_prefix="/partners/institutions")
nav_item("partners.agreements", _l("Agreements"), roles=STAFF, order=25, match_prefix="/partners/agreements")
nav_item("partners.agreements", _l("Our agreements"), roles=[Role.partner], order=25, match_prefix="/partners")

#: Staff manage; partner users read their own institution and its agreements.
READERS = (*STAFF, Role.partner)
PER_PAGE = 25


def get_institution(institution_id: int) -> PartnerInstitution:
    return scoped_first_or_404(services.institution_query(current_user, institution_id))


def get_agreement(agreement_id: int):
    return scoped_first_or_404(services.agreement_query(current_user, agreement_id))


def get_contact(institution_id: int, contact_id: int) -> PartnerContact:
    return scoped_first_or_404(select(PartnerContact).where(PartnerContact.id == contact_id,
                                                            PartnerContact.institution_id == institution_id))


def get_condition(agreement_id: int, condition_id: int) -> CooperationCondition:
    return scoped_first_or_404(select(CooperationCondition).where(CooperationCondition.id == condition_id,
                                                                  CooperationCondition.agreement_id == agreement_id))


# --- Institutions -----------------------------------------------------------------------------

@bp.get("/institutions/")
@staff_required
def index():
    filters = InstitutionFilterForm(request.args, countries=services.partner_countries())
    filters.validate()
    sort = filters.sort.data or "name"
    query = services.search_institutions(filters.q.data if not filters.q.errors else None,
                                         filters.country.data if not filters.country.errors else None, sort)
    page = paginate(query, per_page=PER_PAGE)
    counts = services.active_agreement_counts(i.id for i in page.items)
    return render_template("partners/index.html", page=page, filters=filters, sort=sort, counts=counts)


def _institution_data(form: InstitutionForm) -> services.InstitutionData:
    return services.InstitutionData(name=form.name.data, country=form.country.data, city=form.city.data,
                                    website=form.website.data, schac_code=form.schac_code.data,
                                    erasmus_code=form.erasmus_code.data, notes=form.notes.data)


@bp.route("/institutions/new", methods=["GET", "POST"])
@staff_required
def create():
    form = InstitutionForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: services.create_institution(_institution_data(form)), form=form, field="name",
                          success=lambda institution: _("%(name)s has been added.", name=institution.name))
        if outcome:
            return redirect(url_for("partners.detail", institution_id=outcome.value.id))
    return render_template("partners/form.html", form=form, institution=None), form_status(form)


@bp.get("/institutions/<int:institution_id>")
@role_required(*READERS)
def detail(institution_id):
    institution = get_institution(institution_id)
    years = services.balance_years()
    balance = services.exchange_balance(institution.id, years)
    return render_template("partners/detail.html", institution=institution, years=years,
                           balance=balance[0] if balance else None, can_edit=current_user.is_staff,
                           current_year=current_academic_year(), contact_form=ContactForm(formdata=None),
                           action_form=EmptyForm())


@bp.route("/institutions/<int:institution_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(institution_id):
    institution = get_institution(institution_id)
    form = InstitutionForm(obj=institution)
    if form.validate_on_submit():
        outcome = attempt(lambda: services.update_institution(institution, _institution_data(form)), form=form,
                          field="name", success=lambda _result: _("%(name)s has been updated.", name=institution.name))
        if outcome:
            return redirect(url_for("partners.detail", institution_id=institution.id))
    return render_template("partners/form.html", form=form, institution=institution), form_status(form)


@bp.route("/institutions/<int:institution_id>/contacts/new", methods=["GET", "POST"], endpoint="add_contact")
@bp.route("/institutions/<int:institution_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"],
          endpoint="edit_contact")
@staff_required
def contact_form(institution_id, contact_id=None):
    """Add a contact, or edit one when `contact_id` is given."""
    institution = get_institution(institution_id)
    contact = get_contact(institution.id, contact_id) if contact_id else None
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        values = (form.name.data, form.role.data, form.email.data, form.phone.data)
        outcome = attempt(lambda: services.update_contact(contact, *values) if contact
                          else services.add_contact(institution, *values), form=form, field="name",
                          success=_("The contact has been updated.") if contact else _("The contact has been added."))
        if outcome:
            return redirect(url_for("partners.detail", institution_id=institution.id, _anchor="contacts"))
    return render_template("partners/contact_form.html", form=form, institution=institution,
                           contact=contact), form_status(form)


@bp.post("/institutions/<int:institution_id>/contacts/<int:contact_id>/delete")
@staff_required
def delete_contact(institution_id, contact_id):
    institution = get_institution(institution_id)
    contact = get_contact(institution.id, contact_id)
    if EmptyForm().validate_on_submit():
        services.delete_contact(contact)
        db.session.commit()
        flash(_("The contact %(name)s has been removed.", name=contact.name), "success")
    return redirect(url_for("partners.detail", institution_id=institution.id, _anchor="contacts"), code=303)


@bp.route("/institutions/import", methods=["GET", "POST"])
@staff_required
def import_csv():
    form = ImportForm()
    check = None
    status = form_status(form)
    if form.validate_on_submit():
        upload = form.file.data
        try:
            check = csv_import.check_csv(upload.read(csv_import.MAX_BYTES + 1), upload.filename or "")
        except csv_import.ImportRefused as exc:
            form.file.errors = [*form.file.errors, exc.message]
        else:
            if check.ok:
                created = services.import_institutions(check.rows, by=current_user)
                db.session.commit()
                flash(_("%(count)d institutions have been imported.", count=len(created)), "success")
                return redirect(url_for("partners.index"))
            db.session.rollback()
    return render_template("partners/import.html", form=form, check=check, columns=csv_import.COLUMNS,
                           required=csv_import.REQUIRED_COLUMNS, max_rows=csv_import.MAX_ROWS), status


@bp.get("/institutions/import/sample.csv")
@staff_required
def sample_csv():
    return Response(csv_import.sample_csv().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=partner-institutions-sample.csv"})


# --- Agreements -------------------------------------------------------------------------------

@bp.get("/agreements/")
@role_required(*READERS)
def agreements():
    staff = current_user.is_staff
    choices = services.partner_filter_choices() if staff else None
    filters = AgreementFilterForm(request.args, partners=choices.partners if staff else None,
                                  countries=choices.countries if staff else ())
    filters.validate()
    direction, status = filters.value("direction"), filters.value("status")
    query = services.agreement_rows_query(current_user, services.AgreementFilters(
        partner_id=filters.value("partner_id") if staff else None,
        country=filters.value("country") if staff else None,
        isced_code=filters.value("isced"),
        direction=Direction(direction) if direction else None,
        status=AgreementStatus(status) if status else None,
        academic_year=filters.value("year"),
        ending_year=filters.value("ending")), sort=filters.sort.data or "partner")
    page = paginate_rows(query, per_page=PER_PAGE)
    page.items = services.agreement_rows(page.items)
    institution = current_user.institution if current_user.role is Role.partner else None
    return render_template("partners/agreements.html", page=page, filters=filters, staff=staff,
                           sort=filters.sort.data or "partner", institution=institution,
                           current_year=current_academic_year())


def _condition_data(form) -> services.ConditionData:
    return services.ConditionData(
        direction=Direction(form.direction.data), mobility_type=MobilityType(form.mobility_type.data),
        isced_code=form.isced_code.data, eqf_levels=form.eqf_levels.data or [],
        places_per_year=form.places_per_year.data, months_per_place=form.months_per_place.data,
        languages=form.language_pairs())


def _partner_or_error(form):
    partner = db.session.get(PartnerInstitution, form.partner_id.data)
    if partner is None:
        form.partner_id.errors = [*form.partner_id.errors, _("Choose a value from the list.")]
    return partner


@bp.route("/agreements/new", methods=["GET", "POST"])
@staff_required
def create_agreement():
    form = NewAgreementForm(partners=services.partner_choices())
    if request.method == "GET" and (partner_id := whole_number(request.args.get("partner_id"))) is not None:
        form.partner_id.data = partner_id
    if form.validate_on_submit() and (partner := _partner_or_error(form)) is not None:
        outcome = attempt(lambda: services.create_agreement(
            partner, first_year=form.first_year.data, last_year=form.last_year.data,
            status=AgreementStatus(form.status.data), reference=form.reference.data, notes=form.notes.data,
            condition=_condition_data(form.condition.form)), on_error="none",
            success=lambda _result: _("The agreement with %(name)s has been saved.", name=partner.name))
        if outcome:
            return redirect(url_for("partners.agreement", agreement_id=outcome.value.id))
        exc = outcome.error  # beside the field of the agreement, or of its first condition
        if exc.field in form.condition.form:
            put_error(form.condition.form, exc, exc.field)
        else:
            put_error(form, exc, "first_year")
    return render_template("partners/agreement_form.html", form=form, agreement=None), form_status(form)


@bp.get("/agreements/<int:agreement_id>")
@role_required(*READERS)
def agreement(agreement_id):
    agreement = get_agreement(agreement_id)
    return render_template("partners/agreement.html", agreement=agreement, can_edit=current_user.is_staff,
                           current_year=current_academic_year(), action_form=EmptyForm())


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_agreement(agreement_id):
    agreement = get_agreement(agreement_id)
    if not agreement.is_editable:
        flash(_("This agreement has been terminated and can no longer be changed."), "error")
        return redirect(url_for("partners.agreement", agreement_id=agreement.id))
    statuses = [s for s in AgreementStatus if s in TRANSITIONS[agreement.status] or s is agreement.status]
    form = AgreementForm(partners=services.partner_choices(), agreement=agreement, statuses=statuses)
    if form.validate_on_submit() and (partner := _partner_or_error(form)) is not None:
        outcome = attempt(lambda: services.update_agreement(
            agreement, partner=partner, first_year=form.first_year.data, last_year=form.last_year.data,
            status=AgreementStatus(form.status.data), reference=form.reference.data, notes=form.notes.data),
            form=form, field="first_year", success=_("The agreement has been updated."))
        if outcome:
            return redirect(url_for("partners.agreement", agreement_id=agreement.id))
    return render_template("partners/agreement_form.html", form=form, agreement=agreement), form_status(form)


@bp.route("/agreements/<int:agreement_id>/terminate", methods=["GET", "POST"])
@staff_required
def terminate_agreement(agreement_id):
    agreement = get_agreement(agreement_id)
    form = TerminateForm()
    status = form_status(form)
    if form.validate_on_submit():
        attempt(lambda: services.terminate_agreement(agreement, form.reason.data, by=current_user),
                success=_("The agreement has been terminated."))
        return redirect(url_for("partners.agreement", agreement_id=agreement_id))
    if not agreement.can_terminate():
        flash(_("This agreement can no longer be terminated."), "error")
        return redirect(url_for("partners.agreement", agreement_id=agreement.id))
    return render_template("partners/terminate.html", form=form, agreement=agreement), status


@bp.route("/agreements/<int:agreement_id>/conditions/new", methods=["GET", "POST"], endpoint="add_condition")
@bp.route("/agreements/<int:agreement_id>/conditions/<int:condition_id>/edit", methods=["GET", "POST"],
          endpoint="edit_condition")
@staff_required
def condition_form(agreement_id, condition_id=None):
    """Add a cooperation condition, or edit one when `condition_id` is given."""
    agreement = get_agreement(agreement_id)
    condition = get_condition(agreement.id, condition_id) if condition_id else None
    form = ConditionForm(condition=condition) if condition else ConditionForm()
    if form.validate_on_submit():
        outcome = attempt(lambda: services.update_condition(condition, _condition_data(form)) if condition
                          else services.add_condition(agreement, _condition_data(form)), on_error="none",
                          success=_("The cooperation condition has been updated.") if condition
                          else _("The cooperation condition has been added."))
        if outcome:
            return redirect(url_for("partners.agreement", agreement_id=agreement.id, _anchor="conditions"))
        if outcome.error.code == "terminated":
            flash(outcome.message, "error")
            return redirect(url_for("partners.agreement", agreement_id=agreement_id))
        put_error(form, outcome.error, "isced_code")
    return render_template("partners/condition_form.html", form=form, agreement=agreement,
                           condition=condition), form_status(form)


@bp.post("/agreements/<int:agreement_id>/conditions/<int:condition_id>/delete")
@staff_required
def delete_condition(agreement_id, condition_id):
    agreement = get_agreement(agreement_id)
    condition = get_condition(agreement.id, condition_id)
    if EmptyForm().validate_on_submit():
        attempt(lambda: services.delete_condition(condition), success=_("The cooperation condition has been removed."))
    return redirect(url_for("partners.agreement", agreement_id=agreement_id, _anchor="conditions"), code=303)


# --- Exchange balance -------------------------------------------------------------------------

@bp.get("/balance")
@staff_required
def balance():
    filters = BalanceFilterForm(request.args, countries=services.partner_countries())
    filters.validate()
    years = services.balance_years(filters.value("start"))
    page = paginate(services.partners_with_places(years, filters.value("country")), per_page=PER_PAGE)
    rows = services.exchange_balance(years=years, partner_ids=[p.id for p in page.items])
    return render_template("partners/balance.html", page=page, rows=rows, years=years, filters=filters,
                           totals=services.balance_totals(years))


# --- Home page panels -------------------------------------------------------------------------

@panel(order=20)
def partners_panel(user):
    if user.is_staff:
        year = current_academic_year()
        return Panel("partners/_panel_staff.html", {"counts": services.agreement_counts(year), "year": year})
    if user.role is Role.partner and user.institution_id:
        year = current_academic_year()
        summary = services.partner_summary(user.institution_id, year)
        if summary is None:
            return None
        return Panel("partners/_panel_partner.html", {"summary": summary, "year": year})
    return None


# --- Factsheets: on factsheets_bp, under /placements -----------------------------------------------------

def factsheet_page(institution: PartnerInstitution):
    sheet = factsheets.factsheet_of(institution.id)
    form = FactsheetForm(obj=sheet) if request.method == "GET" else FactsheetForm()
    status = 200
    if form.validate_on_submit():
        outcome = attempt(lambda: factsheets.save_factsheet(institution, form.values(), by=current_user), form=form,
                          success=_("The factsheet has been saved. Students see it when they choose destinations."))
        if outcome:
            return redirect(url_for("factsheets.partner", institution_id=institution.id))
        status = outcome.status
    elif form.is_submitted():
        status = 422
    return render_template("partners/factsheet_form.html", institution=institution, form=form,
                           sheet=sheet), status


@factsheets_bp.route("/factsheet", methods=["GET", "POST"])
@role_required(Role.partner)
def factsheet():
    institution = scoped_first_or_404(select(PartnerInstitution).where(
        PartnerInstitution.id == (current_user.institution_id or -1)))
    return factsheet_page(institution)


@factsheets_bp.route("/partners/<int:institution_id>/factsheet", methods=["GET", "POST"])
@staff_required
def edit_factsheet(institution_id):
    return factsheet_page(scoped_first_or_404(select(PartnerInstitution).where(
        PartnerInstitution.id == institution_id)))


@factsheets_bp.get("/partners/<int:institution_id>")
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
    return render_template("partners/partner.html", institution=institution,
                           sheet=factsheets.factsheet_of(institution.id), places=places, can_edit=can_edit)


nav_item("factsheets.factsheet", _l("Factsheet"), roles=[Role.partner], order=30,
         match_prefix="/placements/factsheet")
