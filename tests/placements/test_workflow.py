"""The run, offer and nomination workflows: each table, its one writer, and the models' questions about state."""
import ast
from datetime import timedelta
from pathlib import Path

import pytest

import exchange
from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.placements import nominations
from exchange.placements import offers as offer_services
from exchange.placements import runs as run_services
from exchange.placements import transitions
from exchange.placements.models import MatchingRun, Nomination, Offer
from exchange.placements.workflow import (NOMINATION_TRANSITIONS, OFFER_TRANSITIONS, RUN_TRANSITIONS, TRANSITIONS,
                                          NominationStatus, OfferStatus, RunStatus, TransitionRefused,
                                          check_transition, sources)
from tests.fixtures.placements import deadline

ROOT = Path(exchange.__file__).parent


def moves(table, allowed: bool):
    return [(a, b) for a in table for b in type(a) if (b in table[a]) is allowed]


# --- The tables (pure) ------------------------------------------------------------------------------

@pytest.mark.parametrize("table", [RUN_TRANSITIONS, OFFER_TRANSITIONS, NOMINATION_TRANSITIONS])
def test_every_status_has_a_row(table):
    enum_class = type(next(iter(table)))
    assert set(table) == set(enum_class)
    assert TRANSITIONS[enum_class] is table


@pytest.mark.parametrize(("from_status", "to_status"), moves(RUN_TRANSITIONS, True) + moves(OFFER_TRANSITIONS, True)
                         + moves(NOMINATION_TRANSITIONS, True))
def test_allowed_moves_pass(from_status, to_status):
    check_transition(from_status, to_status)
    assert from_status in sources(to_status)


@pytest.mark.parametrize(("from_status", "to_status"), moves(RUN_TRANSITIONS, False)
                         + moves(OFFER_TRANSITIONS, False) + moves(NOMINATION_TRANSITIONS, False))
def test_other_moves_are_refused(from_status, to_status):
    with pytest.raises(TransitionRefused) as exc:
        check_transition(from_status, to_status)
    assert exc.value.reason == ("same" if from_status is to_status else "not-allowed")


def test_the_tables_tell_equal_values_of_different_workflows_apart():
    assert OfferStatus.accepted == NominationStatus.accepted  # both are the string "accepted"
    assert sources(OfferStatus.withdrawn) == {OfferStatus.offered, OfferStatus.accepted}
    assert sources(NominationStatus.cancelled) == {NominationStatus.nominated, NominationStatus.accepted,
                                                   NominationStatus.rejected}


# --- The writers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "from_status", "to_status"),
                         [(Offer, a, b) for a, b in moves(OFFER_TRANSITIONS, True)]
                         + [(Nomination, a, b) for a, b in moves(NOMINATION_TRANSITIONS, True)])
def test_set_status_makes_every_allowed_move(app, model, from_status, to_status):
    row = model(status=from_status)
    transitions.set_status(row, to_status)
    assert row.status is to_status


@pytest.mark.parametrize(("model", "from_status", "to_status"),
                         [(Offer, a, b) for a, b in moves(OFFER_TRANSITIONS, False)]
                         + [(Nomination, a, b) for a, b in moves(NOMINATION_TRANSITIONS, False)])
def test_set_status_refuses_the_other_moves(app, model, from_status, to_status):
    row = model(status=from_status)
    with pytest.raises(WorkflowError) as exc:
        transitions.set_status(row, to_status)
    assert exc.value.status == 409 and exc.value.code.startswith("transition-")
    assert row.status is from_status


def test_set_status_refuses_a_status_of_another_workflow(app):
    with pytest.raises(ValueError):
        transitions.set_status(Offer(status=OfferStatus.offered), NominationStatus.rejected)


def test_run_writer_publishes_a_draft_once_and_supersedes_the_other_drafts(db, placing):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    other = run_services.run_matching(w.call, by=w.coordinator)
    assert run.can_publish() and other.can_publish()
    now = utcnow()
    transitions.set_run_status(run, RunStatus.published, published_at=now, published_by_id=w.coordinator.id)
    transitions.supersede_drafts(w.call, run)
    db.session.expire_all()
    assert run.status is RunStatus.published and run.published_by_id == w.coordinator.id
    assert db.session.get(MatchingRun, other.id).status is RunStatus.superseded
    assert not run.can_publish() and not run.can_adjust() and run.is_published
    for target in RunStatus:
        with pytest.raises(WorkflowError):
            transitions.set_run_status(run, target)
        with pytest.raises(WorkflowError):
            transitions.set_run_status(db.session.get(MatchingRun, other.id), target)


# --- One writer per status: the architecture --------------------------------------------------------

class _Writes(ast.NodeVisitor):
    """Collects (enclosing function, target) of every `<target>.<attribute> = …` (also `+=`, `a, b.x = …`)."""

    def __init__(self, attribute: str):
        self.attribute, self.function, self.found = attribute, "<module>", set()

    def visit_FunctionDef(self, node):
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def _targets(self, targets):
        for target in targets:
            for t in (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]):
                if isinstance(t, ast.Attribute) and t.attr == self.attribute:
                    self.found.add((self.function, ast.unparse(t.value)))

    def visit_Assign(self, node):
        self._targets(node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets([node.target])
        self.generic_visit(node)

    visit_AnnAssign = visit_AugAssign


def _assignments(attribute: str):
    """(file relative to exchange/, enclosing function, target) of every `<target>.<attribute> = …` in exchange/."""
    found = set()
    for path in sorted(ROOT.rglob("*.py")):
        visitor = _Writes(attribute)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        found |= {(path.relative_to(ROOT).as_posix(), *write) for write in visitor.found}
    return found


def test_statuses_are_written_only_by_their_writers():
    writes = {write for write in _assignments("status") if write[0].startswith(("placements/", "events/"))}
    assert writes == {
        ("placements/transitions.py", "set_status", "row"),                 # Offer.status, Nomination.status
        ("events/services.py", "set_registration_status", "registration"),  # Registration.status
        ("events/services.py", "publish_event", "event"),                   # Event.status (models.TRANSITIONS)
        ("events/services.py", "cancel_event", "event"),
        ("placements/student.py", "student_outcome", "row"),                # a plain display row, not a model
    }


def test_run_statuses_are_updated_only_by_the_run_writer():
    """MatchingRun.status changes by conditional UPDATEs (`.values(status=…)`): only in placements/transitions.py."""
    updates = set()
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values"
                    and any(k.arg == "status" for k in node.keywords)):
                updates.add(path.relative_to(ROOT).as_posix())
    assert updates <= {"placements/transitions.py", "jobs/services.py"}  # jobs: Job.status, another table
    assert "placements/transitions.py" in updates


def test_nominated_at_is_written_only_by_its_writer():
    writes = {(path, function) for path, function, _target in _assignments("nominated_at")}
    assert writes == {("applications/services.py", "_set_nominated_at")}


# --- The models' questions ---------------------------------------------------------------------------

def test_offer_can_respond(db, placing, make_user):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(2), by=w.coordinator, notify=False)
    student = w.apps[0].student
    now = utcnow()
    assert first.is_pending and first.can_respond(student, now)
    assert not first.can_respond(w.apps[1].student, now) and not first.can_respond(w.coordinator, now)
    assert not first.can_respond(None, now)
    assert not first.can_respond(student, now + timedelta(days=3))  # past the deadline
    offer_services.respond_to_offer(first, False, by=student, notify=False)
    assert first.is_declined and not first.can_respond(student, now)
    offer_services.expire_offers(now=now + timedelta(days=3), notify=False)
    assert second.is_expired and not second.can_respond(w.apps[1].student, now)


def test_nomination_can_decide_and_can_cancel(db, placing, make_user):
    w = placing(scores=(90,), seats=(1,))
    run = run_services.run_matching(w.call, by=w.coordinator)
    (offer,) = offer_services.publish_run(run, deadline(), by=w.coordinator, notify=False)
    offer_services.respond_to_offer(offer, True, by=w.apps[0].student, notify=False)
    nomination = nominations.nominate(w.apps[0], by=w.coordinator)
    partner_user = make_user(Role.partner, institution_id=nomination.institution_id)
    other_partner = make_user(Role.partner)
    assert nomination.is_pending and nomination.can_decide(partner_user) and nomination.can_cancel()
    assert not nomination.can_decide(other_partner) and not nomination.can_decide(w.coordinator)
    nominations.decide_nomination(nomination, False, by=partner_user, reason="No room", notify=False)
    assert nomination.is_rejected and nomination.has_closing_reason and not nomination.can_decide(partner_user)
    assert w.apps[0].nominated_at is None
    nominations.cancel_nomination(nomination, by=w.coordinator, reason="Sent elsewhere")
    assert nomination.is_cancelled and not nomination.can_cancel()
    with pytest.raises(WorkflowError) as exc:
        nominations.cancel_nomination(nomination, by=w.coordinator, reason="Again")
    assert exc.value.code == "cancelled"


# --- The pages ask the same questions ------------------------------------------------------------------

def test_pages_show_the_actions_the_models_allow(db, client, login, placing, make_user):
    w = placing(scores=(90,), seats=(1,))
    run = run_services.run_matching(w.call, by=w.coordinator)
    login(w.coordinator)
    page = client.get(f"/placements/runs/{run.id}?tab=placed").get_data(as_text=True)
    assert f"/placements/runs/{run.id}/publish" in page and "/move" in page  # can_publish, can_adjust
    (offer,) = offer_services.publish_run(run, deadline(), by=w.coordinator, notify=False)
    page = client.get(f"/placements/runs/{run.id}?tab=placed").get_data(as_text=True)
    assert f"/placements/runs/{run.id}/publish" not in page and "/move" not in page
    assert "Follow the answers" in page  # run.is_published

    student = w.apps[0].student
    login(student)
    page = client.get(f"/placements/my/{w.apps[0].id}").get_data(as_text=True)
    assert "Accept the place" in page and "You are offered a place" in page  # offer.can_respond, is_pending
    offer_services.respond_to_offer(offer, True, by=student, notify=False)
    page = client.get(f"/placements/my/{w.apps[0].id}").get_data(as_text=True)
    assert "Accept the place" not in page and "You accepted this place" in page

    nomination = nominations.nominate(w.apps[0], by=w.coordinator)
    partner_user = make_user(Role.partner, institution_id=nomination.institution_id)
    login(partner_user)
    page = client.get(f"/placements/incoming/{nomination.id}").get_data(as_text=True)
    assert "Accept the student" in page  # nomination.can_decide(current_user)
    nominations.decide_nomination(nomination, True, by=partner_user, notify=False)
    page = client.get(f"/placements/incoming/{nomination.id}").get_data(as_text=True)
    assert "Accept the student" not in page
