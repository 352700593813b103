"""A call's applications as CSV and XLSX (openpyxl), one row per application."""
import csv
import io
import re

from flask import Response
from ..core.i18n import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from .labels import STATUS_LABELS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def header() -> list[str]:
    return [_("Id"), _("Name"), _("Email address"), _("Student number"), _("Nationality"), _("Date of birth"),
            _("Study programme"), _("ISCED-F"), _("EQF level"), _("Year of study"), _("GPA"), _("Grading scale"),
            _("GPA (0–10)"), _("Languages"), _("Choices"), _("Status"), _("Submitted at (UTC)"), _("Score"),
            _("Reviewers who scored"), _("Documents")]


def row(application) -> list:
    a = application
    choices = "; ".join(f"{c.rank}. {c.place.partner.name} ({c.place.condition.isced_code})" for c in a.choices)
    languages = "; ".join(f"{s.language} {s.cefr_level}" for s in a.languages)
    return [
        a.id, a.full_name or a.student.name, a.student.email, a.student_number or "", a.nationality or "",
        a.date_of_birth.isoformat() if a.date_of_birth else "", a.study_programme or "", a.isced_code or "",
        a.eqf_level or "", a.year_of_study or "", float(a.gpa) if a.gpa is not None else "",
        a.gpa_scale.value if a.gpa_scale else "",
        float(a.gpa_normalised) if a.gpa_normalised is not None else "", languages, choices,
        str(STATUS_LABELS[a.status]),
        a.submitted_at.strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
        float(a.score) if a.score is not None else "",
        sum(1 for r in a.reviews if r.total is not None), len(a.documents),
    ]


def rows(applications) -> list[list]:
    return [[_safe(value) for value in row(a)] for a in applications]


def to_csv(applications) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header())
    writer.writerows(rows(applications))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes spreadsheet programs read UTF-8


def to_xlsx(call, applications) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Applications")[:31]
    sheet.append(header())
    for values in rows(applications):
        sheet.append(values)
    sheet.freeze_panes = "A2"
    for index, title in enumerate(header(), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(title) + 4))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(call, extension: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", call.title).strip("-").lower()[:60] or "call"
    return f"applications-{call.id}-{slug}.{extension}"


def response(call, applications, fmt: str) -> Response:
    if fmt == "csv":
        body, mimetype = to_csv(applications), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(call, applications)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    result = Response(body, mimetype=mimetype)
    result.headers["Content-Disposition"] = f'attachment; filename="{filename(call, fmt)}"'
    result.headers["Cache-Control"] = "private, no-store"
    return result
