"""core.runtime: a serving process freezes what it holds once warm, once."""
import gc

import pytest

from exchange import create_app
from exchange.config import TestConfig
from tests.fixtures.app import engine_options_for


@pytest.fixture
def thawed():
    yield
    gc.unfreeze()


def test_the_process_freezes_after_its_first_requests(database_url, thawed, monkeypatch):
    frozen = []
    monkeypatch.setattr("exchange.core.runtime.freeze", lambda: frozen.append(True))
    app = create_app(TestConfig, GC_FREEZE_AFTER_REQUESTS=3,
                     SQLALCHEMY_ENGINE_OPTIONS=engine_options_for(database_url, None))
    client = app.test_client()
    for _ in range(3):
        client.get("/healthz")
    assert frozen == []
    client.get("/healthz")
    assert frozen == [True]
    for _ in range(5):
        client.get("/healthz")
    assert frozen == [True]


def test_freeze_moves_the_objects_to_the_permanent_generation(thawed):
    from exchange.core.runtime import freeze
    kept = [object() for _ in range(10)] + [[] for _ in range(10)]
    freeze()
    assert gc.get_freeze_count() >= 10
    assert kept


def test_tests_do_not_freeze(app):
    assert not app.config["GC_FREEZE_AFTER_REQUESTS"]
