"""Placements' pages, by audience: coordinators (``runs``: calls and runs; ``nominations``), ``student`` and
partner universities (``incoming``), all on the blueprint ``bp`` (endpoints ``placements.*``); here the
shared look-ups, the home page panel, navigation and `flask placements expire-offers`."""
import click
from flask import abort
from ...core.i18n import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...applications.models import Call
from ...auth.models import STAFF, Role
from ...auth.permissions import scoped_first_or_404
from ...core.dashboard import Panel, panel
from ...core.forms import EmptyForm
from ...core.navigation import nav_item
from ...extensions import db
from .. import bp, panels
from .. import offers as offer_services
from ..labels import TemplateLabels
from ..models import MatchingRun

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


@bp.cli.command("expire-offers")
def expire_offers_command():
    """Expire the offers whose deadline has passed (their seats go to the next round)."""
    n = offer_services.expire_offers()
    db.session.commit()
    click.echo(f"{n} offers expired.")


from . import incoming, nominations, runs, student  # noqa: E402,F401  (the routes)
