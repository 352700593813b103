"""Language and time-zone selection, translation, and locale-aware names of countries and languages.

The app translates with the functions of this module rather than Flask-Babel's own: they keep the request's
translations, locale and time zone where Flask-Babel caches them (``g._flask_babel``: ``babel_translations``,
``babel_locale``, ``babel_tzinfo``, which ``force_locale`` and ``refresh`` reset), but read them back with one
context-variable lookup. Flask-Babel's ``gettext`` resolves the application context, the domain, the locale
and its cache on every call, which cost several milliseconds on a page of a few hundred strings.
"""
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates, numbers, support
from flask import current_app, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import get_domain, get_locale, get_timezone
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

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
    # Templates translate through the functions below, one call each. Jinja's own newstyle callables (which
    # Flask-Babel installs) go through three: `_` resolves `gettext` in the context, which wraps the translating
    # function, each step by Context.call; a page's few hundred `_()` spent more there than translating.
    app.jinja_env.newstyle_gettext = True  # what `{% trans %}` compiles to: the functions format their text
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext,
                                 pgettext=_template_pgettext, npgettext=_template_npgettext)


# Templates' gettext, with the semantics of Jinja's "newstyle" gettext: the text is Markup where the template
# autoescapes, and always a format string (`%%` for a percent sign), formatted with the keyword arguments.

def _template_text(eval_ctx, text: str, variables: dict):
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables):
    return _template_text(eval_ctx, translations().ugettext(string), variables)


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, **variables):
    variables.setdefault("num", num)
    return _template_text(eval_ctx, translations().ungettext(singular, plural, num), variables)


@pass_eval_context
def _template_pgettext(eval_ctx, context: str, string: str, **variables):
    variables.setdefault("context", context)
    return _template_text(eval_ctx, translations().upgettext(context, string), variables)


@pass_eval_context
def _template_npgettext(eval_ctx, context: str, singular: str, plural: str, num: int, **variables):
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return _template_text(eval_ctx, translations().unpgettext(context, singular, plural, num), variables)


def locale_of(user) -> str:
    """The language to write to `user` in (mail, feeds, job messages): theirs, or the default one."""
    return getattr(user, "locale", None) or current_app.config["BABEL_DEFAULT_LOCALE"]


_NULL_TRANSLATIONS = support.NullTranslations()


def _babel_context():
    """Flask-Babel's per-request cache (a namespace on `g`), or None outside an application context or
    before Flask-Babel made it."""
    app_context = _cv_app.get(None)
    return None if app_context is None else app_context.g.__dict__.get("_flask_babel")


def translations() -> support.NullTranslations:
    """The current request's translations (the catalogue of its locale)."""
    context = _babel_context()
    found = getattr(context, "babel_translations", None)
    if found is None:
        if _cv_app.get(None) is None:
            return _NULL_TRANSLATIONS
        found = get_domain().get_translations()
        _babel_context().babel_translations = found
    return found


def gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables) -> str:
    text = translations().upgettext(context, string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> LazyString:
    return LazyString(pgettext, context, string, **variables)


def current_locale() -> Locale:
    """The request's locale (English outside a request)."""
    found = getattr(_babel_context(), "babel_locale", None)
    return found or get_locale() or Locale("en")


def current_timezone():
    """The viewer's time zone (a tzinfo; the default zone outside a request)."""
    found = getattr(_babel_context(), "babel_tzinfo", None)
    return found or get_timezone()


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return current_locale().territories.get(code.upper(), code)


def language_name(code: str | None) -> str:
    if not code:
        return ""
    return sentence_case(current_locale().languages.get(code.lower(), code))


def sentence_case(text: str) -> str:
    """The first letter upper-case, the rest as CLDR writes it: 'noviembre de 2026' → 'Noviembre de 2026',
    'español' → 'Español' (CSS text-transform: capitalize would write 'Noviembre De 2026')."""
    return text[:1].upper() + text[1:]


def _aware(value):
    from datetime import timezone
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def zone_of(user) -> ZoneInfo:
    """The time zone to write to `user` in (mail, when there is no viewer): theirs, or the office's (also for a
    name this system does not know)."""
    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    try:
        return ZoneInfo(getattr(user, "timezone", None) or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def format_datetime(value, fmt: str = "medium", user=None) -> str:
    """A date and time in the viewer's language and time zone, or in `user`'s (:func:`locale_of`,
    :func:`zone_of`: for email, which has no viewer). Naive values are UTC; None is ''."""
    if value is None:
        return ""
    if user is not None:
        return dates.format_datetime(_aware(value), fmt, tzinfo=zone_of(user), locale=locale_of(user))
    return dates.format_datetime(_aware(value), fmt, tzinfo=current_timezone(), locale=current_locale())


def format_date(value, fmt: str = "medium") -> str:
    """A date in the viewer's language; a date-time is first moved to the viewer's time zone."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(current_timezone()).date()
    return dates.format_date(value, fmt, locale=current_locale())


def format_time(value, fmt: str = "short") -> str:
    return dates.format_time(_aware(value), fmt, tzinfo=current_timezone(), locale=current_locale())


def format_decimal(value, fmt: str | None = None) -> str:
    return numbers.format_decimal(value, fmt, locale=current_locale())
