"""Language and time-zone selection, and locale-aware names of countries and languages."""
from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from ..extensions import babel

LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI, background jobs: callers use force_locale when it matters
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and user.locale in languages:
        return user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and user.timezone:
        return user.timezone
    return None  # BABEL_DEFAULT_TIMEZONE


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories="translations")
    app.jinja_env.add_extension("jinja2.ext.do")


def current_locale() -> Locale:
    return get_locale() or Locale("en")


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return current_locale().territories.get(code.upper(), code)


def language_name(code: str | None) -> str:
    if not code:
        return ""
    name = current_locale().languages.get(code.lower(), code)
    return name[:1].upper() + name[1:]


def country_choices() -> list[tuple[str, str]]:
    from .reference import COUNTRY_CODES
    names = current_locale().territories
    return sorted(((c, names.get(c, c)) for c in COUNTRY_CODES), key=lambda item: item[1])


def language_choices() -> list[tuple[str, str]]:
    from .reference import LANGUAGE_CODES
    return sorted(((c, language_name(c)) for c in LANGUAGE_CODES), key=lambda item: item[1])
