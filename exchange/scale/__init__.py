"""The scale data set: `flask seed-scale` fills the database with tens of thousands of generated rows
(partners, agreements, students, a large call with reviewed applications, events with registrations) to
measure and tune the pages at the size of a large university. See exchange/scale/seed.py and bench/."""
from flask import Blueprint

bp = Blueprint("scale", __name__, cli_group=None)

from . import cli  # noqa: E402,F401  (registers the command on bp.cli)
