from flask import Blueprint

bp = Blueprint("applications", __name__)

from . import views  # noqa: E402,F401
