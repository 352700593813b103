"""The audit log of security-relevant events (never passwords or tokens)."""
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str | None] = mapped_column(String(500))


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(action: str, user=None, email: str | None = None, detail: str | None = None) -> AuditEvent:
    """Add an audit event to the session; it is committed with the surrounding work."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    event = AuditEvent(action=action, user_id=getattr(user, "id", None),
                       email=(email or getattr(user, "email", None)),
                       address=client_address(), detail=(detail or None) and detail[:500])
    db.session.add(event)
    return event
