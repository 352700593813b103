"""GPA conversion, weighted totals and the reviewers' mean (pure)."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.applications.scoring import (SCALES, GpaScale, check_score, check_weights, gpa_in_range, mean_total,
                                           normalise_gpa, weighted_total)

D = Decimal


@pytest.mark.parametrize(("value", "scale", "expected"), [
    ("0", GpaScale.scale_4, "0.00"), ("4", GpaScale.scale_4, "10.00"), ("3.2", GpaScale.scale_4, "8.00"),
    ("0", GpaScale.scale_10, "0.00"), ("7.25", GpaScale.scale_10, "7.25"), ("10", GpaScale.scale_10, "10.00"),
    ("10", GpaScale.scale_20, "5.00"), ("15.5", GpaScale.scale_20, "7.75"), ("20", GpaScale.scale_20, "10.00"),
    ("85", GpaScale.scale_100, "8.50"), ("100", GpaScale.scale_100, "10.00"), ("33.333", GpaScale.scale_100, "3.33"),
    # German style: 1.0 best, 4.0 pass, 5.0 fail; the pass mark lands on 5.
    ("1.0", GpaScale.german, "10.00"), ("4.0", GpaScale.german, "5.00"), ("5.0", GpaScale.german, "0.00"),
    ("2.5", GpaScale.german, "7.50"), ("1.3", GpaScale.german, "9.50"), ("4.5", GpaScale.german, "2.50"),
])
def test_gpa_conversion(value, scale, expected):
    assert normalise_gpa(D(value), scale) == D(expected)


@pytest.mark.parametrize(("value", "scale"), [
    ("-0.1", GpaScale.scale_4), ("4.01", GpaScale.scale_4), ("10.5", GpaScale.scale_10), ("21", GpaScale.scale_20),
    ("101", GpaScale.scale_100), ("0.9", GpaScale.german), ("5.1", GpaScale.german), ("abc", GpaScale.scale_10),
    ("NaN", GpaScale.scale_10), ("Infinity", GpaScale.scale_10),
])
def test_gpa_out_of_range_or_not_a_number_is_refused(value, scale):
    assert not gpa_in_range(value, scale)
    with pytest.raises(ValueError):
        normalise_gpa(value, scale)


def test_scale_accepts_its_value_string():
    assert normalise_gpa("3", "0-4") == D("7.50")


@given(st.sampled_from(list(GpaScale)), st.floats(0, 1), st.floats(0, 1))
def test_conversion_stays_in_range_and_keeps_the_order(scale, a, b):
    info = SCALES[scale]
    span = info.highest - info.lowest
    low, high = sorted((a, b))
    x = info.lowest + span * D(str(round(low, 4)))
    y = info.lowest + span * D(str(round(high, 4)))
    nx, ny = normalise_gpa(x, scale), normalise_gpa(y, scale)
    assert D(0) <= nx <= D(10) and D(0) <= ny <= D(10)
    if info.inverted:
        assert nx >= ny  # a lower number is a better grade
    else:
        assert nx <= ny


def test_weighted_total_from_0_to_100():
    weights = {"gpa": 50, "language": 20, "motivation": 30}
    assert weighted_total({"gpa": 10, "language": 10, "motivation": 10}, weights) == D("100.00")
    assert weighted_total({"gpa": 0, "language": 0, "motivation": 0}, weights) == D("0.00")
    # 0.5*8 + 0.2*6 + 0.3*7 = 7.3 → 73
    assert weighted_total({"gpa": 8, "language": 6, "motivation": 7}, weights) == D("73.00")
    assert weighted_total({"gpa": D("7.25"), "language": 9, "motivation": "6.5"}, weights) == D("73.75")


def test_weighted_total_needs_every_score_in_range():
    weights = {"a": 60, "b": 40}
    with pytest.raises(ValueError):
        weighted_total({"a": 5}, weights)
    with pytest.raises(ValueError):
        weighted_total({"a": 5, "b": 11}, weights)
    with pytest.raises(ValueError):
        weighted_total({"a": -1, "b": 5}, weights)
    with pytest.raises(ValueError):
        weighted_total({"a": 5, "b": 5}, {})


@pytest.mark.parametrize("value", ["-0.01", "10.01", "x", None, "nan"])
def test_check_score_refuses(value):
    with pytest.raises(ValueError):
        check_score(value)


def test_check_score_rounds_to_two_places():
    assert check_score("7.456") == D("7.46")
    assert check_score(0) == D("0.00") and check_score(10) == D("10.00")


@pytest.mark.parametrize("weights", [[], [50, 40], [50, 60], [101, -1], [50.5, 49.5]])
def test_weights_must_add_up_to_100(weights):
    with pytest.raises(ValueError):
        check_weights(weights)


def test_weights_ok():
    check_weights([50, 20, 30])
    check_weights([100])


def test_mean_of_reviewers_ignores_those_who_have_not_scored():
    assert mean_total([D("70"), D("80"), None]) == D("75.00")
    assert mean_total([D("70.10"), D("70.15")]) == D("70.13")
    assert mean_total([None, None]) is None
    assert mean_total([]) is None
