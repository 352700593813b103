"""The mail service against a real SMTP server started inside the test."""
import socket
from email.header import decode_header, make_header
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from exchange.core import mail


class Collector(MessageHandler):
    def __init__(self):
        super().__init__()
        self.received = []

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


def test_mail_goes_through_smtp_when_configured(app, db, smtp_server, monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
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


def test_password_reset_mail_over_smtp_in_the_users_language(app, client, make_user, db, smtp_server,
                                                             monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
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
