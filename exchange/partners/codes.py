"""Pure checks for the identifiers of an institution: SCHAC code, Erasmus code, website, phone.

Each `normalise_*` function returns the value in its stored form, or None when the value is not valid.
No Flask, no SQLAlchemy: forms, services and the CSV import all use these.
"""
import re
from urllib.parse import urlsplit

# A domain-like code: labels of letters, digits and inner hyphens, a final alphabetic label.
_SCHAC = re.compile(r"^(?=.{3,120}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Erasmus institution code: country letters padded with spaces to three characters, the city in capitals,
# a two- or three-digit number: "I  BOLOGNA01", "PL WARSZAW01", "F  PARIS001". Ireland and Luxembourg
# use three letters and no space: "IRLDUBLIN01", "LUXLUX-VIL01".
_ERASMUS = re.compile(r"^(?:(?P<short>[A-Z]{1,2}) +|(?P<long>IRL|LUX) *)(?P<city>[A-Z][A-Z-]{1,8})(?P<num>\d{2,3})$")

_HOST_LABEL = re.compile(r"^(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?$", re.UNICODE)
_PHONE = re.compile(r"^\+?[0-9(][0-9 ()./-]{3,38}$")


def normalise_schac(value: str | None) -> str | None:
    """'Unibo.IT ' → 'unibo.it'; None for anything that is not domain-like."""
    code = (value or "").strip().lower()
    return code if _SCHAC.match(code) else None


def normalise_erasmus(value: str | None) -> str | None:
    """'i bologna01' → 'I  BOLOGNA01' (the country padded to three characters)."""
    code = (value or "").strip().upper()
    match = _ERASMUS.match(code)
    if not match:
        return None
    country = match.group("short") or match.group("long")
    return f"{country:<3}{match.group('city')}{match.group('num')}"


def normalise_url(value: str | None, max_length: int = 300) -> str | None:
    """An absolute http(s) address with a proper host name, without credentials or spaces."""
    url = (value or "").strip()
    if not url or len(url) > max_length or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return url


def normalise_phone(value: str | None) -> str | None:
    """Digits with an optional leading + and the usual separators; at least five digits."""
    phone = " ".join((value or "").split())
    if not _PHONE.match(phone) or sum(c.isdigit() for c in phone) < 5:
        return None
    return phone
