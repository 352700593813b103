"""Issuing, revoking and reissuing certificates; their PDFs (rendered once from what was fixed at issue, then
served from storage); completion records; the certificate settings of the home institution."""
from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from ..core.i18n import gettext as _
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..applications.access import applications_visible_to_partner
from ..applications.models import Application, Call
from ..applications.workflow import ApplicationStatus
from ..auth.models import STAFF, Role, User
from ..core import audit
from ..core.errors import WorkflowError, check_reason
from ..core.types import utcnow
from ..core.uploads import delete_upload, path_of, save_image, upload_folder
from ..events.models import Event, EventStatus, Registration, attended_clause
from .. import signals
from ..extensions import db
from ..partners.models import HomeInstitution
from .kinds import PLACED_STATUSES, office_date, placement_facts, spec_of
from .models import (KIND_LABELS, REVOCATION_REASON_MAX, Certificate, CertificateCounter, CertificateKind,
                     CompletionRecord, new_verification_code, valid_key_for)

log = logging.getLogger(__name__)

MAX_CREDITS = Decimal("120")
MAX_EXCHANGE_DAYS = 2 * 366
NUMBER_PREFIX = "CERT"


def home_institution() -> HomeInstitution | None:
    return db.session.scalar(select(HomeInstitution).order_by(HomeInstitution.id).limit(1))


def certificate_languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def default_language(user: User | None) -> str:
    """The recipient's preference, else the office's default language."""
    preferred = getattr(user, "locale", None)
    return preferred if preferred in certificate_languages() else current_app.config["BABEL_DEFAULT_LOCALE"]


# --- Numbers --------------------------------------------------------------------------------------

def reserve_numbers(count: int, year: int | None = None) -> list[str]:
    """`count` consecutive numbers of the year, e.g. CERT-2026-000123, under a row lock on the counter."""
    if count <= 0:
        return []
    year = year or utcnow().year
    query = select(CertificateCounter).where(CertificateCounter.year == year).with_for_update()
    counter = db.session.scalar(query)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(CertificateCounter(year=year, last_number=0))
        except IntegrityError:  # another transaction created this year's counter first
            pass
        counter = db.session.scalar(query)
    first = counter.last_number + 1
    counter.last_number = counter.last_number + count
    db.session.flush()
    return [f"{NUMBER_PREFIX}-{year}-{n:06d}" for n in range(first, first + count)]


# --- Issuing, revoking, reissuing ------------------------------------------------------------------

def _apply_facts(certificate: Certificate, facts: dict) -> None:
    certificate.recipient_name = (facts["recipient_name"] or "")[:200]
    certificate.subject_title = (facts["subject_title"] or "")[:300]
    certificate.subject_start = facts["subject_start"]
    certificate.subject_end = facts["subject_end"]
    certificate.academic_year = facts["academic_year"]
    certificate.period = facts["period"]
    certificate.event_id = facts["event_id"]
    certificate.call_id = facts["call_id"]
    details = json.dumps(facts["details"], sort_keys=True, ensure_ascii=False)
    if certificate.details_json != details:
        certificate.details_json = details


def _issue(kind: CertificateKind, subjects: list, by: User | None, language: str | None,
           strict: bool) -> list[Certificate]:
    """Issue certificates for subjects; strict: raise on the first that cannot have one, else skip it."""
    spec = spec_of(kind)
    keys = {s.id: valid_key_for(spec.kind, s.id) for s in subjects}
    taken = set()
    values = list(keys.values())
    for start in range(0, len(values), 500):
        taken.update(db.session.scalars(select(Certificate.valid_key)
                                        .where(Certificate.valid_key.in_(values[start:start + 500]))))
    todo = []
    for subject in subjects:
        reason = spec.ineligible(subject)
        if reason is None and keys[subject.id] in taken:
            reason = _("A valid certificate has already been issued for this.")
            code = "already-issued"
        else:
            code = "not-eligible"
        if reason:
            if strict:
                raise WorkflowError(reason, code=code)
            continue
        todo.append(subject)
    if language is not None and language not in certificate_languages():
        raise WorkflowError(_("Choose a language from the list."), code="bad-language", field="language")
    issued = []
    issuer = json.dumps(issuer_snapshot(home_institution()), sort_keys=True, ensure_ascii=False) if todo else "{}"
    for subject, number in zip(todo, reserve_numbers(len(todo))):
        recipient = spec.recipient(subject)
        certificate = Certificate(kind=spec.kind, number=number, code=new_verification_code(),
                                  valid_key=keys[subject.id], language=language or default_language(recipient),
                                  recipient_id=recipient.id if recipient else None,
                                  issued_by_id=by.id if by else None, issued_at=utcnow())
        setattr(certificate, spec.subject_column, subject.id)
        _apply_facts(certificate, spec.facts(subject))
        certificate.issuer_json = issuer
        db.session.add(certificate)
        issued.append(certificate)
    db.session.flush()
    if issued:
        detail = issued[0].number if len(issued) == 1 else f"{len(issued)} {kind.value}: {issued[0].number}…{issued[-1].number}"
        audit.record("certificate_issued", user=by, detail=detail)
    return issued


def issue_certificate(kind: CertificateKind | str, subject_id: int, by: User | None,
                      language: str | None = None) -> Certificate:
    """Issue one certificate; WorkflowError when the subject is missing, not eligible or already has one."""
    spec = spec_of(kind)
    subject = spec.load([subject_id]).get(subject_id)
    if subject is None:
        raise WorkflowError(_("There is nothing to certify here."), code="no-subject", status=404)
    return _issue(spec.kind, [subject], by, language, strict=True)[0]


def issue_many(kind: CertificateKind | str, subject_ids: list[int], by: User | None) -> list[Certificate]:
    """Issue certificates for every eligible subject that has none yet (bulk); returns the new ones."""
    spec = spec_of(kind)
    subjects = []
    for start in range(0, len(subject_ids), 500):
        loaded = spec.load(list(subject_ids[start:start + 500]))
        subjects.extend(loaded[i] for i in subject_ids[start:start + 500] if i in loaded)
    return _issue(spec.kind, subjects, by, None, strict=False)


def eligible_subject_ids(kind: CertificateKind | str, scope_id: int) -> list[int]:
    return list(db.session.scalars(spec_of(kind).in_scope(scope_id)))


def revoke_certificate(certificate: Certificate, by: User | None, reason: str | None) -> None:
    reason = check_reason(reason, REVOCATION_REASON_MAX, missing=_("Please say why the certificate is revoked."))
    if certificate.is_revoked:
        raise WorkflowError(_("This certificate has already been revoked."), code="already-revoked")
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = by.id if by else None
    certificate.revocation_reason = reason
    certificate.valid_key = None
    db.session.flush()
    audit.record("certificate_revoked", user=by, detail=f"{certificate.number}: {reason}")


def reissue_certificate(certificate: Certificate, by: User | None, reason: str | None,
                        language: str | None = None) -> Certificate:
    """Revoke the certificate (when still valid) and issue a new one, with a new number and code, stating the
    facts and the issuer as they are now: the one way to change what an issued certificate says."""
    spec = spec_of(certificate.kind)
    subject_id = certificate.subject_id
    subject = spec.load([subject_id]).get(subject_id) if subject_id else None
    if subject is None:
        raise WorkflowError(_("What this certificate was about no longer exists, so it cannot be reissued."),
                            code="no-subject")
    if certificate.is_valid:
        revoke_certificate(certificate, by, reason)
    new = _issue(spec.kind, [subject], by, language or certificate.language, strict=True)[0]
    new.replaces_id = certificate.id
    db.session.flush()
    audit.record("certificate_reissued", user=by, detail=f"{certificate.number} -> {new.number}")
    return new


def revoke_for_subject(kind: CertificateKind | str, subject_id: int, by: User | None, reason: str) -> Certificate | None:
    """For other domains: revoke the valid certificate of a subject (e.g. a withdrawn application), if any."""
    certificate = db.session.scalar(select(Certificate).where(
        Certificate.valid_key == valid_key_for(CertificateKind(kind), subject_id)))
    if certificate is not None:
        revoke_certificate(certificate, by, reason)
    return certificate


# --- The PDF: context, hash, cache ----------------------------------------------------------------

def verify_url(code: str) -> str:
    from ..core.mail import external_url
    return external_url("verification.verify", code=code)


#: The issuer of a certificate when there is no home institution on record.
NO_INSTITUTION = {"name": "", "city": None, "country": None, "website": None, "email": None, "logo": None,
                  "office": True}
NO_SIGNATORY = {"name": None, "title": None, "signature": None}
FROZEN_IMAGE_PREFIX = "frozen-"


def institution_context(home: HomeInstitution | None) -> tuple[dict, dict]:
    """What certificates print about the home institution, from its current settings."""
    if home is None:
        return dict(NO_INSTITUTION), dict(NO_SIGNATORY)
    institution = {"name": home.name, "city": home.city or None, "country": home.country or None,
                   "website": home.website or None, "email": home.office_email or None,
                   "logo": home.logo_path or None, "office": True}
    signatory = {"name": home.signatory_name or None, "title": home.signatory_title or None,
                 "signature": home.signature_path or None}
    return institution, signatory


def frozen_image(name: str | None) -> str | None:
    """An immutable copy of an uploaded image, named by its content ("frozen-<sha256>.png"); the same image gives
    the same copy. Certificates refer to these copies, so replacing or removing the logo or the signature in
    the settings leaves the certificates already issued as they were. None when the image is missing."""
    if not name:
        return None
    if name.startswith(FROZEN_IMAGE_PREFIX):
        return name
    try:
        with open(path_of(name), "rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        log.warning("The certificate image %s is missing: certificates are issued without it", name)
        return None
    frozen = f"{FROZEN_IMAGE_PREFIX}{hashlib.sha256(data).hexdigest()}{os.path.splitext(name)[1].lower()}"
    target = path_of(frozen)
    if not os.path.exists(target):
        partial = f"{target}.{secrets.token_hex(4)}.part"
        with open(partial, "wb") as fh:
            fh.write(data)
        os.replace(partial, target)
    return frozen


def issuer_snapshot(home: HomeInstitution | None) -> dict:
    """The issuer as a certificate issued now prints it, with the logo and signature frozen (see frozen_image)."""
    institution, signatory = institution_context(home)
    institution["logo"] = frozen_image(institution["logo"])
    signatory["signature"] = frozen_image(signatory["signature"])
    return {"institution": institution, "signatory": signatory}


def context_of(certificate: Certificate) -> dict:
    """The plain dict a certificate template is rendered from: only what was fixed when it was issued."""
    issuer = certificate.issuer
    return {
        "kind": certificate.kind.value,
        "language": certificate.language,
        "number": certificate.number,
        "code": certificate.code,
        "verify_url": verify_url(certificate.code),
        "issued_on": office_date(certificate.issued_at),
        "revoked": certificate.is_revoked,
        "specimen": False,
        "recipient_name": certificate.recipient_name,
        "subject_title": certificate.subject_title,
        "start": certificate.subject_start,
        "end": certificate.subject_end,
        "academic_year": certificate.academic_year,
        "period": certificate.period,
        "details": certificate.details,
        "institution": {**NO_INSTITUTION, **(issuer.get("institution") or {})},
        "signatory": {**NO_SIGNATORY, **(issuer.get("signatory") or {})},
    }


def content_hash(context: dict) -> str:
    from . import pdf
    payload = json.dumps(context, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256((pdf.design_fingerprint() + payload).encode()).hexdigest()


def _read_stored(certificate: Certificate) -> bytes | None:
    """The PDF stored when a valid certificate was first rendered (None for a revoked one: it gets its mark)."""
    if certificate.is_revoked or not certificate.pdf_name:
        return None
    try:
        with open(path_of(certificate.pdf_name), "rb") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def _store(certificate: Certificate, data: bytes, digest: str) -> None:
    name = f"cert-{secrets.token_hex(16)}.pdf"
    with open(os.path.join(upload_folder(), name), "wb") as fh:
        fh.write(data)
    old = certificate.pdf_name
    certificate.pdf_name = name
    certificate.content_hash = digest
    certificate.rendered_at = utcnow()
    if old and old != name:
        delete_upload(old)


def pdf_of(certificate: Certificate) -> bytes:
    """The certificate's PDF. A valid one is rendered once, from what was fixed when it was issued, and stored:
    every later download gets the same bytes (rendered again from the same snapshot only if the file is lost).
    A revoked one is rendered from the same snapshot with its "Revoked" mark, and not stored."""
    from . import pdf
    stored = _read_stored(certificate)
    if stored is not None:
        return stored
    context = context_of(certificate)
    data = pdf.render_pdf(pdf.section_html(context), pdf.assets_for([context]), title=document_title(certificate))
    if certificate.is_valid:
        _store(certificate, data, content_hash(context))
        db.session.flush()
    return data


def document_title(certificate: Certificate) -> str:
    """The PDF's title (shown by viewers), in the certificate's language."""
    from flask_babel import force_locale
    with force_locale(certificate.language):
        return f"{KIND_LABELS[certificate.kind.value]} {certificate.number}"


def render_processes() -> int:
    configured = current_app.config.get("CERTIFICATE_RENDER_PROCESSES")
    if configured is not None:
        return max(1, int(configured))
    return 1 if current_app.testing else max(1, min(2, os.cpu_count() or 1))


@dataclass
class RenderedSet:
    files: list[tuple[Certificate, bytes]] = field(default_factory=list)  # one PDF per certificate, in order
    parts: list = field(default_factory=list)  # what the merged PDF is made of, in order (see pdf.merge_pdfs)
    rendered: int = 0  # how many had to be rendered (the others were served from storage)
    pool_cpu_seconds: float = 0.0  # CPU time of the WeasyPrint passes in worker processes (0 when rendered here)
    render_pids: list[int] = field(default_factory=list)  # the process that rendered each chunk, in order

    def merged(self) -> bytes:
        from . import pdf
        return pdf.merge_pdfs(self.parts) if self.parts else b""


def render_certificates(certificates: list[Certificate], progress=None) -> RenderedSet:
    """PDFs of many certificates, the same documents as pdf_of gives: one PDF per certificate, and the parts
    of one merged PDF (pages of the batch renders, stored PDFs for the others).

    Those not rendered yet (and revoked ones) are laid out together from their snapshots, in chunks of one
    WeasyPrint pass, on up to CERTIFICATE_RENDER_PROCESSES processes. `progress(done, total)` is called as
    chunks finish.
    """
    from . import pdf
    contexts = [context_of(c) for c in certificates]
    datas: list[bytes | None] = [_read_stored(c) for c in certificates]
    parts: list = list(datas)
    stale = [i for i, data in enumerate(datas) if data is None]
    cached = len(certificates) - len(stale)
    if progress:
        progress(cached, len(certificates))
    if stale:
        sections = [pdf.section_html(contexts[i]) for i in stale]
        rendered = pdf.render_many(
            sections, pdf.assets_for([contexts[i] for i in stale]), processes=render_processes(),
            chunk_size=int(current_app.config.get("CERTIFICATE_CHUNK_SIZE", 50)), title=_("Certificates"),
            progress=(lambda done, total: progress(cached + done, len(certificates))) if progress else None)
        for i, data, (chunk, pages) in zip(stale, rendered.singles, rendered.locations):
            datas[i] = data
            parts[i] = (rendered.merged[chunk], pages)
            if certificates[i].is_valid:
                _store(certificates[i], data, content_hash(contexts[i]))
        db.session.flush()
        return RenderedSet(files=list(zip(certificates, datas)), parts=parts, rendered=len(stale),
                           pool_cpu_seconds=rendered.cpu_seconds if rendered.in_pool else 0.0,
                           render_pids=rendered.pids)
    return RenderedSet(files=list(zip(certificates, datas)), parts=parts)


def _slug(text: str) -> str:
    text = re.sub(r"[^\w.-]+", "-", text or "", flags=re.UNICODE).strip("-._")
    return text[:60]


def zip_of(rendered: RenderedSet) -> bytes:
    """A ZIP of the individual PDFs, named <number>-<name>.pdf (PDFs are compressed already: stored)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for certificate, data in rendered.files:
            slug = _slug(certificate.recipient_name)
            archive.writestr(f"{certificate.number}{'-' + slug if slug else ''}.pdf", data)
    return out.getvalue()


def notify_issued(certificates: list[Certificate]) -> int:
    """Tell recipients by e-mail that a certificate is ready (failures are logged, never raised)."""
    from ..core import mail
    sent = 0
    for certificate in certificates:
        recipient = certificate.recipient
        if recipient is None or not recipient.is_active or not recipient.email:
            continue
        try:
            mail.send_template(recipient.email, "certificate_issued", locale=recipient.locale,
                               name=recipient.name, kind_label=KIND_LABELS[certificate.kind.value],
                               number=certificate.number,
                               title=certificate.subject_title, mine_url=mail.external_url("certificates.mine"),
                               verify_url=verify_url(certificate.code))
            sent += 1
        except Exception as exc:  # the certificate is issued; a mail problem must not undo it
            log.error("Could not send the certificate mail for %s: %s", certificate.number, exc)
    return sent


def notify_revoked(certificate: Certificate) -> None:
    from ..core import mail
    recipient = certificate.recipient
    if recipient is None or not recipient.is_active or not recipient.email:
        return
    try:
        mail.send_template(recipient.email, "certificate_revoked", locale=recipient.locale, name=recipient.name,
                           kind_label=KIND_LABELS[certificate.kind.value], number=certificate.number, title=certificate.subject_title,
                           mine_url=mail.external_url("certificates.mine"))
    except Exception as exc:
        log.error("Could not send the revocation mail for %s: %s", certificate.number, exc)


# --- Completion records -----------------------------------------------------------------------------

def completion_record_of(application_id: int) -> CompletionRecord | None:
    return db.session.scalar(select(CompletionRecord).where(CompletionRecord.application_id == application_id))


def save_completion(application: Application, started_on: date, ended_on: date, ects_credits: Decimal | None,
                    by: User | None, today: date | None = None) -> CompletionRecord:
    """Record (or correct) the actual dates and the ECTS credits of a completed exchange."""
    if application.status not in PLACED_STATUSES or placement_facts(application) is None:
        raise WorkflowError(_("Only a placed student who accepted the place can complete an exchange."),
                            code="not-placed")
    today = today or office_date(utcnow())
    if started_on < date(2000, 1, 1):
        raise WorkflowError(_("Enter a start date after 1 January 2000."), code="bad-date", field="started_on")
    if ended_on < started_on:
        raise WorkflowError(_("The exchange cannot end before it starts."), code="bad-date", field="ended_on")
    if ended_on > today:
        raise WorkflowError(_("A completed exchange cannot end in the future."), code="bad-date", field="ended_on")
    if ended_on - started_on > timedelta(days=MAX_EXCHANGE_DAYS):
        raise WorkflowError(_("An exchange lasts at most two years."), code="bad-date", field="ended_on")
    if ects_credits is not None and not (Decimal(0) <= ects_credits <= MAX_CREDITS):
        raise WorkflowError(_("Enter between 0 and 120 credits."), code="bad-credits", field="ects_credits")
    record = completion_record_of(application.id)
    if record is None:
        record = CompletionRecord(application_id=application.id)
        db.session.add(record)
    record.started_on = started_on
    record.ended_on = ended_on
    record.ects_credits = ects_credits.quantize(Decimal("0.1")) if ects_credits is not None else None
    record.recorded_by_id = by.id if by else None
    db.session.flush()
    audit.record("completion_recorded", user=by, detail=f"application {application.id}")
    return record


# --- Settings: the signatory, logo and signature ------------------------------------------------------

def update_settings(home: HomeInstitution | None, *, institution_name: str, country: str, city: str | None,
                    signatory_name: str | None, signatory_title: str | None, logo=None, signature=None,
                    remove_logo: bool = False, remove_signature: bool = False, by: User | None = None
                    ) -> HomeInstitution:
    """Save what certificates print about the home institution; uploaded images are checked by content."""
    new_logo = save_image(logo, field="logo") if logo is not None and logo.filename else None
    try:
        new_signature = (save_image(signature, field="signature")
                         if signature is not None and signature.filename else None)
    except WorkflowError:
        if new_logo:
            delete_upload(new_logo.stored_name)
        raise
    if home is None:
        home = HomeInstitution(name=institution_name, country=country)
        db.session.add(home)
    home.name = institution_name
    home.country = country
    home.city = city or None
    home.signatory_name = signatory_name or None
    home.signatory_title = signatory_title or None
    old = []
    if new_logo or remove_logo:
        old.append(home.logo_path)
        home.logo_path = new_logo.stored_name if new_logo else None
    if new_signature or remove_signature:
        old.append(home.signature_path)
        home.signature_path = new_signature.stored_name if new_signature else None
    db.session.flush()
    for name in old:
        delete_upload(name)
    audit.record("certificate_settings_changed", user=by)
    return home


def specimen_context(kind: CertificateKind | str, language: str, home: HomeInstitution | None) -> dict:
    """A sample certificate with made-up facts, to preview the design and the current settings."""
    kind = CertificateKind(kind)
    institution, signatory = institution_context(home)
    today = office_date(utcnow())
    context = {
        "kind": kind.value, "language": language, "number": f"{NUMBER_PREFIX}-{today.year}-000000",
        "code": "specimen", "verify_url": verify_url("specimen"), "issued_on": today, "revoked": False,
        "specimen": True, "recipient_name": "Sofia Martins", "subject_title": "International Food Fair",
        "start": today - timedelta(days=30), "end": today - timedelta(days=30), "academic_year": None,
        "period": None, "details": {"category": "cultural_evening", "venue": "Aula Magna"},
        "institution": institution, "signatory": signatory,
    }
    if kind is not CertificateKind.participation:
        context.update(subject_title="Università di Bologna", academic_year=today.year, period="autumn",
                       details={"partner_city": "Bologna", "partner_country": "IT", "isced_code": "0311",
                                "mobility_type": "study", "eqf_level": 6, "student_number": "S1234567",
                                "partner_erasmus_code": "I  BOLOGNA01",
                                "planned_arrival": date(today.year, 9, 14).isoformat(),
                                "planned_departure": date(today.year + 1, 1, 29).isoformat()})
    if kind is CertificateKind.completion:
        context.update(start=today - timedelta(days=150), end=today - timedelta(days=10))
        context["details"]["ects_credits"] = "30"
    return context


def render_specimen(kind: CertificateKind | str, language: str) -> bytes:
    from . import pdf
    context = specimen_context(kind, language, home_institution())
    return pdf.render_pdf(pdf.section_html(context), pdf.assets_for([context]), title=_("Specimen"))


# --- Queries for the pages ----------------------------------------------------------------------------

def certificates_visible_to(user):
    """What a user may download: staff everything; others their own valid certificates, and partner users
    the valid placement letters of students nominated to their institution."""
    if user.role in STAFF:
        return None
    own = own_clause(user.id)
    if user.role is Role.partner and user.institution_id:
        nominees = select(Application.id).where(applications_visible_to_partner(user.institution_id))
        return or_(own, and_(Certificate.kind == CertificateKind.placement, Certificate.revoked_at.is_(None),
                             Certificate.application_id.in_(nominees)))
    return own


def own_clause(user_id):
    """The user's own valid certificates (an id or a bound parameter)."""
    return and_(Certificate.recipient_id == user_id, Certificate.revoked_at.is_(None))


def certificates_for(user):
    query = select(Certificate)
    clause = certificates_visible_to(user)
    return query if clause is None else query.where(clause)


# The home page panels' statements are built once per process (building one costs more than running it): the
# user's values are bound parameters.

def latest_certificates(user, limit: int = 5) -> tuple[list, int]:
    """For the home page: the user's newest valid certificates as rows of id, kind, subject_title, issued_at,
    and how many there are, from one statement."""
    rows = db.session.execute(_latest_certificates_statement(limit), {"user_id": user.id}).all()
    return rows, (rows[0].total if rows else 0)


def latest_placement_letters(user, limit: int = 5) -> tuple[list, int]:
    """For a partner user's home page: the newest placement letters they may download (see certificates_visible_to)
    as rows of id, recipient_name, academic_year, number, and how many there are, from one statement."""
    if user.role is not Role.partner or not user.institution_id:
        return [], 0
    rows = db.session.execute(_placement_letters_statement(limit),
                              {"user_id": user.id, "institution_id": user.institution_id}).all()
    return rows, (rows[0].total if rows else 0)


@functools.cache
def _latest_certificates_statement(limit: int):
    return _newest_with_total((Certificate.id, Certificate.kind, Certificate.subject_title, Certificate.issued_at),
                              own_clause(bindparam("user_id")), limit)


@functools.cache
def _placement_letters_statement(limit: int):
    nominees = select(Application.id).where(applications_visible_to_partner(bindparam("institution_id")))
    return _newest_with_total((Certificate.id, Certificate.recipient_name, Certificate.academic_year,
                               Certificate.number),
                              and_(Certificate.kind == CertificateKind.placement,
                                   or_(own_clause(bindparam("user_id")),
                                       and_(Certificate.revoked_at.is_(None), Certificate.application_id.in_(nominees)))),
                              limit)


def _newest_with_total(columns, where, limit: int):
    """The newest rows matching `where`, each with the number of all matching rows (`total`)."""
    return (select(*columns, func.count().over().label("total")).where(where)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(limit))


@dataclass
class Filters:
    q: str | None = None
    kind: CertificateKind | None = None
    status: str | None = None  # "valid" / "revoked"
    event_id: int | None = None
    call_id: int | None = None


def search_certificates(filters: Filters):
    query = select(Certificate)
    if filters.q:  # "50%" and "a_b" are found as typed (autoescape: % and _ are no wildcards)
        term = filters.q.strip()
        query = query.where(or_(Certificate.recipient_name.icontains(term, autoescape=True),
                                Certificate.number.icontains(term, autoescape=True),
                                Certificate.subject_title.icontains(term, autoescape=True)))
    if filters.kind:
        query = query.where(Certificate.kind == filters.kind)
    if filters.status == "valid":
        query = query.where(Certificate.revoked_at.is_(None))
    elif filters.status == "revoked":
        query = query.where(Certificate.revoked_at.is_not(None))
    if filters.event_id:
        query = query.where(Certificate.event_id == filters.event_id)
    if filters.call_id:
        query = query.where(Certificate.call_id == filters.call_id)
    return query.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def valid_in_scope(kind: CertificateKind | str, scope_id: int) -> list[Certificate]:
    spec = spec_of(kind)
    return list(db.session.scalars(
        select(Certificate).where(Certificate.kind == spec.kind, Certificate.revoked_at.is_(None),
                                  getattr(Certificate, spec.scope_column) == scope_id)
        .options(joinedload(Certificate.recipient))
        .order_by(Certificate.recipient_name, Certificate.id)))


def events_overview(now=None):
    """select(Event): events that have begun and were not cancelled, newest first."""
    now = now or utcnow()
    return (select(Event).where(Event.starts_at <= now, Event.status != EventStatus.cancelled)
            .order_by(Event.starts_at.desc(), Event.id.desc()))


def event_counts(event_ids) -> dict[int, tuple[int, int]]:
    """event id → (people checked in, valid certificates of participation), two grouped queries."""
    ids = list(event_ids)
    if not ids:
        return {}
    attendees = dict(db.session.execute(
        select(Registration.event_id, func.count(Registration.id))
        .where(Registration.event_id.in_(ids), attended_clause()).group_by(Registration.event_id)).all())
    issued = dict(db.session.execute(
        select(Certificate.event_id, func.count(Certificate.id))
        .where(Certificate.event_id.in_(ids), Certificate.kind == CertificateKind.participation,
               Certificate.revoked_at.is_(None)).group_by(Certificate.event_id)).all())
    return {i: (attendees.get(i, 0), issued.get(i, 0)) for i in ids}


def event_attendees(event: Event) -> list[tuple[Registration, Certificate | None]]:
    """The people checked in at the event, by name, each with their valid certificate (or None)."""
    registrations = db.session.scalars(
        select(Registration).join(Registration.user).where(Registration.event_id == event.id, attended_clause())
        .options(joinedload(Registration.user)).order_by(User.name, Registration.id)).all()
    certificates = {c.registration_id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.event_id == event.id, Certificate.revoked_at.is_(None),
                                  Certificate.kind == CertificateKind.participation))}
    return [(r, certificates.get(r.id)) for r in registrations]


def calls_by_year():
    """select(Call), newest academic year first."""
    return select(Call).order_by(Call.academic_year.desc(), Call.opens_at.desc(), Call.id.desc())


def call_counts(call_ids) -> dict[int, tuple[int, int, int]]:
    """call id → (placed students, valid placement letters, valid completion certificates)."""
    ids = list(call_ids)
    if not ids:
        return {}
    placed = dict(db.session.execute(
        select(Application.call_id, func.count(Application.id))
        .where(Application.call_id.in_(ids), Application.status.in_(PLACED_STATUSES),
               Application.placed_place_id.is_not(None)).group_by(Application.call_id)).all())
    issued: dict[tuple[int, CertificateKind], int] = {}
    for call_id, kind, count in db.session.execute(
            select(Certificate.call_id, Certificate.kind, func.count(Certificate.id))
            .where(Certificate.call_id.in_(ids), Certificate.revoked_at.is_(None))
            .group_by(Certificate.call_id, Certificate.kind)):
        issued[(call_id, kind)] = count
    return {i: (placed.get(i, 0), issued.get((i, CertificateKind.placement), 0),
                issued.get((i, CertificateKind.completion), 0)) for i in ids}


@dataclass
class PlacedRow:
    application: Application
    record: CompletionRecord | None
    letter: Certificate | None
    completion: Certificate | None


def call_students(call: Call) -> list[PlacedRow]:
    from .kinds import _application_options
    applications = db.session.scalars(
        select(Application).where(Application.call_id == call.id, Application.status.in_(PLACED_STATUSES),
                                  Application.placed_place_id.is_not(None))
        .options(*_application_options()).order_by(Application.full_name, Application.id)).unique().all()
    ids = [a.id for a in applications]
    records = {r.application_id: r for r in db.session.scalars(
        select(CompletionRecord).where(CompletionRecord.application_id.in_(ids)))} if ids else {}
    certificates = db.session.scalars(select(Certificate).where(
        Certificate.application_id.in_(ids), Certificate.revoked_at.is_(None))).all() if ids else []
    letters = {c.application_id: c for c in certificates if c.kind is CertificateKind.placement}
    completions = {c.application_id: c for c in certificates if c.kind is CertificateKind.completion}
    return [PlacedRow(a, records.get(a.id), letters.get(a.id), completions.get(a.id)) for a in applications]


def history_of(certificate: Certificate) -> list[Certificate]:
    """Every certificate for the same kind and subject, newest first (reissues and revocations); once the
    subject is gone, the certificate and those it replaced, one after the other."""
    spec = spec_of(certificate.kind)
    subject_id = certificate.subject_id
    if subject_id is None:
        chain = [certificate]
        while chain[-1].replaces is not None and chain[-1].replaces not in chain:
            chain.append(chain[-1].replaces)
        return chain
    return list(db.session.scalars(
        select(Certificate).where(Certificate.kind == certificate.kind,
                                  getattr(Certificate, spec.subject_column) == subject_id)
        .options(selectinload(Certificate.issued_by), selectinload(Certificate.revoked_by),
                 selectinload(Certificate.replaces))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())))


# --- Following the other domains -------------------------------------------------------------------

def _revoke_placement_letter(application, *, change, by, **kwargs) -> None:
    """A withdrawn application's placement letter is no longer true: revoke it."""
    if change.to_status is ApplicationStatus.withdrawn:
        revoke_for_subject(CertificateKind.placement, application.id, by,
                           _("The student withdrew from the exchange."))


def _revoke_letter_of_nomination(nomination, *, by, reason, **kwargs) -> None:
    """A placement letter issued for a cancelled or rejected nomination no longer holds."""
    revoke_for_subject(CertificateKind.placement, nomination.application_id, by, reason)


def _certificate_resting_on(registration, **kwargs) -> str | None:
    """A check-in behind a valid certificate of participation stays (events ask before removing one)."""
    number = db.session.scalar(select(Certificate.number).where(
        Certificate.valid_key == valid_key_for(CertificateKind.participation, registration.id)))
    if number is None:
        return None
    return _("Certificate of participation %(number)s rests on this check-in. Revoke the certificate first.",
             number=number)


def connect_signals() -> None:
    """Follow the applications workflow, the placements' nominations and the events' check-ins (create_app)."""
    signals.application_status_changed.connect(_revoke_placement_letter, weak=False)
    signals.nomination_ended.connect(_revoke_letter_of_nomination, weak=False)
    signals.checkin_removal_requested.connect(_certificate_resting_on, weak=False)
