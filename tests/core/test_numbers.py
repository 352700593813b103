"""core.numbers: whole numbers as people send them."""
import pytest

from exchange.core.numbers import MAX_ID, is_digits, whole_number


@pytest.mark.parametrize(("value", "number"), [
    ("0", 0), ("7", 7), ("007", 7), ("000", 0), (str(MAX_ID), MAX_ID),
    (None, None), ("", None), (" 7", None), ("7 ", None), ("+7", None), ("-7", None), ("7_0", None), ("7.0", None),
    ("²", None), ("٣", None), ("７", None), (str(MAX_ID + 1), None), ("9" * 5000, None), ("0" * 30 + "5", 5)])
def test_whole_number_reads_ascii_digits_within_the_ids(value, number):
    assert whole_number(value) == number


def test_whole_number_up_to_a_maximum():
    assert whole_number("999", maximum=999) == 999
    assert whole_number("1000", maximum=999) is None
    assert is_digits("0123") and not is_digits("¹") and not is_digits(None)
