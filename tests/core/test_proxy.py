"""Behind the documented reverse proxy (TRUSTED_PROXIES=1): each client is itself, and HTTPS is known."""
import pytest
from sqlalchemy import select

from exchange.auth.models import LoginAttempt
from exchange.extensions import db as _db
from exchange.extensions import limiter
from tests.fixtures import app as app_setup

GOOD_PASSWORD = "Bright-Lantern-42"


@pytest.fixture
def proxied(app, db, database_url, pg_schema):
    """The app as production runs it behind one proxy (the test client's 127.0.0.1 is the proxy), on the test
    database (on SQLite: an in-memory database of its own)."""
    from exchange import create_app
    from exchange.config import TestConfig
    behind = create_app(TestConfig, TRUSTED_PROXIES=1,
                        SQLALCHEMY_ENGINE_OPTIONS=app_setup.engine_options_for(database_url, pg_schema),
                        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], MAIL_FOLDER=app.config["MAIL_FOLDER"])
    behind.test_client_class = app_setup.TestClient
    with behind.app_context():
        _db.create_all()
        yield behind
        _db.session.remove()
        _db.engine.dispose()


def via_proxy(client_address, https=True):
    """The headers nginx adds: the client's address appended to X-Forwarded-For, and the scheme."""
    return {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https" if https else "http"}


def login(client, email, password, headers):
    return client.post("/auth/login", data={"email": email, "password": password}, headers=headers)


def test_behind_one_proxy_clients_are_counted_one_by_one(proxied, make_user):
    make_user(email="victim@example.org", password=GOOD_PASSWORD)
    _db.session.commit()
    guesser = proxied.test_client()
    for n in range(proxied.config["LOGIN_MAX_FAILURES"]):
        # What the guesser writes in X-Forwarded-For itself comes first; the proxy appends the real address.
        headers = via_proxy(f"10.0.0.{n}, 203.0.113.5")
        assert login(guesser, f"guess{n}@example.org", "wrong-password-1", headers).status_code == 401
    assert set(_db.session.scalars(select(LoginAttempt.address))) == {"203.0.113.5"}
    assert login(guesser, "victim@example.org", GOOD_PASSWORD, via_proxy("203.0.113.5")).status_code == 429
    # Everyone else comes through the same proxy, and is not locked out.
    victim = proxied.test_client()
    assert login(victim, "victim@example.org", GOOD_PASSWORD, via_proxy("198.51.100.20")).status_code == 302


def test_behind_one_proxy_rate_limits_are_per_client(proxied, monkeypatch):
    monkeypatch.setitem(proxied.config, "AUTH_RATE_LIMIT", "3 per minute")
    limiter.reset()
    try:
        client = proxied.test_client()
        codes = [login(client, f"x{n}@example.org", "x", via_proxy("203.0.113.5")).status_code for n in range(4)]
        assert codes == [401, 401, 401, 429]
        assert login(client, "y@example.org", "x", via_proxy("198.51.100.20")).status_code == 401
    finally:
        limiter.reset()


def test_behind_one_proxy_hsts_is_sent_for_https(proxied):
    client = proxied.test_client()
    response = client.get("/auth/login", headers=via_proxy("198.51.100.20"))
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.get("/auth/login", headers=via_proxy("198.51.100.20", https=False))
    assert "Strict-Transport-Security" not in response.headers


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, make_user, db):
    """TRUSTED_PROXIES=0 (the default): a client cannot choose its address or pretend to use HTTPS."""
    assert app.config["TRUSTED_PROXIES"] == 0
    make_user(email="victim@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, f"guess{n}@example.org", "wrong-password-1", via_proxy(f"198.51.100.{n}"))
    assert set(db.session.scalars(select(LoginAttempt.address))) == {"127.0.0.1"}
    assert login(client, "victim@example.org", GOOD_PASSWORD, via_proxy("198.51.100.99")).status_code == 429
    response = client.get("/auth/login", headers=via_proxy("198.51.100.99"))
    assert "Strict-Transport-Security" not in response.headers


def test_https_requests_get_hsts(client, db):
    assert client.get("/auth/login", base_url="https://localhost").headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers

