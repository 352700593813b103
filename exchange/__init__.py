"""The exchange platform: international student and cultural exchange programmes."""
import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import DEVELOPMENT_SECRET_KEY, Config, secret_key_problem
from .extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config_class: type = Config, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    app.config.from_object(config_class)
    app.config.update(overrides)
    check_secret_key(app)
    if app.config.get("TRUSTED_PROXIES"):
        # The client's address and scheme as the proxies saw them (the last n entries of X-Forwarded-For and
        # X-Forwarded-Proto; anything before them came from the client and is ignored). The Host header is
        # passed on by the proxy itself, and e-mailed links use BASE_URL, so X-Forwarded-Host is not trusted.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
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

    # Each package's views attach their routes to its blueprint when imported.
    from .admin import views as admin_views
    from .applications import views as applications_views
    from .auth import views as auth_views
    from .certificates import views as certificates_views
    from .events import views as events_views
    from .home import views as home_views
    from .jobs import views as jobs_views
    from .partners import views as partners_views
    from .placements import views as placements_views
    for blueprint, prefix in [
        (home_views.bp, None),
        (auth_views.bp, "/auth"),
        (admin_views.bp, "/admin"),
        (partners_views.bp, "/partners"),
        (partners_views.factsheets_bp, "/placements"),
        (applications_views.bp, "/applications"),
        (events_views.bp, "/events"),
        (jobs_views.bp, "/jobs"),
        (certificates_views.bp, "/certificates"),
        (certificates_views.verify_bp, None),
        (placements_views.bp, "/placements"),
    ]:
        app.register_blueprint(blueprint, url_prefix=prefix)

    # How one domain follows another: each connects its receivers to exchange.signals, once.
    from .certificates.services import connect_signals as certificates_follow
    from .events.services import connect_signals as events_follow
    from .placements import connect_signals as placements_follow
    for connect_signals in [
        certificates_follow,
        events_follow,
        placements_follow,
    ]:
        connect_signals()

    from . import cli
    cli.init_app(app)
    return app


class InsecureConfiguration(RuntimeError):
    """The app would run with settings that let anyone sign in as anyone."""


def check_secret_key(app: Flask) -> None:
    """Refuse to serve outside debug mode and tests without a long, private SECRET_KEY: with a known or guessable
    key anyone can sign a session cookie or a password-reset link."""
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem is None:
        return
    if app.debug or app.testing:
        app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
        return
    raise InsecureConfiguration(
        f"{problem}. The app signs sessions and password-reset links with it, so it will not start without a "
        "private random key of at least 32 characters. Make one with\n"
        "    python -c 'import secrets; print(secrets.token_hex(32))'\n"
        "and set it as SECRET_KEY in the environment (the same value for every process of the site). "
        "For development, `make run` makes one for you, or run `flask --debug ...`.")
