"""A view's "try the action": run the service, then commit and say so, or roll back and show why.

Every view that acts went the same way: call one service; on :class:`~exchange.core.errors.WorkflowError` roll
back and show the message (flashed, or beside the form's field with the error's status); otherwise commit, then
flash and redirect. :func:`attempt` does all of it but the redirect or the page, which stay in the view::

    outcome = attempt(lambda: services.withdraw_application(application, by=current_user),
                      success=_("Your application has been withdrawn."))
    if not outcome:
        return render_detail(application, outcome.status)
    return redirect(url_for("applications.detail", application_id=application.id))

Commit, then say: the success message is flashed after the commit has succeeded, and mail queued by the service
(``core.mail.send_after_commit``) goes out from the session's ``after_commit`` hook, so nothing is announced
for work that was rolled back. Any other exception (a lost update, a broken constraint) rolls back too and
is raised for the view or the app's error handlers.

Events retry on SQLite's "database is locked": their services take the database's write lock early
(``events.services.lock_event``) and ``events.services.commit_with_retry`` runs the whole unit again. That retry
stays with the events, which alone need it; a view passes it as ``commit=services.commit_with_retry``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from flask import flash

from ..extensions import db
from .errors import WorkflowError
from .forms import put_error


@dataclass
class Outcome:
    """What became of an action: true when it was done (`value` is what the service returned); false when a rule
    refused it (`error`), with the `status` to render the page with and the `message`."""

    value: Any = None
    error: WorkflowError | None = None

    def __bool__(self) -> bool:
        return self.error is None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> int:
        """The status to answer with: 200 when done, the error's status (422, 409, ...) when refused."""
        return 200 if self.error is None else self.error.status

    @property
    def message(self) -> str | None:
        return None if self.error is None else self.error.message


def _run_and_commit(action: Callable[[], Any]) -> Any:
    result = action()
    db.session.commit()
    return result


def attempt(action: Callable[[], Any], *, form=None, field: str | None = None,
            success: str | Callable[[Any], str | None] | None = None, category: str = "success",
            on_error: Literal["flash", "none"] = "flash",
            commit: Callable[[Callable[[], Any]], Any] = _run_and_commit) -> Outcome:
    """Run `action()` (one service call) and commit; the view then redirects, or renders with `outcome.status`.

    On success the session is committed, then `success` is flashed with `category`: a message, or a callable
    given the action's result that returns one (or None: nothing is flashed).

    On a WorkflowError the session is rolled back (what the action changed is gone) and the error is shown:
    with a `form`, beside its field (``exc.field``, else `field`) through :func:`core.forms.put_error`, and
    flashed when the form has no such field; without one it is flashed. ``on_error="none"`` shows nothing: the
    page shows ``outcome.message`` itself (a form's field still gets it). The returned outcome is false and
    carries the error's status.

    `commit` runs the action and commits; the default does just that. Events pass their
    ``commit_with_retry``, which runs it again on SQLite's "database is locked".
    """
    try:
        result = commit(action)
    except WorkflowError as exc:
        db.session.rollback()
        if form is not None:
            put_error(form, exc, field, flash_unplaced=on_error == "flash")
        elif on_error == "flash":
            flash(exc.message, "error")
        return Outcome(error=exc)
    except BaseException:
        db.session.rollback()
        raise
    message = success(result) if callable(success) else success
    if message:
        flash(message, category)
    return Outcome(value=result)
