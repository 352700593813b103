"""The one mail service: SMTP when configured, otherwise the log and a folder in the instance directory."""
import logging
import os
import smtplib
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound

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


def build(message: Message) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = ", ".join(message.to)
    email["Subject"] = message.subject
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


def send(message: Message) -> EmailMessage:
    """Send at once, by SMTP when MAIL_SERVER is set, or write to the mail folder and the log."""
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


def send_template(to: str | list[str], template: str, locale: str | None = None,
                  attachments: list[Attachment] | None = None, **context) -> EmailMessage:
    """Render templates/email/<template>.txt (and .html when present) in the recipient's language and send it.

    The subject is the template's first line, 'Subject: ...'.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    with force_locale(locale or "en"):
        context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
        text = render_template(f"email/{template}.txt", **context)
        subject, _, body = text.partition("\n")
        subject = subject.removeprefix("Subject:").strip()
        try:
            html = render_template(f"email/{template}.html", **context)
        except TemplateNotFound:
            html = None
    return send(Message(to=recipients, subject=subject, text=body.lstrip("\n"), html=html,
                        attachments=attachments or []))


def external_url(endpoint: str, **values) -> str:
    """An absolute link built from the configured BASE_URL, never from the request's Host header.

    Works inside and outside a request (background jobs, the CLI).
    """
    return current_app.config["BASE_URL"].rstrip("/") + site_path(endpoint, **values)
