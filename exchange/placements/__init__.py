"""Placements: matching runs, offers, nominations and the partner universities' portal.

The pure algorithm lives in ``exchange.matching``; this package turns the database into its plain input,
stores the result, publishes offers, and carries the nominations to the receiving partners.
``flask placements expire-offers`` (this blueprint's CLI group) expires offers past their deadline.
"""
from flask import Blueprint

bp = Blueprint("placements", __name__, cli_group="placements")

from . import views  # noqa: E402,F401
