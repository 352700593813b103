"""The exchange platform: international student and cultural exchange programmes."""
import logging
import os

from flask import Flask

from .config import Config
from .extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config_class: type = Config, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "exchange.db")
    app.config.setdefault("UPLOAD_FOLDER", None)
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    if not app.config.get("MAIL_FOLDER"):
        app.config["MAIL_FOLDER"] = os.path.join(app.instance_path, "mail")
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    from .core import database, runtime
    database.init_app(app)
    runtime.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    if app.config.get("REDIS_URL") and app.config.get("RATELIMIT_STORAGE_URI") == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter.init_app(app)

    from .core import i18n, security, errors, filters, uploads
    i18n.init_app(app)
    uploads.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    filters.init_app(app)

    from . import admin, applications, auth, certificates, core, events, jobs, partners, placements, scale
    for blueprint, prefix in [
        (core.bp, None),
        (auth.bp, "/auth"),
        (admin.bp, "/admin"),
        (partners.bp, "/partners"),
        (applications.bp, "/applications"),
        (events.bp, "/events"),
        (jobs.bp, "/jobs"),
        (certificates.bp, "/certificates"),
        (certificates.verify_bp, None),
        (scale.bp, None),
        (placements.bp, "/placements"),
    ]:
        app.register_blueprint(blueprint, url_prefix=prefix)

    from . import cli
    cli.init_app(app)
    return app
