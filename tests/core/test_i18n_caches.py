"""Per-process caches of language-dependent texts: the `decimal` and `datetime` filters remember their texts and
write exactly what Babel writes, in the viewer's language and time zone, however often (and in whichever
language) a value was formatted before; WTForms' own messages come from a catalogue loaded once per language."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask_login import login_user

from exchange.core import filters as core_filters
from exchange.auth.models import Role

VALUES = [Decimal("7.5"), Decimal("7.50"), Decimal("7.55"), Decimal("7.45"), Decimal("10.00"), Decimal("0"), 7.5,
          Decimal("1234.5")]
WHEN = [datetime(2026, 3, 29, 0, 30), datetime(2026, 10, 25, 1, 30), datetime(2026, 12, 31, 23, 59, 59),
        datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)]


def expected_and_got(app, fmt_decimal, fmt_date):
    """(Babel's texts, formatted now; the filters' texts, maybe remembered); called in a fresh application
    context, where Flask-Babel has not yet cached a locale and time zone."""
    filters = app.jinja_env.filters
    formatters = core_filters._FORMATTERS
    expected = ([formatters["decimal"](v, fmt_decimal) for v in VALUES]
                + [formatters["datetime"](w, fmt_date) for w in WHEN])
    got = [filters["decimal"](v, fmt_decimal) for v in VALUES] + [filters["datetime"](w, fmt_date) for w in WHEN]
    return expected, got


@pytest.mark.parametrize("fmt_decimal", ["0.00", "0.0", None])
@pytest.mark.parametrize("fmt_date", ["short", "medium"])
def test_same_text_as_the_filters_in_every_language(app, db, fmt_decimal, fmt_date):
    seen = set()
    for _round in range(2):  # the second round reads the cache
        for language in ("en", "es", "fr", "en"):
            with app.app_context(), app.test_request_context(headers={"Accept-Language": language}):
                expected, got = expected_and_got(app, fmt_decimal, fmt_date)
                assert got == expected, language
                seen.add(tuple(got))
    assert len(seen) >= 2  # the languages do write them differently


def test_the_viewers_time_zone(app, db, make_user):
    users = [make_user(Role.coordinator, timezone="America/New_York"), make_user(Role.coordinator,
                                                                                  timezone="Asia/Tokyo")]
    texts = []
    for user in users + users:
        with app.app_context(), app.test_request_context():
            login_user(user)
            expected, got = expected_and_got(app, "0.0", "short")
            assert got == expected
            texts.append(got)
    assert texts[0] != texts[1] and texts[:2] == texts[2:]


def test_empty_values(app, db):
    with app.test_request_context():
        filters = app.jinja_env.filters
        assert filters["decimal"](None, "0.0") == "" and filters["datetime"](None, "short") == ""
        assert filters["decimal"](0, "0.0") == "0.0" and filters["date"](None) == ""


def test_wtforms_own_messages_in_the_request_language(app, db):
    """AppForm loads WTForms' catalogue once per language and still answers in each request's language."""
    from werkzeug.datastructures import MultiDict
    from wtforms import IntegerField

    from exchange.core.forms import AppForm

    class Numbers(AppForm):
        class Meta:
            csrf = False
        n = IntegerField("n")

    said = []
    for language in ("fr", "es", "fr", "en"):
        with app.app_context(), app.test_request_context(headers={"Accept-Language": language}):
            form = Numbers(MultiDict({"n": "abc"}))
            assert not form.validate()
            said.append(form.n.errors[0])
    assert said == ["N'est pas un entier valide.", "No es un valor entero válido.", "N'est pas un entier valide.",
                    "Not a valid integer value."]


def test_template_gettext_keeps_jinjas_newstyle_rules(app):
    """The templates' `_`, `gettext`, `ngettext` and `pgettext` (core.i18n) behave as Jinja's newstyle ones: escaped
    variables where the template autoescapes, plain text where it does not, `%%` for a percent sign."""
    from flask_babel import force_locale
    env = app.jinja_env
    with app.test_request_context("/"):
        assert env.from_string("{% autoescape true %}{{ _('Hello %(name)s', name=who) }}{% endautoescape %}"
                               ).render(who="<b>") == "Hello &lt;b&gt;"
        assert env.from_string("{% autoescape false %}{{ _('Hello %(name)s', name=who) }}{% endautoescape %}"
                               ).render(who="<b>") == "Hello <b>"
        assert env.from_string("{{ gettext('100%%') }}").render() == "100%"
        assert env.from_string("{{ ngettext('%(num)s review', '%(num)s reviews', n) }}").render(n=3) == "3 reviews"
        assert env.from_string("{{ pgettext('menu', 'Home') }}").render() == "Home"
        assert env.from_string("{{ npgettext('menu', '%(num)s page', '%(num)s pages', 2) }}").render() == "2 pages"
        assert env.from_string("{% trans n=2 %}{{ n }} item{% pluralize %}{{ n }} items{% endtrans %}"
                               ).render() == "2 items"
        with force_locale("fr"):
            assert env.from_string("{{ _('Log out') }}").render() == "Se déconnecter"
            assert env.from_string("{{ ngettext('%(num)s review', '%(num)s reviews', 1) }}").render() == "1 évaluation"
