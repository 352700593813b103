"""Template filters and globals shared by every page."""
from . import reference
from .i18n import (LANGUAGE_NAMES, country_name, current_locale, current_timezone, format_date, format_datetime,
                   format_decimal, format_time, language_name)


def format_when(value, fmt: str = "medium") -> str:
    """A date and time in the viewer's language and time zone; "medium" is the date with hours and minutes
    (no seconds), e.g. "Dec 4, 2026, 4:00 PM" / "4 dic 2026, 16:00"."""
    if not value:
        return ""
    if fmt != "medium":
        return format_datetime(value, fmt)
    pattern = str(current_locale().datetime_formats["medium"])
    return pattern.replace("{1}", format_date(value, "medium")).replace("{0}", format_time(value, "short"))


def init_app(app):
    app.jinja_env.filters.update(
        datetime=format_when,
        date=lambda value, fmt="medium": format_date(value, fmt) if value else "",
        decimal=lambda value, fmt=None: format_decimal(value, fmt) if value is not None else "",
        country=country_name,
        language=language_name,
        isced=reference.isced_label,
        academic_year=reference.academic_year_label,
    )
    from .forms import EmptyForm
    from .navigation import items_for
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, nav_items=items_for, EmptyForm=EmptyForm,
                                 get_locale=current_locale, get_timezone=current_timezone)
