"""The one mail service: SMTP when configured, otherwise the log and a folder in the instance directory.

Mail and the work it reports go together: a message sent while the database session's transaction holds changes
not yet committed (a workflow: a nomination decided, a registration made) waits in ``session.info`` and goes out
once that transaction commits, from an ``after_commit`` hook; it is dropped when the transaction is rolled back.
With nothing to wait for (a job that has committed, a page that only read) it goes out at once, as before.
:func:`send_after_commit` always waits for the commit. A message that cannot be sent after the commit never
undoes the work nor turns the page into an error: it is logged and recorded in the audit log (``mail_failed``,
with the recipients and the subject), which administrators read.
"""
import logging
import os
import re
import smtplib
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_login import current_user
from jinja2 import TemplateNotFound
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from ..extensions import db
from .types import utcnow
from .urls import site_path

log = logging.getLogger(__name__)


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass
class Message:
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


#: Line breaks, tabs and the other control characters (C0, DEL, C1, Unicode line and paragraph separators), with
#: the spaces around them: a header must stay on one line (a line break in a header is refused, or worse, read as
#: the start of another header).
_HEADER_BREAKS = re.compile(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029]+\s*")


def one_line(value: str) -> str:
    """`value` fit for a mail header: every run of line breaks, tabs and control characters becomes one space."""
    return _HEADER_BREAKS.sub(" ", value or "").strip()


def build(message: Message) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = one_line(config["MAIL_DEFAULT_SENDER"])
    email["To"] = ", ".join(one_line(address) for address in message.to)
    email["Subject"] = one_line(message.subject)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="exchange.local")
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                             filename=attachment.filename)
    return email


#: Inside `connection()`: {"smtp": the open connection or None until the first message}.
_shared: ContextVar[dict | None] = ContextVar("smtp_connection", default=None)


def _open_smtp(config) -> smtplib.SMTP:
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    smtp = smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


@contextmanager
def connection():
    """Send every message of the block over one SMTP connection, opened at the first message (bulk mail:
    one handshake and login for thousands of messages, not one each). Nested blocks share the outer one."""
    if _shared.get() is not None:
        yield
        return
    holder = {"smtp": None}
    token = _shared.set(holder)
    try:
        yield
    finally:
        _shared.reset(token)
        if holder["smtp"] is not None:
            try:
                holder["smtp"].quit()
            except (smtplib.SMTPException, OSError):
                pass


def _deliver(config, email: EmailMessage) -> None:
    holder = _shared.get()
    if holder is None:
        with _open_smtp(config) as smtp:
            smtp.send_message(email)
        return
    if holder["smtp"] is None:
        holder["smtp"] = _open_smtp(config)
    try:
        holder["smtp"].send_message(email)
    except smtplib.SMTPServerDisconnected:  # the server closed an idle or long-used connection: once more
        holder["smtp"] = _open_smtp(config)
        holder["smtp"].send_message(email)


def send(message: Message) -> EmailMessage | None:
    """Send by SMTP when MAIL_SERVER is set, or write to the mail folder and the log: once the session's
    transaction commits when it holds changes not yet committed (None is returned then), otherwise at once."""
    session = db.session()
    if _holds_changes(session):
        _wait_for_commit(session, message)
        return None
    return _send_now(message)


def send_after_commit(message: Message) -> None:
    """Send once the session's transaction commits (never if it is rolled back)."""
    _wait_for_commit(db.session(), message)


def _send_now(message: Message) -> EmailMessage:
    config = current_app.config
    email = build(message)
    if config.get("MAIL_SERVER"):
        _deliver(config, email)
        log.info("Mail sent to %s: %s", email["To"], message.subject)
    else:
        folder = config["MAIL_FOLDER"]
        os.makedirs(folder, exist_ok=True)
        name = f"{formatdate(usegmt=True)[5:25].replace(' ', '-').replace(':', '')}-{uuid.uuid4().hex[:8]}.eml"
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(bytes(email))
        log.info("Mail to %s: %s (saved to %s)\n%s", email["To"], message.subject, path, message.text)
    return email


def compose(to: str | list[str], template: str, locale: str | None = None,
            attachments: list[Attachment] | None = None, **context) -> Message:
    """templates/email/<template>.txt (and .html when present) rendered in the recipient's language.

    The subject is the template's first line, 'Subject: ...': a value written into it stays on that line even when
    it holds a line break (a name saved before the forms refused them), which becomes a space.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    with force_locale(locale or "en"):
        context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
        text = _render_text(f"email/{template}.txt", context)
        subject, _, body = text.partition("\n")  # the template's own line break, not one from a value
        try:
            html = render_template(f"email/{template}.html", **context)
        except TemplateNotFound:
            html = None
    return Message(to=recipients, subject=one_line(_unmark(subject).removeprefix("Subject:")),
                   text=_unmark(body).lstrip("\n"), html=html, attachments=list(attachments or []))


def send_template(to: str | list[str], template: str, locale: str | None = None,
                  attachments: list[Attachment] | None = None, **context) -> EmailMessage | None:
    """Render templates/email/<template>.txt (:func:`compose`) in the recipient's language and send it (see
    :func:`send`: after the commit when the transaction holds changes)."""
    try:
        message = compose(to, template, locale, attachments, **context)
    except Exception as exc:
        session = db.session()
        if not _holds_changes(session):
            raise
        # The workflow goes on: the failure is reported once its work is committed, like a refused message.
        recipients = [to] if isinstance(to, str) else list(to)
        _pending(session).append(_Waiting(Message(to=recipients, subject=f"[{template}]", text=""), _actor(),
                                          failure=f"{type(exc).__name__}: {exc}"))
        log.exception("Could not write the %s mail to %s", template, recipients)
        return None
    return send(message)


# Values written into a text template have their line breaks marked (characters of Unicode's private use area) while
# it is rendered, so that the template's first line break, which ends the subject, is told from theirs.
_MARKS = {"\r": "\ue000", "\n": "\ue001"}
_UNMARK = str.maketrans({mark: char for char, mark in _MARKS.items()})


def _mark(value):
    if isinstance(value, str):
        return value.replace("\r", _MARKS["\r"]).replace("\n", _MARKS["\n"])
    return value


def _unmark(text: str) -> str:
    return text.translate(_UNMARK)


def _render_text(name: str, context: dict) -> str:
    """`render_template` through an overlay of the app's Jinja environment that marks the values' line breaks."""
    app = current_app._get_current_object()
    environment = app.extensions.get("mail_text_environment")
    if environment is None:  # its own cache: templates compiled for it apply the finalize
        environment = app.jinja_env.overlay(finalize=_mark, cache_size=100)
        app.extensions["mail_text_environment"] = environment
    app.update_template_context(context)
    return environment.get_template(name).render(context)


# --- Mail sent after the commit -----------------------------------------------------------------------

_PENDING = "mail_pending"  # session.info: the messages waiting for the transaction's commit
_WROTE = "mail_wrote"  # session.info: the transaction has written (a flush, or an INSERT/UPDATE/DELETE statement)


@dataclass
class _Waiting:
    message: Message
    actor: tuple  # (user id, email, address) of whoever acted, for the audit log
    failure: str | None = None  # the message could not even be written


def _holds_changes(session) -> bool:
    """Whether the session's transaction holds changes not yet committed: objects to flush, or flushed writes."""
    if session.new or session.dirty or session.deleted:
        return True
    return session.in_transaction() and bool(session.info.get(_WROTE))


def _pending(session) -> list:
    return session.info.setdefault(_PENDING, [])


def _actor() -> tuple:
    if not has_request_context():
        return None, None, None
    user = current_user if current_user and current_user.is_authenticated else None
    return getattr(user, "id", None), getattr(user, "email", None), request.remote_addr


def _wait_for_commit(session, message: Message) -> None:
    _pending(session).append(_Waiting(message, _actor()))


@event.listens_for(Session, "after_flush")
def _note_flush(session, _flush_context):
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_write(state):
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete or (
            isinstance(statement, TextClause) and statement.text.lstrip()[:6].upper() != "SELECT"):
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _send_pending(session):
    if session.in_nested_transaction():  # a savepoint released: the work is not committed yet
        return
    waiting = session.info.pop(_PENDING, None)
    if not waiting:
        return
    with connection():  # several messages (everyone registered to an event): one SMTP connection
        for item in waiting:
            if item.failure is not None:
                _record_failure(item, item.failure)
                continue
            try:
                _send_now(item.message)
            except Exception as exc:  # the work is committed: a mail failure must not undo it nor be an error page
                log.exception("Could not send '%s' to %s", item.message.subject, item.message.to)
                _record_failure(item, f"{type(exc).__name__}: {exc}")


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session, transaction):
    if transaction.parent is None:  # the outermost transaction: committed (sent above) or rolled back (dropped)
        session.info.pop(_PENDING, None)
        session.info.pop(_WROTE, None)


def _record_failure(item: _Waiting, failure: str) -> None:
    """An audit event `mail_failed` (the recipients, the subject, the error), in a transaction of its own: the
    session's has just ended."""
    from .audit import AuditEvent
    user_id, email, address = item.actor
    detail = f"{', '.join(item.message.to)}: {one_line(item.message.subject)} ({one_line(failure)})"
    try:
        with db.engine.begin() as conn:
            conn.execute(AuditEvent.__table__.insert().values(
                at=utcnow(), action="mail_failed", user_id=user_id, email=email, address=address,
                detail=detail[:500]))
    except Exception:
        log.exception("Could not record the failed mail in the audit log: %s", detail)


def external_url(endpoint: str, **values) -> str:
    """An absolute link built from the configured BASE_URL, never from the request's Host header.

    Works inside and outside a request (background jobs, the CLI).
    """
    return current_app.config["BASE_URL"].rstrip("/") + site_path(endpoint, **values)
