"""Accounts: sign-up, login with throttling, passwords, reset and invitation tokens."""
import hashlib
import hmac
import secrets
from datetime import timedelta, timezone
from functools import lru_cache

from flask import current_app
from ..core.i18n import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import signals
from ..core import audit, mail
from ..core.audit import AuditEvent
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


def sign_up(email: str, name: str, password: str, locale: str | None) -> tuple[User, str | None]:
    """A student account for a new address. The visitor is answered the same whether or not the address had an
    account (no account enumeration): both cases hash the password, and both mail the address, which only its
    owner reads. Returns (the new or existing account, the mail to send it after commit or None):

    - a new address: the account is created (the student logs in with the password they chose) and welcomed;
    - an address with an active account: nothing changes; its owner is told that someone tried, with links to
      log in and to reset the password (at most ACCOUNT_MAILS_PER_HOUR such mails an hour).
    """
    existing = find_user_by_email(email)
    if existing is None:
        user = create_user(email, name, Role.student, password=password, locale=locale)
        audit.record("signup", user=user)
        return user, "signup_welcome"
    generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])  # the same work
    audit.record("signup_existing_email", user=existing)
    if not existing.is_active or not _may_mail(existing):
        return existing, None
    audit.record("signup_notice_sent", user=existing)
    return existing, "signup_existing"


def send_signup_mail(user: User, template: str) -> None:
    mail.send_template(user.email, template, locale=user.locale, user=user,
                       login_link=mail.external_url("auth.login"),
                       reset_link=mail.external_url("auth.forgot_password"))


# --- Mails a visitor can make the site send -------------------------------------------------------

#: Audit actions of the mails anyone can have sent to an account by typing its address.
UNSOLICITED_MAILS = ("password_reset_sent", "signup_notice_sent")


def _may_mail(user: User) -> bool:
    """Whether the account had fewer than ACCOUNT_MAILS_PER_HOUR reset links and sign-up notices in the last hour
    (beyond that the visitor gets the same answer, and the mailbox nothing)."""
    since = utcnow() - timedelta(hours=1)
    sent = db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.user_id == user.id, AuditEvent.action.in_(UNSOLICITED_MAILS), AuditEvent.at >= since))
    return sent < current_app.config["ACCOUNT_MAILS_PER_HOUR"]


# --- Login throttling -------------------------------------------------------------------------
#
# Two rules over the failed logins of the last LOGIN_WINDOW_MINUTES (table login_attempts). Behind a reverse
# proxy an "address" is the client's only when TRUSTED_PROXIES is right (create_app); otherwise every visitor
# shares the proxy's.
#
# 1. Per address: an address with LOGIN_MAX_FAILURES failures, whatever the accounts, may not try again until
#    the oldest of them leaves the window. It slows down a guesser at that address and nobody else: the
#    accounts it tried stay open to everyone else.
# 2. Per account: an account with LOGIN_ACCOUNT_MAX_FAILURES failures, from any addresses, is closed to new
#    addresses until enough of them have left the window. This caps guessing one password from many addresses.
#    It cannot be used to keep the owner out: the threshold is above what one address may fail in a window
#    (rule 1), so one attacker alone never reaches it; the addresses the account signed in from within
#    LOGIN_KNOWN_ADDRESS_DAYS stay open; and a reset link always works.
#
# A successful login forgets the failures of that account from that address (its owner's typos); when the
# address is unknown (None), all the account's failures. Failures older than the window no longer count:
# prune_login_attempts deletes them (flask maintenance prune, and flask worker hourly: jobs/maintenance.py).

def _window_start():
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def _minutes_until_below(condition, limit: int) -> int:
    """Minutes until fewer than `limit` failures matching `condition` are left in the window (0: already)."""
    since = _window_start()
    count = db.session.scalar(select(func.count(LoginAttempt.id)).where(condition, LoginAttempt.at >= since))
    if count < limit:
        return 0
    # The window has to pass the (count - limit + 1)th oldest failure.
    at = db.session.scalar(select(LoginAttempt.at).where(condition, LoginAttempt.at >= since)
                           .order_by(LoginAttempt.at, LoginAttempt.id).offset(count - limit).limit(1))
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    remaining = at + timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"]) - utcnow()
    return max(1, int(remaining.total_seconds() // 60) + 1)


def _signed_in_from(email: str, address: str | None) -> bool:
    """Whether the account signed in from this address within LOGIN_KNOWN_ADDRESS_DAYS (the audit log's logins)."""
    if not address:
        return False
    since = utcnow() - timedelta(days=current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"])
    account = select(User.id).where(User.email == email).scalar_subquery()
    return db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.user_id == account, AuditEvent.action == "login", AuditEvent.address == address,
        AuditEvent.at >= since).limit(1)) is not None


def login_blocked_for(email: str, address: str | None) -> int:
    """Minutes to wait before another attempt for `email` from `address` is allowed (0 when allowed)."""
    config = current_app.config
    email = normalise_email(email)
    if address:
        wait = _minutes_until_below(LoginAttempt.address == address, config["LOGIN_MAX_FAILURES"])
        if wait:
            return wait
    # Never reachable from one address alone (rule 1 stops it first).
    account_limit = max(config["LOGIN_ACCOUNT_MAX_FAILURES"], config["LOGIN_MAX_FAILURES"] + 1)
    wait = _minutes_until_below(LoginAttempt.email == email, account_limit)
    if wait and _signed_in_from(email, address):
        return 0
    return wait


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def password_matches(user: User | None, password: str) -> bool:
    """Check the password, doing the same hashing work whether or not the account exists or has a password yet,
    so that an unknown address does not answer faster than a known one."""
    if user is not None and user.password_hash:
        return check_password_hash(user.password_hash, password)
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
    return False


def authenticate(email: str, password: str, address: str | None) -> User:
    """Return the user for valid credentials; raise WorkflowError('throttled'|'invalid'|'inactive')."""
    email = normalise_email(email)
    blocked = login_blocked_for(email, address)
    if blocked:
        audit.record("login_throttled", email=email)
        raise WorkflowError(_("Too many failed attempts. Please wait %(minutes)s minutes and try again, or reset your password.", minutes=blocked), code="throttled", status=429)
    user = find_user_by_email(email)
    if not password_matches(user, password):
        db.session.add(LoginAttempt(email=email, address=address))
        audit.record("login_failed", user=user, email=email)
        raise WorkflowError(_("Wrong email address or password."), code="invalid", status=401)
    if not user.is_active:
        audit.record("login_inactive", user=user)
        raise WorkflowError(_("This account has been deactivated. Please contact the international office."), code="inactive", status=403)
    forget = LoginAttempt.__table__.delete().where(LoginAttempt.email == email)
    db.session.execute(forget.where(LoginAttempt.address == address) if address else forget)
    user.last_login_at = utcnow()
    audit.record("login", user=user)
    return user


def prune_login_attempts() -> int:
    """Delete the failed logins that have left the window (they no longer count); how many were deleted."""
    result = db.session.execute(LoginAttempt.__table__.delete().where(LoginAttempt.at < _window_start()))
    return result.rowcount or 0


# --- Passwords -----------------------------------------------------------------------------------

def change_password(user: User, new_password: str) -> None:
    user.set_password(new_password)
    _after_new_password(user)
    audit.record("password_changed", user=user)


def _after_new_password(user: User) -> None:
    """After a new password: every session and remember cookie ends, and so does the private calendar link (a new
    one replaces it if the user had one: events follow ``signals.password_changed``), which someone who knew the
    old password may have copied."""
    user.end_all_sessions()
    signals.password_changed.send(user)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User, salt: str) -> str:
    """A keyed digest of the account's session token: a random secret of the account (in the database and in its
    owner's session cookies only), replaced on every password change, and at logout, role change and
    deactivation. Without it no one can make a link for an account, not even knowing SECRET_KEY (an account
    without a password included), and a used or outdated link stops working."""
    return hmac.new(user.session_token.encode(), f"{salt}:{user.id}".encode(), hashlib.sha256).hexdigest()[:32]


def make_token(user: User, salt: str) -> str:
    return _serializer(salt).dumps({"uid": user.id, "fp": _fingerprint(user, salt)})


def user_from_token(token: str, salt: str, max_age: int) -> User:
    """Raise WorkflowError('expired'|'invalid') for a bad, expired or already used token."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise WorkflowError(_("This link has expired. Please ask for a new one."), code="expired", status=400)
    except BadSignature:
        raise WorkflowError(_("This link is not valid or has already been used."), code="invalid", status=400)
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) and isinstance(data.get("uid"), int) \
        else None
    if user is None or not user.is_active \
            or not hmac.compare_digest(str(data.get("fp")).encode(), _fingerprint(user, salt).encode()):
        raise WorkflowError(_("This link is not valid or has already been used."), code="invalid", status=400)
    return user


def request_password_reset(email: str) -> User | None:
    """Record the request and return the account to send a reset link to after commit, or None: no account, a
    deactivated one, or one that had ACCOUNT_MAILS_PER_HOUR such mails in the last hour. The visitor is told the
    same in every case (no account enumeration)."""
    user = find_user_by_email(email)
    audit.record("password_reset_requested", user=user, email=normalise_email(email))
    if user is None or not user.is_active or not _may_mail(user):
        return None
    audit.record("password_reset_sent", user=user)
    return user


def send_password_reset(user: User) -> None:
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
    _after_new_password(user)
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
