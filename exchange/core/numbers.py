"""Whole numbers sent by people (form fields, query arguments): ASCII digits only.

str.isdigit() also takes "²", which int() then refuses (a 500), and int() takes "٣", "+3", "3_0" and " 3"; a number
past the databases' INTEGER makes their statements fail. whole_number reads what a person means by a number, or
None.
"""
import re

#: The largest id: INTEGER columns of PostgreSQL end at 2**31 - 1.
MAX_ID = 2**31 - 1

_DIGITS = re.compile(r"[0-9]+")


def is_digits(value: str | None) -> bool:
    """True when `value` is one or more ASCII digits, nothing else."""
    return value is not None and _DIGITS.fullmatch(value) is not None


def whole_number(value: str | None, maximum: int = MAX_ID) -> int | None:
    """`value` as a whole number from 0 to `maximum` when it is ASCII digits only (leading zeros allowed), else None."""
    if not is_digits(value):
        return None
    value = value.lstrip("0") or "0"
    if len(value) > len(str(maximum)):  # past `maximum`, and int() of thousands of digits raises ValueError
        return None
    number = int(value)
    return number if number <= maximum else None
