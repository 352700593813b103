"""Fixtures shared by the whole suite.

The suite runs on SQLite (in memory) by default and on PostgreSQL when TEST_DATABASE_URL is set. On
PostgreSQL every run works in a schema of its own, created at the start and dropped at the end, so runs
never see each other's tables or what an earlier run left behind.
"""
import os
import shutil
import tempfile
import uuid

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from exchange import create_app
from exchange.auth.models import Role, User
from exchange.config import TestConfig
from exchange.extensions import db as _db


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session")
def database_url():
    return TestConfig.SQLALCHEMY_DATABASE_URI


@pytest.fixture(scope="session")
def pg_schema(database_url):
    """On PostgreSQL: a fresh schema for this run (None on SQLite)."""
    if not _is_postgres(database_url):
        yield None
        return
    schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def engine_options_for(database_url: str, schema: str | None) -> dict:
    options = {"pool_pre_ping": True}
    if schema:
        options["connect_args"] = {"options": f"-csearch_path={schema}"}
    return options


class TestClient(FlaskClient):
    """Each request loads the signed-in user afresh, as it would in its own app context in production.

    Tests run inside one app context per test, which requests reuse; without this, Flask-Login's user
    and Flask-Babel's locale cached on `g` would leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        self._forget_request_state()
        try:
            return super().open(*args, **kwargs)
        finally:
            self._forget_request_state()

    @staticmethod
    def _forget_request_state():
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("_flask_babel", None)  # the locale and time zone chosen for the last request


@pytest.fixture(scope="session")
def app(database_url, pg_schema):
    tmp = tempfile.mkdtemp(prefix="exchange-test-")
    app = create_app(TestConfig,
                     SQLALCHEMY_ENGINE_OPTIONS=engine_options_for(database_url, pg_schema),
                     UPLOAD_FOLDER=os.path.join(tmp, "uploads"),
                     MAIL_FOLDER=os.path.join(tmp, "mail"))
    app.test_client_class = TestClient
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


def _clean_tables():
    _db.session.rollback()
    _db.session.remove()
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(app):
    """The database, empty at the start of every test, inside an app context of the test's own."""
    with app.app_context():
        _clean_tables()
        yield _db
        _clean_tables()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def make_institution(db):
    from exchange.partners.models import PartnerInstitution

    def _make(**kw):
        kw.setdefault("name", f"University {uuid.uuid4().hex[:6]}")
        kw.setdefault("country", "IT")
        kw.setdefault("schac_code", f"{uuid.uuid4().hex[:10]}.example")
        institution = PartnerInstitution(**kw)
        db.session.add(institution)
        db.session.flush()
        return institution
    return _make


@pytest.fixture
def make_call(db):
    """make_call(**kw): a closed call for applications with nothing in it (domains add places as needed)."""
    from datetime import timedelta

    from exchange.applications.models import Call, CallPeriod
    from exchange.core.types import utcnow

    def _make(**kw):
        now = utcnow()
        kw.setdefault("title", "Erasmus+ studies 2026/27")
        kw.setdefault("academic_year", 2026)
        kw.setdefault("period", CallPeriod.autumn)
        kw.setdefault("opens_at", now - timedelta(days=300))
        kw.setdefault("closes_at", now - timedelta(days=250))
        call = Call(**kw)
        db.session.add(call)
        db.session.flush()
        return call
    return _make


@pytest.fixture
def make_user(db, make_institution):
    def _make(role=Role.student, password="correct-horse-9", **kw):
        kw.setdefault("email", f"{uuid.uuid4().hex[:8]}@example.test")
        kw.setdefault("name", f"{role.value.title()} {uuid.uuid4().hex[:4]}")
        if role is Role.partner and "institution_id" not in kw and "institution" not in kw:
            kw["institution"] = make_institution()
        user = User(role=role, **kw)
        if password:
            user.set_password(password)
        db.session.add(user)
        db.session.flush()
        return user
    return _make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, user):
        """Sign in without a password round trip (fast); the session holds the user's session token."""
        _db.session.commit()
        with self.client.session_transaction() as session:
            session["_user_id"] = user.session_token
            session["_fresh"] = True
        return user

    def login_with_password(self, email, password, **extra):
        return self.client.post("/auth/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login(auth, make_user):
    """login(role_or_user) signs a user in and returns it."""
    def _login(who=Role.student, **kw):
        user = who if isinstance(who, User) else make_user(who, **kw)
        return auth.login(user)
    return _login


@pytest.fixture
def outbox(app):
    """Messages written to the mail folder during the test, parsed."""
    import email
    import glob
    folder = app.config["MAIL_FOLDER"]
    shutil.rmtree(folder, ignore_errors=True)

    class Outbox:
        def messages(self):
            result = []
            for path in sorted(glob.glob(os.path.join(folder, "*.eml")), key=os.path.getmtime):
                with open(path, "rb") as fh:
                    result.append(email.message_from_bytes(fh.read(), policy=email.policy.default))
            return result

        def __len__(self):
            return len(self.messages())

        def last(self):
            messages = self.messages()
            return messages[-1] if messages else None
    return Outbox()


def text_of(message) -> str:
    """The plain text body of an email.message.EmailMessage."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def pytest_addoption(parser):
    parser.addoption("--require-browser", action="store_true", default=False,
                     help="fail (instead of skipping) the browser tests when Chromium is missing")
    parser.addoption("--require-redis", action="store_true", default=False,
                     help="fail (instead of skipping) the tests that need Redis when it does not answer")


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable_redis(config, why: str) -> str:
    """The test Redis URL; skips the test when Redis does not answer, or fails it under --require-redis."""
    try:
        from redis import Redis
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # no client library, refused, timed out
        message = f"Redis at {REDIS_URL} does not answer ({exc.__class__.__name__}): {why}"
        if config.getoption("--require-redis"):
            pytest.fail(message + " — and --require-redis was given", pytrace=False)
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def redis_url(request):
    """The URL of the test Redis (skips, or fails under --require-redis, when it does not answer)."""
    return reachable_redis(request.config, f"{request.node.name} needs it")


@pytest.fixture
def redis_queue(app, monkeypatch, redis_url):
    """Jobs go to a Redis queue of this test's own (emptied afterwards) instead of running in-process."""
    from exchange.jobs import services
    url = redis_url
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", f"test-{uuid.uuid4().hex[:8]}")
    yield
    services.queue().empty()
