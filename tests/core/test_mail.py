"""The mail service against a real SMTP server started inside the test."""
from email.header import decode_header, make_header
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from exchange.auth.models import User
from exchange.core import mail
from tests.fixtures.network import free_port


class Collector(MessageHandler):
    """Keeps the messages, and the client address of each one's connection (one port per connection)."""

    def __init__(self):
        super().__init__()
        self.received = []
        self.peers = []

    async def handle_DATA(self, server, session, envelope):
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)

    def handle_message(self, message):
        self.received.append(message)


@pytest.fixture
def smtp_server():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    """The app sends through the test's SMTP server; returns what that server received."""
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    return handler


def test_mail_goes_through_smtp_when_configured(app, db, smtp):
    handler = smtp
    with app.test_request_context():
        mail.send(mail.Message(to=["ana@example.org"], subject="Hello ✓", text="Bonjour, ça va ?",
                               attachments=[mail.Attachment("a.ics", b"BEGIN:VCALENDAR", "text/calendar")]))
    for _ in range(50):
        if handler.received:
            break
        time.sleep(0.05)
    assert len(handler.received) == 1
    received = handler.received[0]
    assert received["To"] == "ana@example.org"
    assert str(make_header(decode_header(received["Subject"]))) == "Hello ✓"
    parts = list(received.walk())
    assert any(p.get_filename() == "a.ics" for p in parts)
    body = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "Bonjour, ça va ?" in body


def test_password_reset_mail_over_smtp_in_the_users_language(app, client, make_user, db, smtp):
    handler = smtp
    make_user(email="lea@example.org", locale="fr")
    db.session.commit()
    client.post("/auth/forgot", data={"email": "lea@example.org"})
    for _ in range(50):
        if handler.received:
            break
        time.sleep(0.05)
    assert handler.received, "no message reached the SMTP server"
    assert "mot de passe" in str(make_header(decode_header(handler.received[0]["Subject"]))).lower()


def test_without_smtp_mail_goes_to_the_folder(app, db, outbox):
    with app.test_request_context():
        mail.send(mail.Message(to=["ana@example.org"], subject="Folder test", text="Body"))
    assert outbox.last()["Subject"] == "Folder test"


def test_external_urls_come_from_base_url(app):
    with app.test_request_context("/", headers={"Host": "attacker.example"}):
        assert mail.external_url("auth.login") == "http://exchange.test/auth/login"
    with app.app_context():
        assert mail.external_url("auth.reset_password", token="abc") == "http://exchange.test/auth/reset/abc"


def wait_for(handler, n):
    for _ in range(100):
        if len(handler.received) >= n:
            return
        time.sleep(0.05)


def test_bulk_mail_shares_one_smtp_connection(app, db, smtp):
    handler = smtp
    with app.test_request_context():
        with mail.connection():
            with mail.connection():  # nested: the outer connection serves
                for n in range(3):
                    mail.send(mail.Message(to=[f"s{n}@example.org"], subject=f"Offer {n}", text="…"))
            mail.send(mail.Message(to=["s3@example.org"], subject="Offer 3", text="…"))
        wait_for(handler, 4)
        assert len(handler.received) == 4 and len(set(handler.peers)) == 1
        for n in range(2):  # outside the block: a connection per message, as before
            mail.send(mail.Message(to=[f"t{n}@example.org"], subject=f"Single {n}", text="…"))
        wait_for(handler, 6)
        assert len(handler.received) == 6 and len(set(handler.peers)) == 3


def test_bulk_mail_reconnects_when_the_server_drops_the_connection(app, db, smtp):
    handler = smtp
    with app.test_request_context():
        with mail.connection():
            mail.send(mail.Message(to=["a@example.org"], subject="One", text="…"))
            mail._shared.get()["smtp"].close()  # as if the server had hung up
            mail.send(mail.Message(to=["b@example.org"], subject="Two", text="…"))
        wait_for(handler, 2)
        assert [m["Subject"] for m in handler.received] == ["One", "Two"] and len(set(handler.peers)) == 2


def test_no_connection_is_opened_when_the_block_sends_nothing(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens: opening would fail
    with app.test_request_context():
        with mail.connection():
            pass


# --- Headers on one line ------------------------------------------------------------------------------

def test_subjects_and_display_names_stay_on_one_line(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "International\r\nOffice <office@example.org>")
    with app.test_request_context():
        email = mail.build(mail.Message(to=["Ana\r\nPérez <ana@example.org>"], text="Body",
                                        subject="Nomination: Ana\r\nPérez\tRuiz \u2028 at\x85Bologna"))
    assert email["Subject"] == "Nomination: Ana Pérez Ruiz at Bologna"
    assert email["To"] == "Ana Pérez <ana@example.org>" and email["From"] == "International Office <office@example.org>"


def test_a_line_break_in_a_value_stays_in_the_subject_and_the_body_keeps_its_lines(app):
    from types import SimpleNamespace
    call = SimpleNamespace(title="Erasmus\r\n2027/28")
    with app.test_request_context():
        message = mail.compose("ana@example.org", "application_message", application=SimpleNamespace(call=call),
                               student=SimpleNamespace(name="Ana"), link="http://exchange.test/x",
                               comment=SimpleNamespace(author=None, body="First line.\r\nSecond line."))
    assert message.subject == "A message about your application: Erasmus 2027/28"
    assert message.text.startswith("Hello Ana,") and "First line.\r\nSecond line." in message.text
    assert "\ue000" not in message.text and "\ue001" not in message.text


# --- After the commit -----------------------------------------------------------------------------------

def note(to="ana@example.org", subject="Hello"):
    return mail.Message(to=[to], subject=subject, text="…")


def test_mail_waits_for_the_commit_and_goes_with_the_work(app, db, outbox, make_user):
    make_user(email="change@example.org")  # a change not committed yet
    assert mail.send(note(subject="After the commit")) is None and len(outbox) == 0
    db.session.commit()
    assert [m["Subject"] for m in outbox.messages()] == ["After the commit"]

    make_user(email="undone@example.org")
    mail.send(note(subject="Rolled back"))
    db.session.rollback()
    db.session.commit()
    assert len(outbox) == 1  # dropped with the work

    db.session.execute(db.select(db.text("1")))  # a transaction that has only read (a job after its commit)
    assert mail.send(note(subject="At once")) is not None and len(outbox) == 2


def test_a_released_savepoint_does_not_send(app, db, outbox, make_user):
    with db.session.begin_nested():
        make_user(email="nested@example.org")
        mail.send(note(subject="Outer commit"))
    assert len(outbox) == 0
    db.session.commit()
    assert [m["Subject"] for m in outbox.messages()] == ["Outer commit"]


def test_send_after_commit_waits_even_for_a_transaction_that_only_read(app, db, outbox):
    db.session.execute(db.select(db.text("1")))
    mail.send_after_commit(note(subject="Waits"))
    assert len(outbox) == 0
    db.session.rollback()
    db.session.commit()
    assert len(outbox) == 0
    mail.send_after_commit(note(subject="Waits"))
    db.session.commit()
    assert [m["Subject"] for m in outbox.messages()] == ["Waits"]


def test_a_failure_after_the_commit_is_logged_and_recorded(app, db, outbox, make_user, monkeypatch, caplog):
    import logging

    from exchange.core.audit import AuditEvent
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens: refused
    make_user(email="kept@example.org")
    mail.send(note(to="ana@example.org", subject="Your place"))
    assert mail.send_template("ana@example.org", "no_such_template") is None  # cannot even be written
    with caplog.at_level(logging.ERROR, logger="exchange.core.mail"):
        db.session.commit()  # does not raise
    assert "Could not send 'Your place'" in caplog.text
    details = sorted(e.detail for e in db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "mail_failed")))
    assert details[0].startswith("ana@example.org: Your place (ConnectionRefusedError")
    assert details[1].startswith("ana@example.org: [no_such_template] (TemplateNotFound")
    assert db.session.scalar(db.select(User.id).where(User.email == "kept@example.org")) is not None
    with pytest.raises(Exception):  # with nothing to wait for, the caller sees the failure, as before
        mail.send_template("ana@example.org", "no_such_template")
