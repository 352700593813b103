"""core.i18n.format_datetime: one way to write a date and time, for the viewer or (in mail) for a given user."""
from datetime import datetime, timezone
from types import SimpleNamespace

from exchange.core.i18n import format_datetime, zone_of

AT = datetime(2026, 7, 1, 10, 30, tzinfo=timezone.utc)


def test_for_a_user_it_uses_their_zone_and_language(app):
    with app.app_context():
        spanish = SimpleNamespace(timezone="America/Bogota", locale="es")
        assert format_datetime(AT, user=spanish) == "1 jul 2026, 5:30:00"
        english = SimpleNamespace(timezone="Europe/Madrid", locale=None)  # no language: the office's (English)
        assert format_datetime(AT, "short", user=english) == "7/1/26, 12:30\u202fPM"


def test_an_unknown_zone_is_the_office_one_and_no_value_is_empty(app):
    with app.app_context():
        assert zone_of(SimpleNamespace(timezone="Mars/Olympus")).key == app.config["BABEL_DEFAULT_TIMEZONE"]
        assert format_datetime(None) == "" and format_datetime(None, user=SimpleNamespace()) == ""
