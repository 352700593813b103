"""Reference lists: ISCED-F 2013 subject areas, countries, languages, CEFR and EQF levels."""
import csv
from functools import lru_cache
from pathlib import Path

import pycountry
from .i18n import current_locale, language_name
from .i18n import lazy_gettext as _l

#: ISO 3166-1 alpha-2 codes.
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)
#: ISO 639-1 two-letter language codes.
LANGUAGE_CODES = frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")

EQF_LEVELS = {
    5: _l("EQF 5 – short cycle"),
    6: _l("EQF 6 – bachelor"),
    7: _l("EQF 7 – master"),
    8: _l("EQF 8 – doctorate"),
}


#: ISCED-F 2013 broad fields (the first two digits of a code), named for translation.
ISCED_BROAD_FIELDS = {
    "00": _l("Generic programmes and qualifications"),
    "01": _l("Education"),
    "02": _l("Arts and humanities"),
    "03": _l("Social sciences, journalism and information"),
    "04": _l("Business, administration and law"),
    "05": _l("Natural sciences, mathematics and statistics"),
    "06": _l("Information and Communication Technologies (ICTs)"),
    "07": _l("Engineering, manufacturing and construction"),
    "08": _l("Agriculture, forestry, fisheries and veterinary"),
    "09": _l("Health and welfare"),
    "10": _l("Services"),
    "99": _l("Field unknown"),
}


def cefr_rank(level: str | None) -> int:
    """A1 → 1 … C2 → 6; unknown or empty → 0."""
    try:
        return CEFR_LEVELS.index((level or "").upper()) + 1
    except ValueError:
        return 0


def cefr_meets(have: str | None, need: str | None) -> bool:
    return cefr_rank(have) >= cefr_rank(need)


@lru_cache(maxsize=1)
def isced_fields() -> dict[str, str]:
    """Four-digit ISCED-F 2013 code → English name (UNESCO ISCED Fields of Education and Training 2013)."""
    path = Path(__file__).with_name("data") / "isced_f_2013.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


@lru_cache(maxsize=8)
def _isced_translations(locale: str) -> dict[str, str]:
    """code → name in `locale`, from data/isced_f_2013.<locale>.csv (absent for English)."""
    path = Path(__file__).with_name("data") / f"isced_f_2013.{locale}.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


def _current_language() -> str:
    try:
        locale = current_locale()
    except RuntimeError:  # outside an app context
        return "en"
    return locale.language if locale else "en"


def isced_name(code: str | None, locale: str | None = None) -> str:
    """The field's name in the interface language (English when no translation is shipped)."""
    if not code:
        return ""
    english = isced_fields().get(code, "")
    return _isced_translations(locale or _current_language()).get(code) or english


def isced_label(code: str | None) -> str:
    if not code:
        return ""
    return _isced_label(code, _current_language())


@lru_cache(maxsize=4096)
def _isced_label(code: str, language: str) -> str:
    name = isced_name(code, language)
    return f"{code} – {name}" if name else code


def short_place_label(partner_name: str, isced_code: str) -> str:
    """A destination in a few words: 'Università di Bologna – 0613' (option lists, warnings, the run pages)."""
    return f"{partner_name} – {isced_code}"


def isced_choices() -> list[tuple[str, str]]:
    """(code, label) for every field in the interface language (built once per language)."""
    return list(_isced_choices(_current_language()))


@lru_cache(maxsize=8)
def _isced_choices(language: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, _isced_label(code, language)) for code in isced_fields())


def academic_year_label(first_year: int | None) -> str:
    """2026 → '2026/27'."""
    if first_year is None:
        return ""
    return f"{first_year}/{(first_year + 1) % 100:02d}"


def country_choices() -> list[tuple[str, str]]:
    """(code, name in the viewer's language) for every country, by name."""
    names = current_locale().territories
    return sorted(((c, names.get(c, c)) for c in COUNTRY_CODES), key=lambda item: item[1])


def language_choices() -> list[tuple[str, str]]:
    """(code, name in the viewer's language) for every language, by name."""
    return sorted(((c, language_name(c)) for c in LANGUAGE_CODES), key=lambda item: item[1])
