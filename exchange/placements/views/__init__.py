"""Placements' pages, by audience: coordinators (``runs``: calls and runs; ``nominations``), ``student`` and
partner universities (``incoming``), all on the blueprint ``bp`` (endpoints ``placements.*``), sharing
``common``; here the home page panel, navigation and `flask placements expire-offers`."""
import click

from ...auth.models import STAFF, Role
from ...core.dashboard import Panel, panel
from ...core.i18n import lazy_gettext as _l
from ...core.navigation import nav_item
from ...extensions import db
from .. import bp, panels
from .. import offers as offer_services
from ..labels import TemplateLabels
from . import incoming, nominations, runs, student  # noqa: F401  (the routes)

bp.add_app_template_global(TemplateLabels, "placement_labels")

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
