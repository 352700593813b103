"""Times shown in the viewer's (or an email recipient's) time zone and language.

The formatting functions are pure (the same instant, zone and language always give the same text) and Babel
takes 20-40 µs for each, so their results are kept in small per-process LRU caches: a list or a month view
formats the same few dozen events for every visitor.
"""
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton
from flask import current_app
from ..core.i18n import current_locale, current_timezone, locale_of, zone_of
from ..core.types import to_local, to_utc


def zone(name: str | None = None) -> ZoneInfo:
    """A ZoneInfo: the given name, else the viewer's zone (profile or office default)."""
    if name is None:
        current = current_timezone()
        name = str(current) if current is not None else current_app.config["BABEL_DEFAULT_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def viewer_locale() -> Locale:
    return current_locale()


def to_local_naive(value: datetime | None, tz: ZoneInfo | None = None) -> datetime | None:
    """UTC → wall-clock time in the zone, without tzinfo (what a datetime-local input shows)."""
    return to_local(value, tz or zone())


def from_local_naive(value: datetime | None, tz: ZoneInfo | None = None) -> datetime | None:
    """Wall-clock time typed in the zone → aware UTC."""
    return to_utc(value, tz or zone())


def _hour_skeleton(locale: Locale) -> str:
    return "hm" if "h" in locale.time_formats["short"].pattern else "Hm"


def when(start: datetime, end: datetime, tz: ZoneInfo | None = None, locale: Locale | None = None) -> str:
    """'Wed, Oct 14, 2026, 6:00 – 9:00 PM' on one day, 'Oct 14, 2026, 6:00 PM – Oct 16, 2026, 9:00 PM' across days."""
    return _when(start, end, tz or zone(), locale or viewer_locale())


@lru_cache(maxsize=4096)
def _when(start: datetime, end: datetime, tz: ZoneInfo, locale: Locale) -> str:
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        day = format_skeleton("yMMMEd", local_start, tzinfo=tz, locale=locale)
        hours = format_interval(local_start, local_end, _hour_skeleton(locale), tzinfo=tz, locale=locale)
        return f"{day}, {hours}"
    return f"{_day_and_time(local_start, tz, locale)} – {_day_and_time(local_end, tz, locale)}"


def _day_and_time(value: datetime, tz: ZoneInfo, locale: Locale) -> str:
    day = format_skeleton("yMMMEd", value, tzinfo=tz, locale=locale)
    return f"{day}, {format_skeleton(_hour_skeleton(locale), value, tzinfo=tz, locale=locale)}"


def when_for(event, user) -> str:
    """The event's time as an email recipient reads it: their zone and language."""
    tz = zone_of(user)
    return f"{when(event.starts_at, event.ends_at, tz, Locale.parse(locale_of(user)))} ({tz.key})"


def short_time(value: datetime, tz: ZoneInfo | None = None, locale: Locale | None = None) -> str:
    """Hours and minutes in the zone: '6:00 PM', '18:00'."""
    locale = locale or viewer_locale()
    return local_part(value, _hour_skeleton(locale), tz, locale)


def local_part(value: datetime, skeleton: str, tz: ZoneInfo | None = None, locale: Locale | None = None) -> str:
    """A part of a time in the zone, by Babel skeleton: 'MMM' → 'Oct', 'E' → 'Wed'."""
    return _local_part(value, skeleton, tz or zone(), locale or viewer_locale())


@lru_cache(maxsize=4096)
def _local_part(value: datetime, skeleton: str, tz: ZoneInfo, locale: Locale) -> str:
    return format_skeleton(skeleton, value, tzinfo=tz, locale=locale)


@lru_cache(maxsize=1024)
def long_date(day: date, locale: Locale) -> str:
    """The day in full: 'Wednesday, October 14, 2026' (what the `date('full')` filter shows)."""
    return format_date(day, "full", locale=locale)
