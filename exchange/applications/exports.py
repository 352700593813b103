"""A call's applications as CSV and XLSX (XlsxWriter), one row per application.

The rows are read as plain columns (no ORM objects), five statements whatever the count: a call of 50,000
applications exports in seconds. Up to `EXPORT_INLINE_LIMIT` rows the file is the response; larger exports run as a background job
(exchange/jobs) and the coordinator downloads the file from the job's page.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask import Response, current_app
import xlsxwriter
from sqlalchemy import func, select

from ..auth.models import User
from ..core.csvsafe import safe_row
from ..core.i18n import ngettext
from ..core.i18n import gettext as _
from ..extensions import db
from ..partners.models import CooperationCondition, PartnerInstitution
from . import pipeline
from .labels import STATUS_LABELS
from .models import Application, ApplicationChoice, ApplicationDocument, LanguageSkill, Review, join_partner

FUNC = "exchange.applications.exports:export_job"
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def header() -> list[str]:
    return [_("Id"), _("Name"), _("Email address"), _("Student number"), _("Nationality"), _("Date of birth"),
            _("Study programme"), _("ISCED-F"), _("EQF level"), _("Year of study"), _("GPA"), _("Grading scale"),
            _("GPA (0–10)"), _("Languages"), _("Choices"), _("Status"), _("Submitted at (UTC)"), _("Score"),
            _("Reviewers who scored"), _("Documents")]


_COLUMNS = (Application.id, Application.full_name, User.name.label("student_name"), User.email,
            Application.student_number, Application.nationality, Application.date_of_birth,
            Application.study_programme, Application.isced_code, Application.eqf_level, Application.year_of_study,
            Application.gpa, Application.gpa_scale, Application.gpa_normalised, Application.status,
            Application.submitted_at, Application.score)


@dataclass
class Record:
    """What one row of the export shows of an application, read as plain columns."""
    base: object  # a row of _COLUMNS
    choices: list = field(default_factory=list)  # [(rank, partner name, ISCED code)]
    languages: list = field(default_factory=list)  # [(language, CEFR level)]
    scored_reviews: int = 0
    documents: int = 0


def row(record: Record) -> list:
    a = record.base
    choices = "; ".join(f"{rank}. {partner} ({isced})" for rank, partner, isced in record.choices)
    languages = "; ".join(f"{language} {level}" for language, level in record.languages)
    return [
        a.id, a.full_name or a.student_name, a.email, a.student_number or "", a.nationality or "",
        a.date_of_birth.isoformat() if a.date_of_birth else "", a.study_programme or "", a.isced_code or "",
        a.eqf_level or "", a.year_of_study or "", float(a.gpa) if a.gpa is not None else "",
        a.gpa_scale.value if a.gpa_scale else "",
        float(a.gpa_normalised) if a.gpa_normalised is not None else "", languages, choices,
        str(STATUS_LABELS[a.status]),
        a.submitted_at.strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
        float(a.score) if a.score is not None else "", record.scored_reviews, record.documents,
    ]


def records(call, filters: pipeline.Filters) -> list[Record]:
    """The export's data, in the pipeline's order: five statements whatever the count (the applications in the
    pipeline's order, then their choices, languages, reviews and documents, each with the filtered ids as a
    subquery, never a list of parameters)."""
    chosen = pipeline.ids_query(call, filters).order_by(None).scalar_subquery()
    found = {r.id: Record(r) for r in db.session.execute(  # a dict keeps the pipeline's order
        pipeline.filtered(select(*_COLUMNS).join(User, User.id == Application.student_id), call, filters))}
    for application_id, rank, partner, isced in db.session.execute(
            join_partner(select(ApplicationChoice.application_id, ApplicationChoice.rank, PartnerInstitution.name,
                                CooperationCondition.isced_code), ApplicationChoice.place_id)
            .where(ApplicationChoice.application_id.in_(chosen))
            .order_by(ApplicationChoice.application_id, ApplicationChoice.rank)):
        found[application_id].choices.append((rank, partner, isced))
    for application_id, language, level in db.session.execute(
            select(LanguageSkill.application_id, LanguageSkill.language, LanguageSkill.cefr_level)
            .where(LanguageSkill.application_id.in_(chosen))
            .order_by(LanguageSkill.application_id, LanguageSkill.id)):
        found[application_id].languages.append((language, level))
    for application_id, n in db.session.execute(
            select(Review.application_id, func.count())
            .where(Review.application_id.in_(chosen), Review.total.is_not(None)).group_by(Review.application_id)):
        found[application_id].scored_reviews = n
    for application_id, n in db.session.execute(
            select(ApplicationDocument.application_id, func.count())
            .where(ApplicationDocument.application_id.in_(chosen)).group_by(ApplicationDocument.application_id)):
        found[application_id].documents = n
    return list(found.values())


def rows(found: list[Record], progress=None, every: int = 2000):
    """Yield the safe cell values of each application; `progress(done)` every `every` rows."""
    for done, record in enumerate(found, start=1):
        yield safe_row(row(record))
        if progress and (done % every == 0 or done == len(found)):
            progress(done)


def to_csv(values) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header())
    writer.writerows(values)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes spreadsheet programs read UTF-8


def to_xlsx(values) -> bytes:
    """XlsxWriter in constant-memory mode: rows go to disk as they come (a large call is ~1 million cells)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False})
    sheet = workbook.add_worksheet(_("Applications")[:31])
    titles = header()
    for index, title in enumerate(titles):
        sheet.set_column(index, index, max(10, min(40, len(title) + 4)))
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, titles, workbook.add_format({"bold": True}))
    for number, line in enumerate(values, start=1):
        sheet.write_row(number, 0, line)
    workbook.close()
    return buffer.getvalue()


def render(fmt: str, values) -> bytes:
    return to_csv(values) if fmt == "csv" else to_xlsx(values)


def filename(call, extension: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", call.title).strip("-").lower()[:60] or "call"
    return f"applications-{call.id}-{slug}.{extension}"


def inline_limit() -> int:
    return current_app.config["EXPORT_INLINE_LIMIT"]


def response(call, filters: pipeline.Filters, fmt: str) -> Response:
    result = Response(render(fmt, rows(records(call, filters))), mimetype=FORMATS[fmt])
    result.headers["Content-Disposition"] = f'attachment; filename="{filename(call, fmt)}"'
    result.headers["Cache-Control"] = "private, no-store"
    return result


# --- As a background job (large calls) -------------------------------------------------------------

def filters_to_args(filters: pipeline.Filters) -> dict:
    """The filters as JSON-safe values (a job's arguments cross to an RQ worker)."""
    return {name: (str(value) if isinstance(value, Decimal) else value) for name, value in vars(filters).items()}


def filters_from_args(values: dict) -> pipeline.Filters:
    values = dict(values)
    for name in ("score_min", "score_max"):
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    return pipeline.Filters(**values)


def export_job(job_id: str, call_id: int, filter_args: dict, fmt: str, locale: str,
               back_url: str | None = None) -> dict:
    """Write the export file of a call's (filtered) applications in `locale` (the language of the page it
    was asked from); the job's page offers it for download."""
    from flask_babel import force_locale

    from ..jobs.services import report_progress, store_result_file
    from .models import Call
    call = db.session.get(Call, call_id)
    with force_locale(locale):
        report_progress(job_id, 0, None, _("Reading the applications…"))
        found = records(call, filters_from_args(filter_args))
        total = len(found)
        report_progress(job_id, 0, total, _("Writing the file…"))
        body = render(fmt, rows(found, progress=lambda done: report_progress(job_id, done, total)))
        files = {fmt: store_result_file(body, filename(call, fmt), FORMATS[fmt].split(";")[0])}
        report_progress(job_id, total, total, ngettext("%(num)d application in the file.",
                                                       "%(num)d applications in the file.", total))
    return {"files": files, "back_url": back_url, "rows": total}


def count(call, filters: pipeline.Filters) -> int:
    """How many applications the export writes: from the status counters when it can (pipeline.known_total)."""
    total = pipeline.known_total(filters, pipeline.status_counts(call))
    if total is not None:
        return total
    chosen = pipeline.ids_query(call, filters).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(chosen))
