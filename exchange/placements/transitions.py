"""The one writer of each placement status: every change of ``MatchingRun.status``, ``Offer.status`` and
``Nomination.status`` goes through this module and is checked against ``exchange.placements.workflow.TRANSITIONS``
(tests/placements/test_workflow.py greps the package to keep it so)."""
from __future__ import annotations

from sqlalchemy import update

from ..core.errors import WorkflowError
from ..core.i18n import gettext as _
from ..extensions import db
from .models import Call, MatchingRun, Nomination, Offer
from .workflow import NominationStatus, OfferStatus, RunStatus, TransitionRefused, check_transition, sources


def _refused(exc: TransitionRefused) -> WorkflowError:
    # The message of the 409 page: a refusal here means the row changed since the page was read
    return WorkflowError(_("Someone else changed this record while you were editing it. Please reload and try again."),
                         code=f"transition-{exc.reason}", status=409)


def set_status(row: Offer | Nomination, to_status: OfferStatus | NominationStatus) -> None:
    """Move an offer or a nomination to `to_status`; WorkflowError when the table does not allow it. The caller
    sets the fields that go with the change (who, when, why)."""
    expected = {Offer: OfferStatus, Nomination: NominationStatus}[type(row)]
    to_status = expected(to_status)
    try:
        check_transition(row.status, to_status)
    except TransitionRefused as exc:
        raise _refused(exc) from None
    row.status = to_status


def set_run_status(run: MatchingRun, to_status: RunStatus, **values) -> None:
    """Move a run to `to_status` with one conditional UPDATE (so two coordinators publishing at once cannot both
    succeed); `values` are the columns that go with the change (published_at …). WorkflowError when the run is no
    longer in a status the table allows the move from."""
    to_status = RunStatus(to_status)
    done = db.session.execute(update(MatchingRun).where(MatchingRun.id == run.id,
                                                        MatchingRun.status.in_(sources(to_status)))
                              .values(status=to_status, **values))
    if done.rowcount != 1:
        raise _refused(TransitionRefused(run.status, to_status, "not-allowed"))
    db.session.refresh(run)


def supersede_drafts(call: Call, published: MatchingRun) -> None:
    """The call's other draft runs can no longer be published once `published` is."""
    db.session.execute(update(MatchingRun).where(MatchingRun.call_id == call.id, MatchingRun.id != published.id,
                                                 MatchingRun.status.in_(sources(RunStatus.superseded)))
                       .values(status=RunStatus.superseded), execution_options={"synchronize_session": False})
