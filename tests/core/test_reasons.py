"""core.errors.check_reason: the one "reason required / at most N characters" check of the services."""
import pytest

from exchange.core.errors import WorkflowError, check_reason


def test_a_reason_is_stripped_and_an_optional_empty_one_is_none(app):
    with app.test_request_context("/"):
        assert check_reason("  moved  ", 10, missing="Say why.") == "moved"
        assert check_reason("   ", 10) is None and check_reason(None, 10) is None


@pytest.mark.parametrize(("reason", "missing", "code"), [(" ", "Say why.", "no-reason"), ("x" * 11, None, "too-long"),
                                                          ("x" * 11, "Say why.", "too-long")])
def test_a_missing_or_long_reason_is_refused_beside_the_field(app, reason, missing, code):
    with app.test_request_context("/"), pytest.raises(WorkflowError) as caught:
        check_reason(reason, 10, missing=missing)
    assert (caught.value.code, caught.value.field) == (code, "reason")
    assert caught.value.message == ("Say why." if code == "no-reason" else "Use at most 10 characters.")
