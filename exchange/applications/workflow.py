"""The application status workflow: one table, defined here and nowhere else.

Pure module (no Flask, no SQLAlchemy). The service `exchange.applications.services.transition()`
checks every status change against :data:`TRANSITIONS`, records it and notifies the student.

    draft → submitted → under_review → eligible | ineligible | changes_requested
    changes_requested → submitted (the student sends it again)
    eligible | ineligible → under_review (staff reopen a decision)
    eligible → placed | waitlisted | not_placed (matching);  waitlisted → placed | not_placed
    placed → accepted | declined (the student answers)
    withdrawn: from every open state (by the student, or by staff on the student's behalf)
    withdrawn → draft (the student applies again; the service allows it while the call is open)

Who may trigger a transition (:class:`Actor`):

* ``student`` – the applicant: submit, resubmit after a request for changes, accept or decline a
  place, withdraw, apply again after withdrawing;
* ``staff`` – coordinators and administrators reviewing: start the review, decide eligible /
  ineligible / changes requested, reopen a decided review, withdraw on the student's behalf;
* ``system`` – the placement (matching) step and its jobs: placed, waitlisted, not placed,
  waitlist promotion, a declined offer when its deadline passes. A coordinator who runs matching
  is recorded as the person (``by``) but acts as ``system``.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping


class ApplicationStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    under_review = "under_review"
    changes_requested = "changes_requested"
    eligible = "eligible"
    ineligible = "ineligible"
    placed = "placed"
    waitlisted = "waitlisted"
    not_placed = "not_placed"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class Actor(str, enum.Enum):
    student = "student"
    staff = "staff"
    system = "system"


S = ApplicationStatus
_STUDENT = frozenset({Actor.student})
_STAFF = frozenset({Actor.staff})
_SYSTEM = frozenset({Actor.system})
_WITHDRAW = frozenset({Actor.student, Actor.staff})

#: from status → {to status → actors allowed to make that change}
TRANSITIONS: Mapping[ApplicationStatus, Mapping[ApplicationStatus, frozenset[Actor]]] = {
    S.draft: {S.submitted: _STUDENT, S.withdrawn: _WITHDRAW},
    S.submitted: {S.under_review: _STAFF, S.withdrawn: _WITHDRAW},
    S.under_review: {S.eligible: _STAFF, S.ineligible: _STAFF, S.changes_requested: _STAFF,
                     S.withdrawn: _WITHDRAW},
    S.changes_requested: {S.submitted: _STUDENT, S.withdrawn: _WITHDRAW},
    S.eligible: {S.under_review: _STAFF, S.placed: _SYSTEM, S.waitlisted: _SYSTEM, S.not_placed: _SYSTEM,
                 S.withdrawn: _WITHDRAW},
    S.ineligible: {S.under_review: _STAFF},
    S.waitlisted: {S.placed: _SYSTEM, S.not_placed: _SYSTEM, S.withdrawn: _WITHDRAW},
    S.placed: {S.accepted: _STUDENT, S.declined: frozenset({Actor.student, Actor.system}),
               S.withdrawn: _WITHDRAW},
    S.accepted: {S.withdrawn: _WITHDRAW},
    S.not_placed: {},
    S.declined: {},
    S.withdrawn: {S.draft: _STUDENT},
}

#: The student may change the application's content only in these states.
EDITABLE = frozenset({S.draft, S.changes_requested})
#: Open = the application can still be withdrawn.
OPEN = frozenset(status for status, targets in TRANSITIONS.items() if S.withdrawn in targets)
#: Nothing can happen any more (the ineligible decision can still be reopened by staff, so it is not final).
FINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
#: Waiting for the coordinators ("needs action" in the review pipeline).
NEEDS_STAFF_ACTION = frozenset({S.submitted, S.under_review})
#: Sent in and not withdrawn: what the review pipeline counts as applications.
IN_PIPELINE = frozenset(set(S) - {S.draft})
#: Statuses the placement step may move an application out of (its input).
MATCHABLE = frozenset({S.eligible, S.waitlisted})
#: The outcome of placement.
PLACEMENT_OUTCOMES = frozenset({S.placed, S.waitlisted, S.not_placed, S.accepted, S.declined})


class TransitionRefused(Exception):
    """The workflow does not allow this change; `reason` is 'same', 'not-allowed' or 'wrong-actor'."""

    def __init__(self, from_status: ApplicationStatus, to_status: ApplicationStatus, actor: Actor, reason: str):
        super().__init__(f"{from_status.value} → {to_status.value} by {actor.value}: {reason}")
        self.from_status = from_status
        self.to_status = to_status
        self.actor = actor
        self.reason = reason


def allowed_targets(status: ApplicationStatus, actor: Actor | None = None) -> list[ApplicationStatus]:
    """The statuses reachable from `status` (by `actor` when given), in the enum's order."""
    targets = TRANSITIONS.get(status, {})
    return [to for to in S if to in targets and (actor is None or actor in targets[to])]


def can_transition(from_status: ApplicationStatus, to_status: ApplicationStatus, actor: Actor) -> bool:
    return actor in TRANSITIONS.get(from_status, {}).get(to_status, frozenset())


def check_transition(from_status: ApplicationStatus, to_status: ApplicationStatus, actor: Actor) -> None:
    """Raise TransitionRefused unless `actor` may move an application from `from_status` to `to_status`."""
    if from_status == to_status:
        raise TransitionRefused(from_status, to_status, actor, "same")
    actors = TRANSITIONS.get(from_status, {}).get(to_status)
    if actors is None:
        raise TransitionRefused(from_status, to_status, actor, "not-allowed")
    if actor not in actors:
        raise TransitionRefused(from_status, to_status, actor, "wrong-actor")


def is_editable(status: ApplicationStatus) -> bool:
    return status in EDITABLE


def is_open(status: ApplicationStatus) -> bool:
    return status in OPEN
