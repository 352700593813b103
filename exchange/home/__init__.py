"""The home page (landing page or dashboard), the language switcher and the health check.

The blueprint keeps the name ``core`` it had when these pages lived in the core package, so the endpoints
(``core.index``, ``core.set_language``, ``core.healthz``) and every ``url_for`` stay as they were.
"""
from flask import Blueprint

bp = Blueprint("core", __name__)
