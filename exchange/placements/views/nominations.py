"""Coordinators: nominations."""
from flask import abort, flash, redirect, render_template, request, url_for
from ...core.i18n import gettext as _
from ...core.i18n import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...applications import services as app_services
from ...applications.access import get_call_or_404
from ...applications.models import Application, Call
from ...auth.permissions import scoped_first_or_404, staff_required
from ...core.actions import attempt
from ...core.forms import EmptyForm
from .. import bp, queries
from .. import nominations as nomination_services
from .. import offers as offer_services
from ..forms import CancelNominationForm, NominateForm
from ..models import Nomination
from .common import PER_PAGE, check_action_form


def render_nominations(call: Call, status: int = 200):
    page = queries.placed_page(call, per_page=PER_PAGE)
    nominations = nomination_services.nominations_by_application(a.id for a in page.items)
    return render_template("placements/nominations.html", call=call, page=page, nominations=nominations,
                           counts=queries.nomination_counts(call), action_form=EmptyForm(),
                           to_nominate=queries.nominable_count(call)), status


@bp.get("/calls/<int:call_id>/nominations")
@staff_required
def nominations(call_id):
    return render_nominations(get_call_or_404(call_id))


@bp.post("/calls/<int:call_id>/nominations")
@staff_required
def nominate_many(call_id):
    call = get_call_or_404(call_id)
    check_action_form()
    everyone = request.form.get("all") == "1"
    try:
        ids = [int(v) for v in request.form.getlist("ids")]
    except ValueError:
        abort(400)
    if not everyone and not ids:
        flash(_("Tick the students to nominate first."), "error")
        return render_nominations(call, 422)
    outcome = attempt(lambda: nomination_services.nominate_many(call, by=current_user,
                                                                application_ids=None if everyone else ids),
                      success=lambda result: None if not result.done else ngettext(
                          "%(num)s student nominated to their partner university.",
                          "%(num)s students nominated to their partner universities.", len(result.done)))
    if not outcome:
        return render_nominations(call, outcome.status)
    for application, message in outcome.value.refused:
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
        outcome = attempt(lambda: nomination_services.nominate(application, by=current_user,
                                                               arrival=form.planned_arrival.data,
                                                               departure=form.planned_departure.data, notify=True),
                          form=form, success=lambda _result: _("%(name)s has been nominated to %(partner)s.",
                                                               name=application.full_name,
                                                               partner=application.placed_place.partner.name))
        if outcome:
            return redirect(url_for("placements.nominations", call_id=application.call_id))
        status = outcome.status
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
        outcome = attempt(lambda: nomination_services.cancel_nomination(nomination, by=current_user,
                                                                        reason=form.reason.data),
                          form=form, field="reason", success=_("The nomination has been cancelled."))
        if outcome:
            return redirect(url_for("placements.nominations", call_id=nomination.application.call_id))
        status = outcome.status
    elif form.is_submitted():
        status = 422
    return render_template("placements/cancel_nomination.html", nomination=nomination, form=form), status
