"""The placement workflows: matching runs, offers and nominations, each in one table defined here and nowhere else.

Pure module (no Flask, no SQLAlchemy), like ``exchange.applications.workflow``. The one writer of each status,
``exchange.placements.transitions``, checks every change against :data:`TRANSITIONS`; the models ask the same
tables their questions about state (``offer.can_respond(user, now)``, ``nomination.can_decide(user)``,
``run.can_publish()``).

    run:        draft → published (the coordinator publishes it) | superseded (another draft of the call was)
    offer:      offered → accepted | declined (the student answers, or the application moves on the student's
                page) | expired (the deadline passed) | withdrawn (the student withdrew the application)
                accepted → withdrawn
    nomination: nominated → accepted | rejected (the partner decides) | cancelled (the sending side, or the
                student withdrew); accepted | rejected → cancelled
"""
from __future__ import annotations

import enum
from collections.abc import Mapping


class RunStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    superseded = "superseded"  # another run of the same call and round was published


class OfferStatus(str, enum.Enum):
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"  # the student withdrew the application after accepting


class NominationStatus(str, enum.Enum):
    nominated = "nominated"  # the partner sees "pending"
    accepted = "accepted"
    rejected = "rejected"
    cancelled = "cancelled"  # by the sending side (or the student withdrew); partners no longer see it


R, O, N = RunStatus, OfferStatus, NominationStatus

RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    R.draft: frozenset({R.published, R.superseded}),
    R.published: frozenset(),
    R.superseded: frozenset(),
}
OFFER_TRANSITIONS: Mapping[OfferStatus, frozenset[OfferStatus]] = {
    O.offered: frozenset({O.accepted, O.declined, O.expired, O.withdrawn}),
    O.accepted: frozenset({O.withdrawn}),
    O.declined: frozenset(),
    O.expired: frozenset(),
    O.withdrawn: frozenset(),
}
NOMINATION_TRANSITIONS: Mapping[NominationStatus, frozenset[NominationStatus]] = {
    N.nominated: frozenset({N.accepted, N.rejected, N.cancelled}),
    N.accepted: frozenset({N.cancelled}),
    N.rejected: frozenset({N.cancelled}),
    N.cancelled: frozenset(),
}

#: status enum → {from status → statuses it may move to}. Keyed by the enum because the values overlap
#: (``OfferStatus.accepted == NominationStatus.accepted``: both are the string "accepted").
TRANSITIONS: Mapping[type, Mapping] = {RunStatus: RUN_TRANSITIONS, OfferStatus: OFFER_TRANSITIONS,
                                      NominationStatus: NOMINATION_TRANSITIONS}

#: Nominations that hold: at most one per application.
ACTIVE_NOMINATION = (N.nominated, N.accepted)


class TransitionRefused(Exception):
    """The table does not allow this change; `reason` is 'same' or 'not-allowed'."""

    def __init__(self, from_status, to_status, reason: str):
        super().__init__(f"{type(to_status).__name__}: {getattr(from_status, 'value', from_status)} → "
                         f"{to_status.value}: {reason}")
        self.from_status = from_status
        self.to_status = to_status
        self.reason = reason


def sources(to_status) -> frozenset:
    """The statuses from which the table allows a move to `to_status`."""
    table = TRANSITIONS[type(to_status)]
    return frozenset(status for status, targets in table.items() if to_status in targets)


def can_transition(from_status, to_status) -> bool:
    return to_status in TRANSITIONS[type(to_status)].get(from_status, frozenset())


def check_transition(from_status, to_status) -> None:
    """Raise TransitionRefused unless the table allows moving from `from_status` to `to_status`."""
    if from_status is to_status:
        raise TransitionRefused(from_status, to_status, "same")
    if not can_transition(from_status, to_status):
        raise TransitionRefused(from_status, to_status, "not-allowed")
