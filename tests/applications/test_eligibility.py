"""Eligibility rules (pure): subject area, study level, languages, the call's GPA and levels."""
from decimal import Decimal

import pytest

from exchange.applications.eligibility import (Candidate, CallRules, PlaceRules, ReasonCode, call_reasons,
                                               isced_matches, place_reasons)


@pytest.mark.parametrize(("student", "place", "match"), [
    ("0613", "0613", True),   # same detailed field
    ("0612", "0613", True),   # same narrow field 061 (ICT)
    ("0610", "0613", True),   # "not further defined" in the same narrow field
    ("0621", "0613", False),  # another narrow field of the same broad field
    ("0413", "0613", False),
    ("0231", "0200", True),   # broad field n.f.d. (0200) covers the whole broad field 02
    ("0311", "0200", False),
    ("0200", "0231", False),  # a broad student field does not match a specific place
    (None, "0613", False), ("0613", None, False), ("", "", False),
])
def test_isced_matching(student, place, match):
    assert isced_matches(student, place) is match


def codes(reasons):
    return [r.code for r in reasons]


PLACE = PlaceRules(isced_code="0613", eqf_levels=[6, 7], languages=[("en", "B2"), ("de", "B1")])


def test_meets_everything():
    candidate = Candidate("0613", 6, Decimal("7"), {"en": "C1", "de": "B1"})
    assert place_reasons(candidate, PLACE) == []


def test_each_failing_condition_gives_a_reason():
    candidate = Candidate("0413", 5, Decimal("7"), {"en": "B1"})
    reasons = place_reasons(candidate, PLACE)
    assert codes(reasons) == [ReasonCode.subject_mismatch, ReasonCode.level_not_accepted,
                              ReasonCode.language_too_low, ReasonCode.language_missing]
    assert reasons[0].params == {"have": "0413", "need": "0613"}
    assert reasons[1].params == {"have": 5, "need": (6, 7)}
    assert reasons[2].params == {"language": "en", "need": "B2", "have": "B1"}
    assert reasons[3].params == {"language": "de", "need": "B1"}


def test_missing_data_is_a_reason_too():
    assert codes(place_reasons(Candidate(None, None), PLACE)) == [
        ReasonCode.subject_missing, ReasonCode.level_missing, ReasonCode.language_missing,
        ReasonCode.language_missing]


def test_language_codes_compare_case_insensitively():
    assert place_reasons(Candidate("0613", 7, None, {"EN": "B2", "De": "C2"}), PLACE) == []


def test_place_without_levels_or_languages_accepts_any():
    assert place_reasons(Candidate("0613", 8), PlaceRules("0613", [], [])) == []


def test_call_rules():
    rules = CallRules(min_gpa=Decimal("6.5"), eqf_levels=[6])
    assert call_reasons(Candidate("0613", 6, Decimal("6.5")), rules) == []
    assert codes(call_reasons(Candidate("0613", 7, Decimal("6.49")), rules)) == [
        ReasonCode.gpa_too_low, ReasonCode.call_level_not_accepted]
    assert codes(call_reasons(Candidate("0613", None, None), rules)) == [
        ReasonCode.gpa_missing, ReasonCode.level_missing]
    assert call_reasons(Candidate("0613", 8, None), CallRules()) == []
