"""Fixtures of the scale tests: a small scale data set shared by a module (the statement counter is in
tests/fixtures/queries.py)."""
import pytest
from sqlalchemy import select

from exchange.auth.models import User
from exchange.extensions import db as _db
from exchange.scale.seed import SeedSizes, seed_scale
from tests.fixtures.app import clean_tables


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
