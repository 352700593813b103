"""Fixtures for the scale tests: an SQL statement counter and a small scale data set shared by a module."""
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from flask import g
from sqlalchemy import event, select

from exchange.auth.models import User
from exchange.extensions import db as _db
from exchange.scale.seed import SeedSizes, seed_scale
from tests.fixtures.app import clean_tables


@dataclass
class QueryCounter:
    """The SQL statements sent while it was listening (each execute of a cursor counts once)."""
    statements: list[str] = field(default_factory=list)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n".join(f"{n:3d}. {' '.join(s.split())[:200]}" for n, s in enumerate(self.statements, 1))


@contextmanager
def counting_queries():
    """`with counting_queries() as counter: ...` counts statements on db.engine (needs an app context)."""
    counter = QueryCounter()
    engine = _db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def count_queries(app):
    """The counter as a fixture: `with count_queries() as counter: client.get(...)`; counter.count."""
    return counting_queries


def signed_in_client(app, user: User | None):
    """A test client whose session holds the user's session token (the fast login of tests/conftest.py)."""
    client = app.test_client()
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.session_token
            session["_fresh"] = True
    return client


def page_queries(app, user: User | None, url: str) -> tuple[int, QueryCounter]:
    """GET url as user twice (the first fills per-process caches) and count the second one's statements."""
    client = signed_in_client(app, user)
    client.get(url)
    g.pop("_login_user", None)
    with counting_queries() as counter:
        response = client.get(url)
    return response.status_code, counter


SMALL_SCALE = SeedSizes(students=150, partners=40, events=60)


@pytest.fixture(scope="module")
def scale_data(app):
    """The scale data set at a small size, loaded once for the module (tables emptied before and after)."""
    with app.app_context():
        clean_tables()
        summary = seed_scale(SMALL_SCALE, seed=11, batch_size=500, write_files=False)
    yield summary
    with app.app_context():
        clean_tables()


@pytest.fixture
def scale(app, scale_data):
    """An app context over the module's scale data set; `scale.user(email)`, `scale.summary`."""
    with app.app_context():
        yield ScaleContext(scale_data)
        _db.session.rollback()
        _db.session.remove()


class ScaleContext:
    def __init__(self, summary):
        self.summary = summary

    @staticmethod
    def user(email: str) -> User:
        return _db.session.scalar(select(User).where(User.email == email))

    def login(self, role: str) -> User:
        return self.user(self.summary.logins[role])
