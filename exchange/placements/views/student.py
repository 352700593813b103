"""The student: the outcome of the matching, the answer to an offer, the documents shared; a call's
destinations."""
from flask import flash, redirect, render_template, request, url_for
from ...core.i18n import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...applications import services as app_services
from ...applications.access import get_call_or_404, get_own_application
from ...applications.models import Application
from ...auth.models import STAFF, Role
from ...auth.permissions import role_required, scoped_first_or_404
from ...core.actions import attempt
from ...core.types import utcnow
from ...extensions import db
from ...partners.models import PartnerFactsheet
from .. import bp, student
from .. import offers as offer_services
from ..forms import RespondForm, SharingForm
from ..models import Offer
from .common import expire_due_offers


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
    if answer == "accept" and not form.documents.data:
        done = _("You have accepted the place. Choose below which documents the partner university may see; "
                 "the office will then nominate you.")
    elif answer == "accept":
        done = _("You have accepted the place. The office will nominate you to the partner university.")
    else:
        done = _("You have declined the place.")
    outcome = attempt(lambda: offer_services.respond_to_offer(offer, accept=answer == "accept", by=current_user,
                                                              shared=form.documents.data), form=form, success=done)
    if not outcome:
        return render_offer(application, respond_form=form, status=outcome.status)
    return redirect(url_for("placements.offer", application_id=application.id))


@bp.post("/my/<int:application_id>/documents")
@role_required(Role.student)
def sharing(application_id):
    application = _student_application(application_id)
    form = SharingForm(application=application)
    if not form.validate_on_submit():
        return render_offer(application, sharing_form=form, status=422)
    outcome = attempt(lambda: offer_services.set_shared_documents(application, form.documents.data, by=current_user),
                      form=form, success=_("Your choice of documents to share has been saved."))
    if not outcome:
        return render_offer(application, sharing_form=form, status=outcome.status)
    return redirect(url_for("placements.offer", application_id=application.id))


@bp.get("/calls/<int:call_id>/destinations")
@role_required(Role.student, *STAFF)
def destinations(call_id):
    call = get_call_or_404(call_id)
    places = app_services.load_places(call)
    with_sheet = set(db.session.scalars(select(PartnerFactsheet.institution_id).where(
        PartnerFactsheet.institution_id.in_([p.partner.id for p in places]))))
    return render_template("placements/destinations.html", call=call, places=places, with_sheet=with_sheet)
