"""Accounts and roles."""
import enum
import secrets

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db


class Role(str, enum.Enum):
    student = "student"
    coordinator = "coordinator"
    partner = "partner"
    admin = "admin"

    @property
    def label(self) -> str:
        from ..core.i18n import gettext as _
        return {"student": _("Student"), "coordinator": _("Coordinator"),
                "partner": _("Partner university"), "admin": _("Administrator")}[self.value]


#: Roles that run the programmes: administrators can do everything coordinators can.
STAFF = (Role.coordinator, Role.admin)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # The administrators' user list sorts by name (then id), optionally for one role.
    __table_args__ = (Index("ix_users_role_name", "role", "name"), Index("ix_users_name_id", "name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role", 20), index=True)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_institutions.id", ondelete="RESTRICT"), index=True)
    is_active_account: Mapped[bool] = mapped_column("is_active", default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Rotated on logout, password change and deactivation: every older session or remember cookie stops working.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    # The secret of the user's private events feed (events/feed/<token>.ics), for calendar apps that cannot sign in;
    # None until they ask for one; replaced or removed from the events' subscribe page.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = mapped_column(UTCDateTime)
    password_changed_at = mapped_column(UTCDateTime)

    institution = relationship("PartnerInstitution", foreign_keys=[institution_id])

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        return self.session_token

    def set_password(self, password: str) -> None:
        from flask import current_app
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def end_all_sessions(self) -> None:
        self.session_token = new_session_token()

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def partner_institution_id(self) -> int | None:
        """The institution whose nominated students this user may see: theirs when a partner user, else None."""
        return self.institution_id if self.role is Role.partner else None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class LoginAttempt(db.Model):
    """Failed logins, counted per account and per address to slow down guessing."""
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
