"""Domain errors and the friendly error pages."""
from dataclasses import dataclass, field

from flask import render_template, request
from .i18n import lazy_gettext as _l
from flask_wtf.csrf import CSRFError


class WorkflowError(Exception):
    """A rule of the domain forbids the action; the (translated) message is shown to the user.

    `code` is a short machine-readable reason, `field` the form field the message belongs beside.
    """

    def __init__(self, message, code: str | None = None, field: str | None = None, status: int = 422):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field
        self.status = status


def check_reason(reason: str | None, max_length: int, missing=None) -> str | None:
    """A reason given for an action, stripped: ``WorkflowError(field="reason")`` with the `missing` message when
    one is required (`missing` given) and there is none, or when it is longer than `max_length`. An optional
    reason left empty is None."""
    from .i18n import gettext
    reason = (reason or "").strip() or None
    if reason is None and missing is not None:
        raise WorkflowError(missing, code="no-reason", field="reason")
    if reason is not None and len(reason) > max_length:
        raise WorkflowError(gettext("Use at most %(max)d characters.", max=max_length), code="too-long",
                            field="reason")
    return reason


@dataclass
class BulkResult:
    """One action applied to several records: those it was `done` to (or what it made of them), and those a rule
    `refused`, each with the WorkflowError's message: ``[(record, message)]``."""
    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)


ERROR_PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or is not available to you.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    409: (_l("Changed by someone else"), _l("Someone else changed this record while you were editing it. Please reload and try again.")),
    413: (_l("File too large"), _l("What you sent is larger than the site accepts. Files may be at most 10 MB.")),
    429: (_l("Too many requests"), _l("Too many attempts. Please wait a little and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. The office has been told; please try again later.")),
}


def render_error(code: int, message: str | None = None):
    title, default_message = ERROR_PAGES.get(code, ERROR_PAGES[500])
    return render_template("errors/error.html", code=code, title=title,
                           message=message or default_message), code


def init_app(app):
    for code in ERROR_PAGES:
        if code == 500:
            continue
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(500)
    def internal_error(e):
        from ..extensions import db
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        app.logger.warning("CSRF failure on %s %s: %s", request.method, request.path, e.description)
        from . import audit
        audit.record("csrf_failure", detail=request.path)
        from ..extensions import db
        db.session.commit()
        return render_error(400, str(_l("Your form had expired or was not sent from this site. "
                                         "Please reload the page and try again.")))
