"""CSV import of partner institutions: every row is checked before anything is saved.

Format (UTF-8, comma-separated, a header row first; the columns in any order):

    name,country,city,website,schac_code,erasmus_code

`name`, `country` (ISO 3166-1 alpha-2) and `schac_code` are required; the others may be empty.
"""
import csv
import io
import re
from dataclasses import dataclass, field

from ..core.i18n import gettext as _

from ..core.reference import COUNTRY_CODES
from . import codes
from .services import InstitutionData, existing_schac_codes

COLUMNS = ("name", "country", "city", "website", "schac_code", "erasmus_code")
REQUIRED_COLUMNS = ("name", "country", "schac_code")
MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LIMITS = {"name": 200, "city": 120, "website": 300, "schac_code": 120, "erasmus_code": 20}

SAMPLE_ROWS = [
    ("Università di Padova", "IT", "Padova", "https://www.unipd.it", "unipd.it", "I  PADOVA01"),
    ("Universiteit Gent", "BE", "Gent", "https://www.ugent.be", "ugent.be", "B  GENT01"),
    ("University of Otago", "NZ", "Dunedin", "https://www.otago.ac.nz", "otago.ac.nz", ""),
]


class ImportRefused(Exception):
    """The file as a whole cannot be read (not CSV, not UTF-8, wrong header, too large, empty)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RowError:
    line: int
    reasons: list[str]


@dataclass
class ImportCheck:
    rows: list[InstitutionData] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def sample_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(SAMPLE_ROWS)
    return out.getvalue()


def decode(data: bytes, filename: str | None = None) -> str:
    """The file's text, or ImportRefused with a message the coordinator can act on."""
    if filename is not None and not filename.lower().endswith((".csv", ".txt")):
        raise ImportRefused(_("Please upload a .csv file (comma-separated values)."))
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than %(size)s MB. Split it into smaller files.", size=1))
    if not data.strip():
        raise ImportRefused(_("The file is empty."))
    if b"\x00" in data or data.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise ImportRefused(_("This is not a CSV file. Save the spreadsheet as \"CSV UTF-8\" and upload that."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(_("The file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again."))


def _check_header(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    unknown = [h for h in names if h not in COLUMNS]
    duplicated = sorted({h for h in names if names.count(h) > 1})
    if missing or unknown or duplicated:
        details = []
        if missing:
            details.append(_("missing: %(columns)s", columns=", ".join(missing)))
        if unknown:
            details.append(_("unknown: %(columns)s", columns=", ".join(h or '""' for h in unknown)))
        if duplicated:
            details.append(_("repeated: %(columns)s", columns=", ".join(duplicated)))
        raise ImportRefused(_("The first row must name the columns %(expected)s (%(details)s).",
                              expected=",".join(COLUMNS), details="; ".join(details)))
    return {name: names.index(name) for name in COLUMNS}


def _check_row(values: dict[str, str], seen_schac: dict[str, int],
               existing: set[str]) -> tuple[InstitutionData | None, list[str]]:
    reasons = []
    for column, limit in LIMITS.items():
        if len(values[column]) > limit:
            reasons.append(_("%(column)s is longer than %(max)d characters", column=column, max=limit))
    if any(_CONTROL.search(v) for v in values.values()):
        reasons.append(_("contains invisible control characters"))
    if not values["name"]:
        reasons.append(_("missing name"))
    country = values["country"].upper()
    if not country:
        reasons.append(_("missing country"))
    elif country not in COUNTRY_CODES:
        reasons.append(_("bad country \"%(value)s\" (use an ISO 3166-1 code such as IT)", value=values["country"]))
    if values["website"] and codes.normalise_url(values["website"]) is None:
        reasons.append(_("bad website \"%(value)s\" (use a full http:// or https:// address)",
                         value=values["website"]))
    schac = codes.normalise_schac(values["schac_code"]) if values["schac_code"] else None
    if not values["schac_code"]:
        reasons.append(_("missing SCHAC code"))
    elif schac is None:
        reasons.append(_("bad SCHAC code \"%(value)s\" (use a domain-like code such as unibo.it)",
                         value=values["schac_code"]))
    elif schac in seen_schac:
        reasons.append(_("duplicate SCHAC code %(code)s (already on line %(line)d)", code=schac,
                         line=seen_schac[schac]))
    elif schac in existing:
        reasons.append(_("SCHAC code %(code)s already belongs to an institution in the database", code=schac))
    if values["erasmus_code"] and codes.normalise_erasmus(values["erasmus_code"]) is None:
        reasons.append(_("bad Erasmus code \"%(value)s\" (like \"I  BOLOGNA01\")", value=values["erasmus_code"]))
    if reasons:
        return None, reasons
    return InstitutionData(name=values["name"], country=country, city=values["city"] or None,
                           website=values["website"] or None, schac_code=schac,
                           erasmus_code=values["erasmus_code"] or None), []


def check_csv(data: bytes, filename: str | None = None) -> ImportCheck:
    """Read and check every row; raise ImportRefused when the file itself is unusable."""
    text = decode(data, filename)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    result = ImportCheck()
    seen_schac: dict[str, int] = {}
    try:
        header = next(reader, None)
        if not header:
            raise ImportRefused(_("The file is empty."))
        if len(header) == 1 and ";" in header[0]:
            raise ImportRefused(_("The columns are separated by semicolons. Use commas (save as \"CSV UTF-8\")."))
        positions = _check_header(header)
        records = []
        line = reader.line_num
        for raw in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in raw):
                continue
            if len(records) >= MAX_ROWS:
                raise ImportRefused(_("The file has more than %(count)d rows. Split it into smaller files.",
                                      count=MAX_ROWS))
            records.append((start, raw))
    except csv.Error as exc:
        raise ImportRefused(_("The file could not be read as CSV near line %(line)d: %(error)s",
                              line=reader.line_num, error=str(exc)))
    existing = existing_schac_codes(
        code for _start, raw in records if len(raw) == len(header)
        for code in [codes.normalise_schac(raw[positions["schac_code"]])] if code)
    for start, raw in records:
        if len(raw) != len(header):
            result.errors.append(RowError(start, [_("expected %(expected)d values, found %(found)d",
                                                    expected=len(header), found=len(raw))]))
            continue
        values = {name: raw[index].strip() for name, index in positions.items()}
        row, reasons = _check_row(values, seen_schac, existing)
        if row is None:
            result.errors.append(RowError(start, reasons))
        else:
            result.rows.append(row)
        schac = codes.normalise_schac(values["schac_code"])
        if schac and schac not in seen_schac:
            seen_schac[schac] = start
    if not result.rows and not result.errors:
        raise ImportRefused(_("The file has a header row but no institutions."))
    return result
