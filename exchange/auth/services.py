"""Accounts: sign-up, login with throttling, passwords, reset and invitation tokens."""
from datetime import timedelta

from flask import current_app
from ..core.i18n import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..core import audit, mail
from ..core.errors import WorkflowError
from ..core.types import utcnow
from ..extensions import db
from .models import LoginAttempt, Role, User

RESET_SALT = "password-reset"
INVITE_SALT = "invitation"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def email_taken(email: str, exclude_id: int | None = None) -> bool:
    q = select(User.id).where(User.email == normalise_email(email))
    if exclude_id:
        q = q.where(User.id != exclude_id)
    return db.session.scalar(q) is not None


def create_user(email: str, name: str, role: Role, password: str | None = None,
                institution_id: int | None = None, locale: str | None = None) -> User:
    if email_taken(email):
        raise WorkflowError(_("An account with this email address already exists."), code="email-taken", field="email")
    if role is Role.partner and not institution_id:
        raise WorkflowError(_("A partner user must belong to a partner institution."), code="partner-needs-institution", field="institution_id")
    user = User(email=normalise_email(email), name=name.strip(), role=role,
                institution_id=institution_id if role is Role.partner else None, locale=locale)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


# --- Login throttling -------------------------------------------------------------------------

def _window_start():
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def login_blocked_for(email: str, address: str | None) -> int:
    """Minutes to wait before another attempt is allowed (0 when allowed)."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    since = _window_start()
    conditions = [LoginAttempt.email == normalise_email(email)]
    if address:
        conditions.append(LoginAttempt.address == address)
    worst = 0
    for condition in conditions:
        count, oldest = db.session.execute(
            select(func.count(LoginAttempt.id), func.min(LoginAttempt.at))
            .where(condition, LoginAttempt.at >= since)).one()
        if count >= limit and oldest is not None:
            if oldest.tzinfo is None:
                from datetime import timezone
                oldest = oldest.replace(tzinfo=timezone.utc)
            remaining = oldest + timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"]) - utcnow()
            worst = max(worst, max(1, int(remaining.total_seconds() // 60) + 1))
    return worst


def authenticate(email: str, password: str, address: str | None) -> User:
    """Return the user for valid credentials; raise WorkflowError('throttled'|'invalid'|'inactive')."""
    email = normalise_email(email)
    blocked = login_blocked_for(email, address)
    if blocked:
        audit.record("login_throttled", email=email)
        raise WorkflowError(_("Too many failed attempts. Please wait %(minutes)s minutes and try again, or reset your password.", minutes=blocked), code="throttled", status=429)
    user = find_user_by_email(email)
    if user is None or not user.check_password(password):
        db.session.add(LoginAttempt(email=email, address=address))
        audit.record("login_failed", user=user, email=email)
        raise WorkflowError(_("Wrong email address or password."), code="invalid", status=401)
    if not user.is_active:
        audit.record("login_inactive", user=user)
        raise WorkflowError(_("This account has been deactivated. Please contact the international office."), code="inactive", status=403)
    # A successful login clears the account's failures (the address keeps its count).
    db.session.execute(LoginAttempt.__table__.delete().where(LoginAttempt.email == email))
    user.last_login_at = utcnow()
    audit.record("login", user=user)
    return user


def prune_login_attempts() -> int:
    result = db.session.execute(LoginAttempt.__table__.delete().where(LoginAttempt.at < _window_start()))
    return result.rowcount or 0


# --- Passwords -----------------------------------------------------------------------------------

def change_password(user: User, new_password: str) -> None:
    user.set_password(new_password)
    user.end_all_sessions()
    audit.record("password_changed", user=user)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    # Changes whenever the password does, so a used token cannot be used again.
    return (user.password_hash or "none")[-16:]


def make_token(user: User, salt: str) -> str:
    return _serializer(salt).dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_from_token(token: str, salt: str, max_age: int) -> User:
    """Raise WorkflowError('expired'|'invalid') for a bad, expired or already used token."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise WorkflowError(_("This link has expired. Please ask for a new one."), code="expired", status=400)
    except BadSignature:
        raise WorkflowError(_("This link is not valid or has already been used."), code="invalid", status=400)
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != _fingerprint(user) or not user.is_active:
        raise WorkflowError(_("This link is not valid or has already been used."), code="invalid", status=400)
    return user


def send_password_reset(email: str) -> None:
    """Send a reset link if the account exists; say nothing either way (no account enumeration)."""
    user = find_user_by_email(email)
    audit.record("password_reset_requested", user=user, email=normalise_email(email))
    if user is None or not user.is_active:
        return
    link = mail.external_url("auth.reset_password", token=make_token(user, RESET_SALT))
    mail.send_template(user.email, "password_reset", locale=user.locale, user=user, link=link,
                       minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60)


def reset_password(token: str, new_password: str) -> User:
    user = user_from_token(token, RESET_SALT, current_app.config["PASSWORD_RESET_MAX_AGE"])
    change_password(user, new_password)
    audit.record("password_reset", user=user)
    return user


def invite_user(email: str, name: str, role: Role, institution_id: int | None, invited_by: User) -> User:
    user = create_user(email, name, role, institution_id=institution_id)
    audit.record("user_invited", user=invited_by, detail=f"{user.email} as {role.value}")
    link = mail.external_url("auth.accept_invitation", token=make_token(user, INVITE_SALT))
    mail.send_template(user.email, "invitation", locale=user.locale, user=user, link=link,
                       invited_by=invited_by, days=current_app.config["INVITATION_MAX_AGE"] // 86400)
    return user


def accept_invitation(token: str, new_password: str) -> User:
    user = user_from_token(token, INVITE_SALT, current_app.config["INVITATION_MAX_AGE"])
    user.set_password(new_password)
    user.end_all_sessions()
    audit.record("invitation_accepted", user=user)
    return user


# --- Administration ------------------------------------------------------------------------------

def change_role(user: User, role: Role, institution_id: int | None, by: User) -> None:
    if user.id == by.id and role is not Role.admin:
        raise WorkflowError(_("You cannot remove your own administrator role."), code="cannot-demote-self", field="role")
    if role is Role.partner and not institution_id:
        raise WorkflowError(_("A partner user must belong to a partner institution."), code="partner-needs-institution", field="institution_id")
    old = user.role
    user.role = role
    user.institution_id = institution_id if role is Role.partner else None
    user.end_all_sessions()
    audit.record("role_changed", user=by, detail=f"{user.email}: {old.value} -> {role.value}")


def set_active(user: User, active: bool, by: User) -> None:
    if user.id == by.id and not active:
        raise WorkflowError(_("You cannot deactivate your own account."), code="cannot-deactivate-self")
    user.is_active_account = active
    if not active:
        user.end_all_sessions()
    audit.record("user_activated" if active else "user_deactivated", user=by, detail=user.email)


def search_users(text: str | None = None, role: Role | None = None):
    q = select(User)
    if text:  # "50%" and "a_b" are found as typed (autoescape: % and _ are no wildcards)
        term = text.strip()
        q = q.where(or_(User.email.icontains(term, autoescape=True), User.name.icontains(term, autoescape=True)))
    if role:
        q = q.where(User.role == role)
    return q.options(selectinload(User.institution)).order_by(User.name, User.id)
