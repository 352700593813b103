"""Template filters and globals shared by every page."""
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone

from . import reference
from .i18n import country_name, language_name, LANGUAGE_NAMES


def init_app(app):
    app.jinja_env.filters.update(
        datetime=lambda value, fmt="medium": format_datetime(value, fmt) if value else "",
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
                                 get_locale=get_locale, get_timezone=get_timezone)
