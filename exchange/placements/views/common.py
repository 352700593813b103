"""What the placements pages share: look-ups narrowed to what the user may see, the action form check, and
offers expiring when anyone looks."""
from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...auth.permissions import scoped_first_or_404
from ...core.forms import EmptyForm
from ...extensions import db
from .. import offers as offer_services
from ..models import MatchingRun

PER_PAGE = 50


def check_action_form() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


# --- Look-ups, narrowed to what the user may see ------------------------------------------------------

def get_run(run_id: int) -> MatchingRun:
    return scoped_first_or_404(select(MatchingRun).where(MatchingRun.id == run_id)
                               .options(joinedload(MatchingRun.call), joinedload(MatchingRun.created_by),
                                        joinedload(MatchingRun.published_by)))


def expire_due_offers(call) -> None:
    """Offers past their deadline expire when anyone looks (besides `flask placements expire-offers`)."""
    if offer_services.expire_due_offers_of(call):
        db.session.commit()
