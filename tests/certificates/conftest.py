"""Settings of the certificate tests (their fixtures are in tests/fixtures/)."""
import pytest


@pytest.fixture(autouse=True)
def verify_rate_limit(app, monkeypatch):
    """The public verification page is rate-limited per address; tests verify more often than that."""
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "10000 per minute")
