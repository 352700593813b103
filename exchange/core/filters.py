"""Template filters and globals shared by every page.

The `datetime`, `date` and `decimal` filters remember their texts per value, format, locale and time zone in
each process: Babel's formatting was a large part of rendering a list (a pipeline page formats ~75 values),
and the same scores and dates come back on every page. The key holds the value's repr, since values that
compare equal may be written differently (Decimal("7.5") == 7.5 == Decimal("7.50")).
"""
from functools import lru_cache

from . import reference
from .i18n import (LANGUAGE_NAMES, country_name, current_locale, current_timezone, format_date, format_datetime,
                   format_decimal, format_time, gettext, language_name)


def _format_when(value, fmt: str) -> str:
    if fmt != "medium":
        return format_datetime(value, fmt)
    pattern = str(current_locale().datetime_formats["medium"])
    return pattern.replace("{1}", format_date(value, "medium")).replace("{0}", format_time(value, "short"))


_FORMATTERS = {"datetime": _format_when, "date": format_date, "decimal": format_decimal}


@lru_cache(maxsize=16384)
def _remembered(kind: str, value, key: str, fmt, locale, tzinfo) -> str:
    """The formatter's text; `locale` and `tzinfo` are the request's (the formatters read them themselves)."""
    return _FORMATTERS[kind](value, fmt)


def _text(kind: str, value, fmt) -> str:
    try:
        return _remembered(kind, value, repr(value), fmt, current_locale(), current_timezone())
    except TypeError:  # an unhashable value: formatted every time
        return _FORMATTERS[kind](value, fmt)


def format_when(value, fmt: str = "medium") -> str:
    """A date and time in the viewer's language and time zone; "medium" is the date with hours and minutes
    (no seconds), e.g. "Dec 4, 2026, 4:00 PM" / "4 dic 2026, 16:00"."""
    return _text("datetime", value, fmt) if value else ""


def date_filter(value, fmt: str = "medium") -> str:
    return _text("date", value, fmt) if value else ""


def decimal_filter(value, fmt: str | None = None) -> str:
    return _text("decimal", value, fmt) if value is not None else ""


def eqf_filter(level) -> str:
    """A study level in short, as the page's language writes it: "EQF 7" (French: "CEC 7")."""
    return gettext("EQF %(level)s", level=int(level)) if level not in (None, "") else ""


def eqf_levels_filter(levels) -> str:
    """Study levels in short, in order given: [6, 7] or "6,7" (as stored) → "EQF 6, EQF 7"."""
    if isinstance(levels, str):
        levels = [level for level in levels.split(",") if level.strip()]
    return ", ".join(eqf_filter(level) for level in levels)


def init_app(app):
    app.jinja_env.filters.update(
        datetime=format_when,
        date=date_filter,
        decimal=decimal_filter,
        eqf=eqf_filter,
        eqf_levels=eqf_levels_filter,
        country=country_name,
        language=language_name,
        isced=reference.isced_label,
        academic_year=reference.academic_year_label,
    )
    from .forms import EmptyForm
    from .navigation import items_for
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, nav_items=items_for, EmptyForm=EmptyForm,
                                 get_locale=current_locale, get_timezone=current_timezone,
                                 short_place_label=reference.short_place_label)
    from . import urls
    urls.init_app(app)
