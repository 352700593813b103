"""The Spanish and French catalogues are complete, and pages in every language show no untranslated text."""
import html as html_lib
import os
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from exchange.auth.models import Role

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRANSLATIONS = os.path.join(ROOT, "exchange", "translations")
LOCALES = ("es", "fr")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages the code and templates have now (not the committed .pot, which may be stale)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2",
                    "--no-location", "-o", str(pot), "exchange", "templates"], check=True, cwd=ROOT)
    with open(pot, "rb") as fh:
        return read_po(fh)


def catalogue(locale):
    with open(os.path.join(TRANSLATIONS, locale, "LC_MESSAGES", "messages.po"), "rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete(extracted, locale):
    po = catalogue(locale)
    missing, fuzzy = [], []
    for message in extracted:
        if not message.id:
            continue
        found = po.get(message.id, message.context)
        if found is None or not (found.string if isinstance(found.string, str) else all(found.string)):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
        elif found.fuzzy:
            fuzzy.append(message.id)
    assert not missing, f"{len(missing)} messages untranslated in {locale}, e.g. {missing[:10]}"
    assert not fuzzy, f"fuzzy entries in {locale}: {fuzzy[:10]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    problems = []
    for message in catalogue(locale):
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        wanted = sorted(re.findall(r"%\(\w+\)[sd]", message.id))
        got = sorted(re.findall(r"%\(\w+\)[sd]", message.string))
        if wanted != got:
            problems.append((message.id, message.string))
    assert not problems, problems[:5]


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html_lib.unescape(page))


def english_phrases(locale):
    """Msgids of three words or more whose translation differs: they must not appear on a translated page."""
    phrases = []
    for message in catalogue(locale):
        if isinstance(message.id, str) and message.string and message.string != message.id \
                and "%(" not in message.id and len(message.id.split()) >= 3:
            phrases.append(message.id)
    return phrases


def pages_for(app, role):
    """Every GET page without URL parameters that the role may open."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        allowed = getattr(view, "allowed_roles", None)
        if allowed is not None and role not in allowed:
            continue
        if rule.rule.endswith((".ics", ".csv", ".xlsx", ".pdf", ".zip")) or rule.endpoint == "core.healthz":
            continue
        yield rule.rule


@pytest.fixture
def demo(app, db):
    from exchange.demo import seed_demo
    seed_demo()
    return app


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", [None, *Role])
def test_pages_render_translated_for_every_role(demo, client, db, locale, role):
    from sqlalchemy import select

    from exchange.auth.models import User
    if role is not None:
        user = db.session.scalar(select(User).where(User.email == f"{role.value}@demo.test"))
        user.locale = locale
        db.session.commit()
        with client.session_transaction() as s:
            s["_user_id"] = user.session_token
    else:
        client.post("/language", data={"lang": locale})
    phrases = english_phrases(locale)
    problems = []
    for path in pages_for(demo, role):
        response = client.get(path)
        if response.status_code in (301, 302, 303):
            continue
        assert response.status_code == 200, f"{path} answered {response.status_code} in {locale}"
        if not response.mimetype == "text/html":
            continue
        page = response.get_data(as_text=True)
        assert f'lang="{locale}"' in page
        text = visible_text(page)
        assert "%(" not in text, f"raw placeholder on {path}"
        leftovers = [p for p in phrases if p in text]
        if leftovers:
            problems.append(f"{path}: {leftovers[:3]}")
    assert not problems, f"untranslated text in {locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale, expected", [("en", "EQF 7"), ("fr", "CEC 7"), ("es", "EQF 7")])
def test_study_levels_are_written_as_the_language_names_them(app, locale, expected):
    """French calls the European Qualifications Framework CEC; pages and labels wrote "EQF 7" in every language."""
    from flask_babel import force_locale

    from exchange.core.filters import eqf_filter, eqf_levels_filter
    with app.test_request_context("/"), force_locale(locale):
        assert eqf_filter(7) == expected
        assert eqf_filter("7") == expected
        assert eqf_filter(None) == ""
        assert eqf_levels_filter([6, 7]).endswith(expected)
        assert eqf_levels_filter("6,7,") == eqf_levels_filter([6, 7])
        rendered = app.jinja_env.from_string("{{ 7|eqf }}").render()
        assert rendered == expected
