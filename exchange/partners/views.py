"""Partner institutions and agreements (coordinators)."""
from flask_babel import lazy_gettext as _l

from ..auth.models import STAFF
from ..core.navigation import nav_item
from . import bp  # noqa: F401

nav_item("partners.index", _l("Partners"), roles=STAFF, order=20, match_prefix="/partners/institutions")
