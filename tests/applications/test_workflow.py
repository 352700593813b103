"""The status workflow (pure): every allowed and every refused transition, for each kind of actor."""
import itertools

import pytest

from exchange.applications.workflow import (EDITABLE, FINAL, OPEN, TRANSITIONS, Actor, ApplicationStatus,
                                            TransitionRefused, allowed_targets, can_transition, check_transition)

S = ApplicationStatus
st, sf, sy = Actor.student, Actor.staff, Actor.system

#: The specification, written out independently of the TRANSITIONS table.
ALLOWED = {
    (S.draft, S.submitted, st), (S.draft, S.withdrawn, st), (S.draft, S.withdrawn, sf),
    (S.submitted, S.under_review, sf), (S.submitted, S.withdrawn, st), (S.submitted, S.withdrawn, sf),
    (S.under_review, S.eligible, sf), (S.under_review, S.ineligible, sf),
    (S.under_review, S.changes_requested, sf),
    (S.under_review, S.withdrawn, st), (S.under_review, S.withdrawn, sf),
    (S.changes_requested, S.submitted, st),
    (S.changes_requested, S.withdrawn, st), (S.changes_requested, S.withdrawn, sf),
    (S.eligible, S.under_review, sf), (S.eligible, S.placed, sy), (S.eligible, S.waitlisted, sy),
    (S.eligible, S.not_placed, sy), (S.eligible, S.withdrawn, st), (S.eligible, S.withdrawn, sf),
    (S.ineligible, S.under_review, sf),
    (S.waitlisted, S.placed, sy), (S.waitlisted, S.not_placed, sy),
    (S.waitlisted, S.withdrawn, st), (S.waitlisted, S.withdrawn, sf),
    (S.placed, S.accepted, st), (S.placed, S.declined, st), (S.placed, S.declined, sy),
    (S.placed, S.withdrawn, st), (S.placed, S.withdrawn, sf),
    (S.accepted, S.withdrawn, st), (S.accepted, S.withdrawn, sf),
    (S.withdrawn, S.draft, st),  # applying again (the service allows it while the call is open)
}

ALL = list(itertools.product(S, S, Actor))


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(S)


def test_table_matches_the_specification():
    table = {(frm, to, actor) for frm, targets in TRANSITIONS.items() for to, actors in targets.items()
             for actor in actors}
    assert table == ALLOWED


@pytest.mark.parametrize(("frm", "to", "actor"), sorted(ALLOWED, key=str))
def test_allowed_transition(frm, to, actor):
    assert can_transition(frm, to, actor)
    check_transition(frm, to, actor)  # does not raise
    assert to in allowed_targets(frm, actor)


@pytest.mark.parametrize(("frm", "to", "actor"),
                         sorted((t for t in ALL if t not in ALLOWED), key=str))
def test_refused_transition(frm, to, actor):
    assert not can_transition(frm, to, actor)
    with pytest.raises(TransitionRefused) as info:
        check_transition(frm, to, actor)
    if frm == to:
        assert info.value.reason == "same"
    elif to in TRANSITIONS[frm]:
        assert info.value.reason == "wrong-actor"
    else:
        assert info.value.reason == "not-allowed"
    assert to not in allowed_targets(frm, actor)


def test_withdrawn_from_every_open_state_and_only_those():
    assert OPEN == {S.draft, S.submitted, S.under_review, S.changes_requested, S.eligible, S.waitlisted,
                    S.placed, S.accepted}
    for status in S:
        assert can_transition(status, S.withdrawn, Actor.student) == (status in OPEN)


def test_final_states_have_no_way_out():
    assert FINAL == {S.not_placed, S.declined}
    for status in FINAL:
        assert allowed_targets(status) == []


def test_student_edits_only_drafts_and_requested_changes():
    assert EDITABLE == {S.draft, S.changes_requested}


def test_placement_outcomes_belong_to_the_system_not_to_staff():
    for to in (S.placed, S.waitlisted, S.not_placed):
        assert not can_transition(S.eligible, to, Actor.staff)
        assert can_transition(S.eligible, to, Actor.system)
