"""Grades and scores: GPA conversion to one common scale, weighted totals, the reviewers' mean.

Pure module (no Flask, no SQLAlchemy); all arithmetic in Decimal, rounded half-up to 2 places.

GPA conversion — every grade point average is converted to a common 0–10 scale (10 best) so that
students from different systems can be ranked together:

=============  ==========================  ==============================================
Scale          Range (best)                Conversion to 0–10
=============  ==========================  ==============================================
``0-4``        0.00–4.00 (4, US style)     × 2.5
``0-10``       0.00–10.00 (10)             unchanged
``0-20``       0.00–20.00 (20, FR/BE/PT)   × 0.5
``0-100``      0–100 (100, percentages)    × 0.1
``1-5-de``     1.0–5.0 (1.0, German)       inverted, piecewise linear so that the pass mark
                                           4.0 lands on 5.0: 1.0 → 10, 4.0 → 5, 5.0 → 0
=============  ==========================  ==============================================

Scores — each scoring criterion of a call has a weight (percent; the weights of a call add up to
100) and each reviewer gives every criterion a score from 0 to 10. The weighted total is
``sum(weight × score) / sum(weights) × 10``, from 0 to 100. An application's score is the mean of
the totals of the reviewers who have scored it.
"""
from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

COMMON_MAX = Decimal(10)
SCORE_MIN = Decimal(0)
SCORE_MAX = Decimal(10)
TOTAL_MAX = Decimal(100)
_CENT = Decimal("0.01")


class GpaScale(str, enum.Enum):
    scale_4 = "0-4"
    scale_10 = "0-10"
    scale_20 = "0-20"
    scale_100 = "0-100"
    german = "1-5-de"


@dataclass(frozen=True)
class ScaleInfo:
    lowest: Decimal  # the numerically lowest grade on the scale
    highest: Decimal  # the numerically highest grade
    inverted: bool = False  # True when the lowest number is the best grade


SCALES: dict[GpaScale, ScaleInfo] = {
    GpaScale.scale_4: ScaleInfo(Decimal(0), Decimal(4)),
    GpaScale.scale_10: ScaleInfo(Decimal(0), Decimal(10)),
    GpaScale.scale_20: ScaleInfo(Decimal(0), Decimal(20)),
    GpaScale.scale_100: ScaleInfo(Decimal(0), Decimal(100)),
    GpaScale.german: ScaleInfo(Decimal(1), Decimal(5), inverted=True),
}


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value))
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def gpa_in_range(value, scale: GpaScale) -> bool:
    info = SCALES[GpaScale(scale)]
    try:
        number = _decimal(value)
    except ValueError:
        return False
    return info.lowest <= number <= info.highest


def normalise_gpa(value, scale: GpaScale) -> Decimal:
    """The grade on the common 0–10 scale (10 best), rounded to 2 places; ValueError when out of range."""
    scale = GpaScale(scale)
    number = _decimal(value)
    info = SCALES[scale]
    if not info.lowest <= number <= info.highest:
        raise ValueError(f"{number} is outside the {scale.value} scale")
    if scale is GpaScale.german:
        if number <= 4:
            result = COMMON_MAX - (number - 1) * Decimal(5) / Decimal(3)
        else:
            result = Decimal(5) - (number - 4) * Decimal(5)
    else:
        result = number * COMMON_MAX / info.highest
    return _round(result)


def check_score(value) -> Decimal:
    """A per-criterion score: a number from 0 to 10 (2 decimals kept); ValueError otherwise."""
    number = _decimal(value)
    if not SCORE_MIN <= number <= SCORE_MAX:
        raise ValueError(f"score {number} is outside {SCORE_MIN}–{SCORE_MAX}")
    return _round(number)


def check_weights(weights: Iterable[int]) -> None:
    """Weights are whole percentages from 0 to 100 that add up to exactly 100."""
    weights = list(weights)
    if not weights:
        raise ValueError("no criteria")
    if any(int(w) != w or w < 0 or w > 100 for w in weights):
        raise ValueError("each weight must be a whole number from 0 to 100")
    if sum(weights) != 100:
        raise ValueError(f"the weights add up to {sum(weights)}, not 100")


def weighted_total(scores: Mapping[Hashable, object], weights: Mapping[Hashable, int]) -> Decimal:
    """The weighted total from 0 to 100 of per-criterion scores (0–10); every weighted criterion needs a score."""
    if not weights or sum(weights.values()) <= 0:
        raise ValueError("no weights")
    missing = [key for key in weights if key not in scores]
    if missing:
        raise ValueError(f"missing scores for {missing!r}")
    total_weight = Decimal(sum(weights.values()))
    weighted = sum((Decimal(weights[key]) * check_score(scores[key]) for key in weights), Decimal(0))
    return _round(weighted / total_weight * Decimal(10))


def mean_total(totals: Iterable[object | None]) -> Decimal | None:
    """The mean of the reviewers' totals, ignoring reviewers who have not scored yet (None)."""
    values = [_decimal(t) for t in totals if t is not None]
    if not values:
        return None
    return _round(sum(values, Decimal(0)) / Decimal(len(values)))
