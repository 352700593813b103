"""Placements' pages, by audience: coordinators (``runs``: calls and runs; ``nominations``), ``student`` and
partner universities (``incoming``), all on the blueprint ``bp`` (endpoints ``placements.*``); here the
shared look-ups, the factsheets, the home page panels, navigation and `flask placements expire-offers`."""
import click
from flask import abort, flash, redirect, render_template, request, url_for
from ...core.i18n import gettext as _
from ...core.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...applications import services as app_services
from ...applications.models import Call, CallPlace
from ...auth.models import STAFF, Role
from ...auth.permissions import role_required, scoped_first_or_404, staff_required
from ...core.dashboard import Panel, panel
from ...core.errors import WorkflowError
from ...core.forms import EmptyForm, put_error
from ...core.navigation import nav_item
from ...core.types import utcnow
from ...extensions import db
from ...partners import factsheets
from ...partners.models import Agreement, CooperationCondition, PartnerInstitution
from .. import bp, panels
from .. import offers as offer_services
from ..forms import FactsheetForm
from ..labels import TemplateLabels
from ..models import MatchingRun, PartnerFactsheet

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


def expire_due_offers(call) -> None:
    """Offers past their deadline expire when anyone looks (besides `flask placements expire-offers`)."""
    if offer_services.expire_due_offers_of(call):
        db.session.commit()


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


from . import incoming, nominations, runs, student  # noqa: E402,F401  (the routes)
