"""Times in the viewer's zone and language: the cached formatting gives what Babel gives."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton

from exchange.events import display


def test_cached_formatting_gives_what_babel_gives():
    start = datetime(2026, 10, 14, 16, 0, tzinfo=timezone.utc)
    end = start.replace(hour=19)
    madrid, new_york, en, es = ZoneInfo("Europe/Madrid"), ZoneInfo("America/New_York"), Locale("en"), Locale("es")

    def expected_when(tz, locale):
        day = format_skeleton("yMMMEd", start, tzinfo=tz, locale=locale)
        return f"{day}, {format_interval(start, end, 'hm' if locale is en else 'Hm', tzinfo=tz, locale=locale)}"
    for _ in range(2):  # the second round is answered from the caches
        assert display.when(start, end, madrid, en) == expected_when(madrid, en)
        assert display.when(start, end, new_york, en) == expected_when(new_york, en) != expected_when(madrid, en)
        assert display.when(start, end, madrid, es) == expected_when(madrid, es)
        assert display.when(start, start.replace(day=16), madrid, es).startswith("mié, 14 oct 2026, 18:00 – ")
        assert display.short_time(start, madrid, es) == "18:00"
        assert display.local_part(start, "E", new_york, en) == format_skeleton("E", start, tzinfo=new_york, locale=en)
        assert display.long_date(start.date(), es) == format_date(start.date(), "full", locale=es)
