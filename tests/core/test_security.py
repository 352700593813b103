"""The security baseline: headers, caching, size limit, CSRF, friendly error pages, the audit log."""
import io

import pytest
from sqlalchemy import select

from exchange.auth.models import Role
from exchange.core.audit import AuditEvent


def test_security_headers_on_every_response(client):
    for path in ("/", "/auth/login", "/no-such-page", "/static/css/app.css"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "geolocation=()" in response.headers["Permissions-Policy"]


def test_pages_with_personal_data_are_not_cached(client, login):
    login(Role.student)
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/auth/account").headers["Cache-Control"] == "no-store"


def test_no_inline_script_in_pages(client, login):
    login(Role.admin)
    for path in ("/", "/auth/account", "/admin/users"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_request_too_large_gets_a_friendly_413(client, app, login, monkeypatch):
    login(Role.student)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/auth/account", data={"file": (io.BytesIO(b"x" * 4096), "big.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "File too large" in response.get_data(as_text=True)


def test_friendly_500_page():
    from exchange import create_app
    from exchange.config import TestConfig
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", PROPAGATE_EXCEPTIONS=False)

    @app.get("/_boom")
    def boom():
        raise RuntimeError("boom")
    response = app.test_client().get("/_boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_post_without_csrf_token_is_rejected(client, make_user, db, csrf_on):
    make_user(email="carla@example.org", password="Bright-Lantern-42")
    db.session.commit()
    response = client.post("/auth/login", data={"email": "carla@example.org", "password": "Bright-Lantern-42"})
    assert response.status_code == 400
    assert "expired or was not sent from this site" in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "csrf_failure")) is not None


def test_every_form_carries_the_csrf_token(client, db, csrf_on):
    html = client.get("/auth/login").get_data(as_text=True)
    assert html.count('name="csrf_token"') >= 2  # the login form and the language switcher
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/auth/signup", data={"csrf_token": token, "name": "Ana", "email": "ana@example.org",
                                                  "password": "Bright-Lantern-42", "confirm": "Bright-Lantern-42"})
    assert response.status_code == 302


def test_login_starts_a_fresh_session(client, make_user, db):
    """Session fixation: whatever a visitor's session held before the login (planted by someone else, say) is gone
    after it, and the cookie is a new one."""
    make_user(email="carla@example.org", password="Bright-Lantern-42")
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = client.get_cookie("session").value
    response = client.post("/auth/login", data={"email": "carla@example.org", "password": "Bright-Lantern-42"})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"]
    assert client.get_cookie("session").value != before


def test_state_changes_only_by_post(client, login):
    login(Role.student)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/language").status_code == 405


def test_denials_are_audited(client, login, db):
    user = login(Role.student)
    assert client.get("/admin/users").status_code == 403
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied"))
    assert event.user_id == user.id and "/admin/users" in event.detail


def test_idle_session_ends_after_the_timeout(app, client, make_user, db, monkeypatch):
    import time
    from datetime import timedelta
    make_user(email="carla@example.org", password="Bright-Lantern-42")
    db.session.commit()
    monkeypatch.setattr(app, "permanent_session_lifetime", timedelta(minutes=30))
    client.post("/auth/login", data={"email": "carla@example.org", "password": "Bright-Lantern-42"})
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 20 * 60)
    assert client.get("/auth/account").status_code == 200
    monkeypatch.setattr(time, "time", lambda: real_time() + 40 * 60)
    assert client.get("/auth/account").status_code == 200  # 40 min after login, but each request renews it
    monkeypatch.setattr(time, "time", lambda: real_time() + 40 * 60 + 31 * 60)
    assert client.get("/auth/account").status_code == 302  # idle for longer than the timeout
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_language_switcher_for_visitors(client, db):
    response = client.post("/language", data={"lang": "fr", "next": "/auth/login"})
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="fr"' in html


def test_language_switcher_refuses_foreign_next(client, db):
    response = client.post("/language", data={"lang": "es", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_accept_language_is_honoured(client, db):
    html = client.get("/auth/login", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    assert 'lang="es"' in html


def test_language_chosen_before_login_is_kept(client, make_user, db):
    make_user(email="carla@example.org", password="Bright-Lantern-42")
    db.session.commit()
    client.post("/language", data={"lang": "es"})
    client.post("/auth/login", data={"email": "carla@example.org", "password": "Bright-Lantern-42"})
    assert 'lang="es"' in client.get("/").get_data(as_text=True)


# --- SECRET_KEY ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", "dev-secret-change-me", "short-but-random-7f3a9c",
                                 "change-me-to-a-long-random-string"])
def test_the_app_refuses_to_start_without_a_private_secret_key(key):
    from exchange import InsecureConfiguration, create_app
    from exchange.config import Config
    with pytest.raises(InsecureConfiguration) as exc:
        create_app(Config, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert "SECRET_KEY" in str(exc.value)
    assert "python -c 'import secrets; print(secrets.token_hex(32))'" in str(exc.value)


def test_a_long_random_key_starts_and_debug_mode_needs_none():
    import secrets

    from exchange import create_app
    from exchange.config import Config
    key = secrets.token_hex(32)
    assert create_app(Config, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI="sqlite://").config["SECRET_KEY"] == key
    debug = create_app(Config, SECRET_KEY=None, DEBUG=True, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert debug.debug and debug.config["SECRET_KEY"]  # a development copy signs with the development key
