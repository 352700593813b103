"""core.csvsafe: what a spreadsheet would run as a formula is only shown."""
from datetime import date
from decimal import Decimal

import pytest

from exchange.core.csvsafe import formula_safe, safe_row


@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'), ("+1", "'+1"), ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Ana", "Ana"), ("", ""), (" =1", " =1"), ("a=b", "a=b"), ("'=1", "'=1"),
    (-1, -1), (Decimal("-2.5"), Decimal("-2.5")), (None, None), (date(2026, 1, 2), date(2026, 1, 2)),
])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(value, written):
    assert formula_safe(value) == written


def test_safe_row():
    assert safe_row(("=1", 2, "x", None)) == ["'=1", 2, "x", None]
    assert safe_row(value for value in ["@a", "b"]) == ["'@a", "b"]
