"""The home page, the language switcher and the health check (blueprint ``core``, mounted at /)."""
from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from ..auth.permissions import public
from ..auth.views import safe_next
from ..core.dashboard import panels_for
from ..extensions import db
from . import bp


@bp.get("/")
@public
def index():
    if not current_user.is_authenticated:
        return render_template("home/landing.html")
    return render_template("home/dashboard.html", panels=panels_for(current_user))


@bp.post("/language")
@public
def set_language():
    """The language switcher: saved on the account when signed in, in the session otherwise."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("core.index"), code=303)


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # the point is to report any failure
        current_app.logger.error("Health check failed: %s", exc)
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
