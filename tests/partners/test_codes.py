"""The pure checks of SCHAC codes, Erasmus codes, websites and phone numbers."""
import pytest

from exchange.partners import codes


@pytest.mark.parametrize(("value", "expected"), [
    ("unibo.it", "unibo.it"), (" Uni-Bologna.IT ", "uni-bologna.it"), ("uj.edu.pl", "uj.edu.pl"),
    ("sorbonne-universite.fr", "sorbonne-universite.fr"),
    ("unibo", None), ("uni bo.it", None), ("-unibo.it", None), ("unibo-.it", None), ("unibo.i", None),
    ("https://unibo.it", None), ("unibo.it/", None), ("uni_bo.it", None), ("", None), (None, None),
    ("a" * 64 + ".it", None), ("unibo.123", None), ("<script>.it", None),
])
def test_schac(value, expected):
    assert codes.normalise_schac(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("I  BOLOGNA01", "I  BOLOGNA01"), ("i bologna01", "I  BOLOGNA01"), ("PL WARSZAW01", "PL WARSZAW01"),
    ("F  PARIS001", "F  PARIS001"), ("IRLDUBLIN01", "IRLDUBLIN01"), ("D  MUNCHEN01", "D  MUNCHEN01"),
    ("BOLOGNA01", None), ("I BOLOGNA", None), ("I  BOLOGNA1", None), ("I  BOLOGNA0001", None),
    ("I2 BOLOGNA01", None), ("IBOLOGNA01", None), ("", None), ("I  BOLOGNAXXXX01", None),
])
def test_erasmus(value, expected):
    assert codes.normalise_erasmus(value) == expected


@pytest.mark.parametrize(("value", "ok"), [
    ("https://www.unibo.it", True), ("http://unibo.it/en/international?x=1", True),
    ("https://www.uni-münchen.de", True), ("https://example.org:8443/path", True),
    ("ftp://unibo.it", False), ("javascript:alert(1)", False), ("www.unibo.it", False), ("https://", False),
    ("https://unibo", False), ("https://user:pw@unibo.it", False), ("https://uni bo.it", False),
    ("https://unibo.it:99999", False), ("https://1.2.3.4", False), ("https://" + "a" * 300 + ".it", False),
    ("", False),
])
def test_url(value, ok):
    assert (codes.normalise_url(value) is not None) is ok


@pytest.mark.parametrize(("value", "expected"), [
    ("+39 051 209 9000", "+39 051 209 9000"), ("  051   2099000 ", "051 2099000"), ("(051) 20.99-00", "(051) 20.99-00"),
    ("call me", None), ("+39", None), ("12", None), ("++39 051", None),
])
def test_phone(value, expected):
    assert codes.normalise_phone(value) == expected
