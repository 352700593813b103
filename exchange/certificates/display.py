"""Words and dates on certificates, in the language the certificate is rendered in (force_locale)."""
from decimal import Decimal, InvalidOperation

from babel.dates import format_interval

from ..applications.labels import PERIOD_LABELS
from ..applications.models import CallPeriod
from ..core.i18n import current_locale, format_date, format_decimal
from ..core.reference import EQF_LEVELS
from ..events.models import CATEGORY_LABELS
from ..partners.models import MobilityType


def date_range(start, end) -> str:
    """'12 March 2026', or '12–14 March 2026' / '12–14 de marzo de 2026' in the current locale."""
    if not start:
        return ""
    if not end or end == start:
        return format_date(start, "long")
    locale = current_locale()
    if (start.year, start.month) == (end.year, end.month) and "yMMMMd" in locale.interval_formats:
        return format_interval(start, end, skeleton="yMMMMd", locale=locale)
    return f"{format_date(start, 'long')} – {format_date(end, 'long')}"


def as_date(value):
    """A date from the ISO string stored in a certificate's details (None stays None)."""
    from datetime import date
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def size_class(text: str | None, long: int, very_long: int) -> str:
    """A CSS class that shrinks long names and titles so that they stay on the page."""
    length = len(text or "")
    return "very-long" if length > very_long else "long" if length > long else ""


def period_label(code: str | None) -> str:
    if not code:
        return ""
    try:
        return str(PERIOD_LABELS[CallPeriod(code)])
    except (ValueError, KeyError):
        return code


def mobility_label(code: str | None) -> str:
    if not code:
        return ""
    try:
        return MobilityType(code).label
    except ValueError:
        return code


def category_label(code: str | None) -> str:
    if not code:
        return ""
    label = CATEGORY_LABELS.get(code)
    return str(label) if label is not None else ""


def eqf_label(level) -> str:
    try:
        return str(EQF_LEVELS[int(level)])
    except (KeyError, TypeError, ValueError):
        return ""


def credits(value) -> str:
    try:
        return format_decimal(Decimal(str(value)), "#,##0.#")
    except (InvalidOperation, ValueError):
        return ""


TEMPLATE_HELPERS = {
    "date_range": date_range, "size_class": size_class, "period_label": period_label,
    "mobility_label": mobility_label, "category_label": category_label, "eqf_label": eqf_label,
    "credits": credits, "as_date": as_date,
}
