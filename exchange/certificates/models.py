"""Issued certificates, the yearly number counters and completion records.

Tables
------
``certificates``             one issued document (participation, placement letter, completion)
``certificate_counters``     the last number issued per calendar year (CERT-2026-000123)
``completion_records``       the facts of a completed exchange, recorded by a coordinator

A certificate refers to its subject (the event registration or the application) and keeps a snapshot of
everything it prints, taken when it is issued: the facts it states (recipient name, what, when, details)
and its issuer (`issuer_json`: the home institution's name and addresses, the signatory, and the logo and
signature as immutable copies named by their content). Nothing changes them afterwards: renaming the student,
the event or the partner, or changing the certificate settings, leaves issued certificates as they are;
reissuing (a new certificate with a new number, replacing the old one) is the way to state new facts. The
PDF is rendered once and stored; later downloads serve the same bytes. At most one valid certificate exists
per kind and subject: `valid_key` ("participation:42") is unique and set to NULL when it is revoked.
"""
import enum
import json
import secrets

from ..core.i18n import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db


class CertificateKind(str, enum.Enum):
    participation = "participation"
    placement = "placement"
    completion = "completion"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.value])


KIND_LABELS = {
    "participation": _l("Certificate of participation"),
    "placement": _l("Placement letter"),
    "completion": _l("Certificate of completed exchange"),
}


def new_verification_code() -> str:
    """128 random bits, URL-safe: 22 characters."""
    return secrets.token_urlsafe(16)


#: The longest reason for revoking a certificate (or for reissuing it).
REVOCATION_REASON_MAX = 500


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_kind_event", "kind", "event_id"),
        Index("ix_certificates_kind_call", "kind", "call_id"),
        Index("ix_certificates_issued_at", "issued_at"),
        Index("ix_certificates_recipient_issued", "recipient_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    code: Mapped[str] = mapped_column(String(43), unique=True, default=new_verification_code)
    kind: Mapped[CertificateKind] = mapped_column(
        enum_column(CertificateKind, "certificate_kind", 20))
    # The subject: an event registration (participation) or an application (placement, completion).
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="SET NULL"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True)
    # What bulk issuing groups by: the event, or the call.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "participation:42" while valid, NULL once revoked: one valid certificate per kind and subject.
    valid_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="en")

    # The facts the certificate states (a snapshot; see the module docstring).
    recipient_name: Mapped[str] = mapped_column(String(200), index=True)
    subject_title: Mapped[str] = mapped_column(String(300))
    subject_start = mapped_column(Date)
    subject_end = mapped_column(Date)
    academic_year: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(20))
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    # Who issued it, as printed: {"institution": {...}, "signatory": {...}} (see services.issuer_snapshot).
    issuer_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")

    issued_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str | None] = mapped_column(String(REVOCATION_REASON_MAX))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"),
                                                    index=True)

    # The PDF as first rendered (served on every later download) and the hash of the context it came from.
    pdf_name: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    rendered_at = mapped_column(UTCDateTime)

    recipient = relationship("User", foreign_keys=[recipient_id])
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])
    replaces = relationship("Certificate", remote_side=[id], foreign_keys=[replaces_id])

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def subject_id(self) -> int | None:
        return self.registration_id if self.kind is CertificateKind.participation else self.application_id

    @property
    def details(self) -> dict:
        return json.loads(self.details_json or "{}")

    @details.setter
    def details(self, value: dict) -> None:
        self.details_json = json.dumps(value, sort_keys=True, ensure_ascii=False)

    @property
    def issuer(self) -> dict:
        return json.loads(self.issuer_json or "{}")

    @property
    def issuer_name(self) -> str | None:
        """The institution named on the certificate when it was issued."""
        return (self.issuer.get("institution") or {}).get("name") or None

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"

    def __repr__(self) -> str:
        return f"<Certificate {self.number} {self.kind.value}{' revoked' if self.revoked_at else ''}>"


def valid_key_for(kind: CertificateKind, subject_id: int) -> str:
    return f"{kind.value}:{subject_id}"


class CertificateCounter(db.Model):
    """The last sequential number given out in a calendar year."""
    __tablename__ = "certificate_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CompletionRecord(db.Model):
    """What a coordinator records when an exchange is over: the actual dates and the credits earned."""
    __tablename__ = "completion_records"
    __table_args__ = (
        CheckConstraint("started_on <= ended_on", name="dates_ordered"),
        CheckConstraint("ects_credits IS NULL OR (ects_credits >= 0 AND ects_credits <= 120)",
                        name="credits_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    started_on = mapped_column(Date, nullable=False)
    ended_on = mapped_column(Date, nullable=False)
    ects_credits = mapped_column(Numeric(5, 1))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    application = relationship("Application")
    recorded_by = relationship("User")
