"""Eligibility rules as pure functions: does a student meet a call's rules and a place's conditions?

Pure module (no Flask app, no SQLAlchemy): the services turn rows into the plain data below, and
turn the returned :class:`Reason` objects into translated sentences (``labels.describe_reason``).
An empty list of reasons means eligible.

Subject area (ISCED-F 2013, four-digit codes): the student's field matches a place when

* the codes are equal, or
* they share the *narrow field* (the first three digits: 0613 and 0612 are both 061, ICT), or
* the place's code is a *broad field "not further defined"* (ending in 00, e.g. 0200 Arts and
  humanities n.f.d.) and the student's code is in that broad field (first two digits).

Study level: the student's EQF level must be one of the place's levels (and of the call's levels,
when the call restricts them). Languages: every language requirement of the place must be met by
the student's CEFR level in that language (``cefr_meets``: C2 ≥ C1 ≥ … ≥ A1). GPA: the student's
GPA on the common 0–10 scale must reach the call's minimum, when it sets one.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..core.reference import cefr_meets


class ReasonCode(str, enum.Enum):
    subject_missing = "subject_missing"
    subject_mismatch = "subject_mismatch"
    level_missing = "level_missing"
    level_not_accepted = "level_not_accepted"
    language_missing = "language_missing"
    language_too_low = "language_too_low"
    gpa_missing = "gpa_missing"
    gpa_too_low = "gpa_too_low"
    call_level_not_accepted = "call_level_not_accepted"


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    params: dict = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True)
class Candidate:
    """What the student declared: ISCED code, EQF level, GPA on 0–10, languages {ISO 639-1: CEFR}."""
    isced_code: str | None
    eqf_level: int | None
    gpa: Decimal | None = None
    languages: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlaceRules:
    """A place's conditions: ISCED code, accepted EQF levels, language requirements [(code, CEFR)]."""
    isced_code: str
    eqf_levels: Sequence[int]
    languages: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class CallRules:
    """A call's own rules: minimum GPA on 0–10 (None = none) and accepted EQF levels (empty = any)."""
    min_gpa: Decimal | None = None
    eqf_levels: Sequence[int] = ()


def isced_matches(student_code: str | None, place_code: str | None) -> bool:
    if not student_code or not place_code:
        return False
    if student_code == place_code or student_code[:3] == place_code[:3]:
        return True
    return place_code.endswith("00") and student_code[:2] == place_code[:2]


def place_reasons(candidate: Candidate, place: PlaceRules) -> list[Reason]:
    """Why the candidate does not meet a place's conditions (empty list: they do)."""
    reasons: list[Reason] = []
    if not candidate.isced_code:
        reasons.append(Reason(ReasonCode.subject_missing))
    elif not isced_matches(candidate.isced_code, place.isced_code):
        reasons.append(Reason(ReasonCode.subject_mismatch,
                              {"have": candidate.isced_code, "need": place.isced_code}))
    if candidate.eqf_level is None:
        reasons.append(Reason(ReasonCode.level_missing))
    elif place.eqf_levels and candidate.eqf_level not in place.eqf_levels:
        reasons.append(Reason(ReasonCode.level_not_accepted,
                              {"have": candidate.eqf_level, "need": tuple(sorted(place.eqf_levels))}))
    languages = {code.lower(): level for code, level in candidate.languages.items()}
    for language, level in place.languages:
        have = languages.get(language.lower())
        if not have:
            reasons.append(Reason(ReasonCode.language_missing, {"language": language, "need": level}))
        elif not cefr_meets(have, level):
            reasons.append(Reason(ReasonCode.language_too_low,
                                  {"language": language, "need": level, "have": have}))
    return reasons


def call_reasons(candidate: Candidate, rules: CallRules) -> list[Reason]:
    """Why the candidate does not meet the call's own rules (minimum GPA, study levels)."""
    reasons: list[Reason] = []
    if rules.min_gpa is not None:
        if candidate.gpa is None:
            reasons.append(Reason(ReasonCode.gpa_missing, {"need": rules.min_gpa}))
        elif candidate.gpa < rules.min_gpa:
            reasons.append(Reason(ReasonCode.gpa_too_low, {"have": candidate.gpa, "need": rules.min_gpa}))
    if rules.eqf_levels:
        if candidate.eqf_level is None:
            reasons.append(Reason(ReasonCode.level_missing))
        elif candidate.eqf_level not in rules.eqf_levels:
            reasons.append(Reason(ReasonCode.call_level_not_accepted,
                                  {"have": candidate.eqf_level, "need": tuple(sorted(rules.eqf_levels))}))
    return reasons
