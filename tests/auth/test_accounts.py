import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exchange.auth import services
from exchange.auth.models import LoginAttempt, Role, User
from exchange.core.audit import AuditEvent
from exchange.core.errors import WorkflowError
from tests.fixtures.mail import text_of

GOOD_PASSWORD = "Bright-Lantern-42"


def signup(client, **overrides):
    data = {"name": "Ana Pérez", "email": "Ana.Perez@Example.org", "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD}
    data.update(overrides)
    return client.post("/auth/signup", data=data)


def test_signup_creates_a_student_who_logs_in_next(client, db, outbox):
    response = signup(client)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    user = db.session.scalar(select(User))
    assert user.email == "ana.perez@example.org"
    assert user.role is Role.student
    assert user.password_hash and GOOD_PASSWORD not in user.password_hash
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Check your mailbox" in page and "your account is ready" in page
    assert 'value="Ana.Perez@Example.org"' in page  # the address is filled in
    assert outbox.last()["To"] == "ana.perez@example.org" and "http://exchange.test/auth/login" in text_of(outbox.last())
    assert client.post("/auth/login", data={"email": "Ana.Perez@Example.org", "password": GOOD_PASSWORD}).status_code == 302
    assert "Ana Pérez" in client.get("/").get_data(as_text=True)


def test_signup_answers_a_taken_address_as_a_new_one(app, make_user, db, outbox):
    owner = make_user(email="ana.perez@example.org", name="Ana Owner", password=GOOD_PASSWORD)
    db.session.commit()
    answers = []
    for email in ("ANA.PEREZ@example.org", "new.student@example.org"):
        visitor = app.test_client()
        response = signup(visitor, email=email)
        page = visitor.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"], page.replace(email, "…")))
    assert answers[0] == answers[1]
    assert "already exists" not in answers[0][2]
    # The owner's account is unchanged (case-insensitively the same address); they are told by mail.
    assert db.session.scalar(select(func.count(User.id))) == 2
    db.session.refresh(owner)
    assert owner.name == "Ana Owner" and owner.check_password(GOOD_PASSWORD)
    notices = [m for m in outbox.messages() if m["To"] == "ana.perez@example.org"]
    assert len(notices) == 1 and notices[0]["Subject"] == "Someone tried to sign up with your address"
    assert "http://exchange.test/auth/login" in text_of(notices[0])
    assert "http://exchange.test/auth/forgot" in text_of(notices[0])


@pytest.mark.parametrize("found_at", ["the check", "the insert"])
def test_signup_of_one_address_twice_at_once_answers_alike(client, make_user, db, outbox, monkeypatch, found_at):
    """Two sign-ups of a new address at the same moment: the second finds it taken only after its own look-up."""
    make_user(email="ana.perez@example.org", name="Ana First")
    db.session.commit()
    monkeypatch.setattr(services, "find_user_by_email", lambda email: None)
    if found_at == "the insert":
        monkeypatch.setattr(services, "email_taken", lambda email, exclude_id=None: False)
    response = signup(client)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert "Check your mailbox" in client.get("/auth/login").get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 1 and len(outbox) == 0


def test_signup_with_a_taken_address_hashes_the_password_too(client, make_user, db, monkeypatch):
    import werkzeug.security
    make_user(email="ana.perez@example.org")
    db.session.commit()
    hashed = []
    real = werkzeug.security._hash_internal
    monkeypatch.setattr(werkzeug.security, "_hash_internal", lambda *a: hashed.append(a[0]) or real(*a))
    assert signup(client).status_code == 302
    assert hashed  # the work a new account's password costs


def test_login_hashes_for_unknown_addresses_and_accounts_without_password(app, client, make_user, auth, db,
                                                                           monkeypatch):
    """An unknown address answers no faster than a known one: the password is checked against a stand-in hash
    made with the configured method."""
    import werkzeug.security
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    make_user(email="invited@example.org", password=None)  # invited, no password chosen yet
    db.session.commit()
    auth.login_with_password("warm-up@example.org", "wrong-password-1")  # the stand-in hash is made once
    hashed = []
    real = werkzeug.security._hash_internal
    monkeypatch.setattr(werkzeug.security, "_hash_internal", lambda *a: hashed.append(a[0]) or real(*a))
    for email in ("carla@example.org", "nobody@example.org", "invited@example.org"):
        hashed.clear()
        assert auth.login_with_password(email, "wrong-password-1").status_code == 401
        assert hashed == [app.config["PASSWORD_HASH_METHOD"]], email


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-email", "valid email address"),
    ("email", "", "This field is required"),
    ("name", "", "This field is required"),
    ("name", "x" * 10_000, "at most 120 characters"),
    ("password", "short1", "at least 10 characters"),
    ("password", "onlyletterslong", "digit or symbol"),
    ("password", "password123", "too easy"),
    ("confirm", "Different-Pass-99", "do not match"),
])
def test_signup_bad_input_is_shown_beside_the_field(client, db, field, value, message):
    data = {field: value}
    if field == "password":
        data["confirm"] = value
    response = signup(client, **data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert db.session.scalar(select(User)) is None
    if field != "email":
        assert 'value="Ana.Perez@Example.org"' in html  # what was typed survives


def test_signup_name_with_html_is_escaped(client, db):
    signup(client, name="<script>alert(1)</script>")
    client.post("/auth/login", data={"email": "ana.perez@example.org", "password": GOOD_PASSWORD})
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_login_and_logout(client, make_user, auth, db):
    user = make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = auth.login_with_password("Carla@Example.org", GOOD_PASSWORD)
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login")).user_id == user.id
    auth.logout()
    assert client.get("/auth/account").status_code == 302


def test_wrong_password_is_refused_with_message(client, make_user, auth, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = auth.login_with_password("carla@example.org", "wrong-password-1")
    assert response.status_code == 401
    assert "Wrong email address or password" in response.get_data(as_text=True)
    assert 'value="carla@example.org"' in response.get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent.action)).all()
    assert "login_failed" in events
    assert all("wrong-password-1" not in (e.detail or "") for e in db.session.scalars(select(AuditEvent)))


def login_from(client, address, email, password):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_for_an_account_are_slowed_down(client, make_user, auth, db, app):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login_with_password("carla@example.org", "wrong-password-1")
    # Even the right password is refused now, with a clear message.
    response = auth.login_with_password("carla@example.org", GOOD_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Once the window has passed, the account can log in again.
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at = attempt.at - timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"] + 1)
    db.session.commit()
    assert auth.login_with_password("carla@example.org", GOOD_PASSWORD).status_code == 302


@pytest.mark.parametrize("account_limit", [None, 1])
def test_one_guesser_cannot_lock_the_owner_out(app, make_user, db, monkeypatch, account_limit):
    """Failing on an account as often as one address may does not close it to its owner elsewhere, not even
    with a per-account limit set lower than that."""
    if account_limit:
        monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_MAX_FAILURES", account_limit)
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    guesser, owner = app.test_client(), app.test_client()
    for _window in range(2):  # and again in the next window
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            assert login_from(guesser, "203.0.113.5", "carla@example.org", "wrong-password-1").status_code == 401
        assert login_from(guesser, "203.0.113.5", "carla@example.org", GOOD_PASSWORD).status_code == 429
        assert login_from(owner, "198.51.100.20", "carla@example.org", GOOD_PASSWORD).status_code == 302
        owner.post("/auth/logout")
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.at = attempt.at - timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"] + 1)
        db.session.commit()


def test_guessing_from_many_addresses_closes_the_account_to_new_addresses_only(app, make_user, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    owner = app.test_client()
    assert login_from(owner, "192.0.2.10", "carla@example.org", GOOD_PASSWORD).status_code == 302
    owner.post("/auth/logout")
    per_address = app.config["LOGIN_MAX_FAILURES"] - 1  # each address stays below its own limit
    guessers = -(-app.config["LOGIN_ACCOUNT_MAX_FAILURES"] // per_address)
    botnet = app.test_client()
    for n in range(guessers):
        for _ in range(per_address):
            assert login_from(botnet, f"203.0.113.{n}", "carla@example.org", "wrong-password-1").status_code == 401
    # A new address is refused, even with the right password, and told to wait or reset the password ...
    response = login_from(app.test_client(), "198.51.100.20", "carla@example.org", GOOD_PASSWORD)
    assert response.status_code == 429 and "reset your password" in response.get_data(as_text=True)
    # ... an unknown account under the same attack answers alike ...
    for n in range(guessers):
        for _ in range(per_address):
            login_from(botnet, f"203.0.114.{n}", "nobody@example.org", "wrong-password-1")
    assert login_from(app.test_client(), "198.51.100.21", "nobody@example.org", GOOD_PASSWORD).status_code == 429
    # ... but the owner still signs in from where they did before.
    assert login_from(owner, "192.0.2.10", "carla@example.org", GOOD_PASSWORD).status_code == 302
    # When the window has passed, any address may try again.
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at = attempt.at - timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"] + 1)
    db.session.commit()
    assert login_from(app.test_client(), "198.51.100.20", "carla@example.org", GOOD_PASSWORD).status_code == 302


def test_repeated_failures_from_an_address_are_slowed_down(client, make_user, auth, db, app):
    make_user(email="victim@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login_with_password(f"guess{n}@example.org", "wrong-password-1")
    response = auth.login_with_password("victim@example.org", GOOD_PASSWORD)
    assert response.status_code == 429
    other = app.test_client()
    response = other.post("/auth/login", data={"email": "victim@example.org", "password": GOOD_PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302


def test_deactivated_account_cannot_log_in(client, make_user, auth, db):
    make_user(email="old@example.org", password=GOOD_PASSWORD, is_active_account=False)
    db.session.commit()
    response = auth.login_with_password("old@example.org", GOOD_PASSWORD)
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)


def test_remember_me_sets_a_lasting_cookie(client, make_user, auth, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = auth.login_with_password("carla@example.org", GOOD_PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    session_cookie = [c for c in cookies if c.startswith("session=")][0]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_logout_ends_every_session_server_side(app, make_user, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    for c in (laptop, phone):
        c.post("/auth/login", data={"email": "carla@example.org", "password": GOOD_PASSWORD, "remember": "y"})
    stolen = phone.get_cookie("session").value
    stolen_remember = phone.get_cookie("remember_token").value
    laptop.post("/auth/logout")
    assert phone.get("/auth/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    replay.set_cookie("remember_token", stolen_remember)
    assert replay.get("/auth/account").status_code == 302


def test_change_password_ends_other_sessions_but_keeps_this_one(app, make_user, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    for c in (laptop, phone):
        c.post("/auth/login", data={"email": "carla@example.org", "password": GOOD_PASSWORD})
    response = laptop.post("/auth/account", data={
        "password-current_password": GOOD_PASSWORD, "password-password": "New-Harbour-77",
        "password-confirm": "New-Harbour-77", "password-submit": "1"})
    assert response.status_code == 302
    assert laptop.get("/auth/account").status_code == 200
    assert phone.get("/auth/account").status_code == 302


def test_change_password_needs_the_current_one(client, login, db):
    login(Role.student, password=GOOD_PASSWORD)
    response = client.post("/auth/account", data={
        "password-current_password": "not-it-at-all-1", "password-password": "New-Harbour-77",
        "password-confirm": "New-Harbour-77", "password-submit": "1"})
    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)


def test_profile_saves_language_and_time_zone(client, login, db):
    user = login(Role.student)
    response = client.post("/auth/account", data={
        "profile-name": "Nuevo Nombre", "profile-locale": "es", "profile-timezone": "America/Mexico_City",
        "profile-submit": "1"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.locale, user.timezone) == ("Nuevo Nombre", "es", "America/Mexico_City")
    assert 'lang="es"' in client.get("/").get_data(as_text=True)


def test_profile_rejects_unknown_time_zone(client, login):
    login(Role.student)
    response = client.post("/auth/account", data={
        "profile-name": "X", "profile-locale": "en", "profile-timezone": "Mars/Olympus", "profile-submit": "1"})
    assert response.status_code == 422


# --- Password reset, end to end --------------------------------------------------------------------

def reset_link_from(outbox):
    body = text_of(outbox.last())
    return re.search(r"http://exchange\.test(/auth/reset/\S+)", body).group(1)


def test_password_reset_end_to_end(client, make_user, db, outbox):
    user = make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = client.post("/auth/forgot", data={"email": "Carla@example.org"},
                           headers={"Host": "evil.example"})
    assert response.status_code == 302
    message = outbox.last()
    assert message["To"] == "carla@example.org"
    assert "evil.example" not in text_of(message)  # built from BASE_URL, never from the Host header
    path = reset_link_from(outbox)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "Fresh-Meadow-31", "confirm": "Fresh-Meadow-31"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("Fresh-Meadow-31")
    # Single use: the same link no longer works.
    again = client.post(path, data={"password": "Other-Meadow-32", "confirm": "Other-Meadow-32"})
    assert again.status_code == 400
    assert "not valid or has already been used" in again.get_data(as_text=True)


def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(client, db, outbox):
    response = client.post("/auth/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account exists" in response.get_data(as_text=True)
    assert len(outbox) == 0


def test_password_reset_token_expires(app, make_user, db):
    user = make_user(email="carla@example.org")
    token = services.make_token(user, services.RESET_SALT)
    with pytest.raises(WorkflowError) as exc:
        services.user_from_token(token, services.RESET_SALT, max_age=-1)
    assert exc.value.code == "expired"


def test_tampered_reset_token_is_refused(client, db):
    response = client.get("/auth/reset/not-a-real-token")
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil.example"])
def test_next_parameter_only_leads_to_this_site(client, make_user, auth, db, target):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = client.post("/auth/login?next=" + target,
                           data={"email": "carla@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_parameter_to_a_local_page_is_followed(client, make_user, db):
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    response = client.post("/auth/login?next=/auth/account",
                           data={"email": "carla@example.org", "password": GOOD_PASSWORD})
    assert response.headers["Location"] == "/auth/account"


def test_login_page_shows_demo_logins_only_with_demo_data(client, make_user, db):
    assert "student@demo.test" not in client.get("/auth/login").get_data(as_text=True)
    make_user(email="student@demo.test")
    db.session.commit()
    assert "student@demo.test" in client.get("/auth/login").get_data(as_text=True)


def test_demo_accounts_can_log_in_through_the_form(client, db):
    from exchange.demo import seed_demo
    seed_demo()
    response = client.post("/auth/login", data={"email": "student@demo.test", "password": "demo-password"})
    assert response.status_code == 302


def test_login_posts_are_rate_limited_per_address(app, client, db, monkeypatch):
    from exchange.extensions import limiter
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", "3 per minute")
    limiter.reset()
    try:
        codes = [client.post("/auth/login", data={"email": f"x{n}@example.org", "password": "x"}).status_code
                 for n in range(4)]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429
        assert "Too many" in client.post("/auth/login", data={}).get_data(as_text=True)
        assert client.get("/auth/login").status_code == 200  # reading the page is not limited
    finally:
        limiter.reset()


def test_reset_mails_and_sign_up_notices_are_limited_per_account(app, make_user, db, outbox):
    """Anyone can type an address: beyond ACCOUNT_MAILS_PER_HOUR an hour the answer stays the same and the
    mailbox gets nothing more (from any number of addresses)."""
    make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    limit = app.config["ACCOUNT_MAILS_PER_HOUR"]
    for n in range(limit + 2):
        response = app.test_client().post("/auth/forgot", data={"email": "carla@example.org"},
                                          environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}, follow_redirects=True)
        assert response.status_code == 200 and "If an account exists" in response.get_data(as_text=True)
    assert len(outbox) == limit
    assert signup(app.test_client(), email="carla@example.org").status_code == 302  # no notice either
    assert len(outbox) == limit
    # An hour later the account may get a link again.
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "password_reset_sent")):
        event.at = event.at - timedelta(minutes=61)
    db.session.commit()
    app.test_client().post("/auth/forgot", data={"email": "carla@example.org"})
    assert len(outbox) == limit + 1 and reset_link_from(outbox)


def test_a_new_password_replaces_the_private_calendar_link(client, make_user, auth, db, outbox):
    user = make_user(email="carla@example.org", password=GOOD_PASSWORD)
    db.session.commit()
    auth.login_with_password("carla@example.org", GOOD_PASSWORD)
    client.post("/events/subscribe", data={"action": "new"})
    first = db.session.get(User, user.id).calendar_token
    assert client.get(f"/events/feed/{first}.ics").status_code == 200
    response = client.post("/auth/account", follow_redirects=True, data={
        "password-current_password": GOOD_PASSWORD, "password-password": "New-Harbour-77",
        "password-confirm": "New-Harbour-77", "password-submit": "1"})
    assert "calendar link has been replaced" in response.get_data(as_text=True)
    assert client.get(f"/events/feed/{first}.ics").status_code == 404
    second = db.session.get(User, user.id).calendar_token
    assert second and second != first
    assert client.get(f"/events/feed/{second}.ics").status_code == 200
    # A password reset replaces it too.
    auth.logout()
    client.post("/auth/forgot", data={"email": "carla@example.org"})
    client.post(reset_link_from(outbox), data={"password": "Fresh-Meadow-31", "confirm": "Fresh-Meadow-31"})
    assert db.session.get(User, user.id).check_password("Fresh-Meadow-31")
    assert client.get(f"/events/feed/{second}.ics").status_code == 404
    assert client.get(f"/events/feed/{db.session.get(User, user.id).calendar_token}.ics").status_code == 200


def test_a_new_password_makes_no_calendar_link_for_those_without_one(client, login, db):
    user = login(Role.student, password=GOOD_PASSWORD)
    client.post("/auth/account", data={
        "password-current_password": GOOD_PASSWORD, "password-password": "New-Harbour-77",
        "password-confirm": "New-Harbour-77", "password-submit": "1"})
    db.session.expire_all()
    assert db.session.get(User, user.id).password_changed_at and db.session.get(User, user.id).calendar_token is None
