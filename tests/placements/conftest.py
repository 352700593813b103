"""Settings of the placements tests (their fixtures are in tests/fixtures/)."""
import pytest


@pytest.fixture(autouse=True)
def partner_document_rule():
    """The placements rule for partners' documents, installed at import; put back in case a test removed it."""
    from exchange.applications import access
    from exchange.placements import incoming
    access.set_partner_document_rule(incoming.partner_document_rule)
    yield
