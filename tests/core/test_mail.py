"""The mail service against a real SMTP server started inside the test."""
import socket
from email.header import decode_header, make_header
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from exchange.core import mail


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
