"""Matching runs, adjustments, publication, offers, second rounds, nominations: the services."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.applications import services as app_services
from exchange.applications.access import get_document_for, partner_may_see, partner_may_see_document
from exchange.applications.models import ApplicationChoice, DocumentKind
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.placements import adjustments, incoming, nominations, panels, queries
from exchange.placements import comparison as comparison_services
from exchange.placements import offers as offer_services
from exchange.placements import runs as run_services
from exchange.placements import student as student_services
from exchange.placements.models import (ManualAdjustment, MatchingRun, Nomination, NominationStatus, Offer,
                                        OfferStatus, RunPlace, RunPlacement, RunStatus, UnplacedReason)
from tests.fixtures.applications import add_document
from tests.fixtures.mail import text_of
from tests.fixtures.placements import deadline


def placements_of(db, run):
    return {p.application_id: p for p in db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == run.id))}


def run_place(db, run, place):
    return db.session.scalar(select(RunPlace).where(RunPlace.run_id == run.id, RunPlace.place_id == place.id))


# --- Runs -------------------------------------------------------------------------------------------

def test_run_places_by_score_and_stores_cutoffs(db, placing):
    w = placing()
    a, b = w.places
    run = run_services.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    rows = placements_of(db, run)
    s1, s2, s3, s4 = w.apps
    assert (rows[s1.id].place_id, rows[s1.id].choice_rank) == (a.id, 1)
    assert (rows[s2.id].place_id, rows[s2.id].choice_rank) == (b.id, 2)
    assert rows[s3.id].place_id is None and rows[s3.id].reason is UnplacedReason.full
    assert rows[s4.id].place_id is None
    assert run.round == 1 and run.status is RunStatus.draft
    assert (run.applications_count, run.placed_count, run.seats_count, run.places_count) == (4, 2, 2, 2)
    assert run.by_choice() == [(1, 1), (2, 1)]
    assert run_place(db, run, a).cutoff_score == Decimal("90") and run_place(db, run, a).filled == 1
    assert run_place(db, run, b).cutoff_score == Decimal("80")
    assert rows[s1.id].choices == [{"place": a.id, "rank": 1, "eligible": True, "reasons": []},
                                   {"place": b.id, "rank": 2, "eligible": True, "reasons": []}]


def test_ties_break_by_earlier_submission_then_id(db, placing):
    w = placing(scores=(75, 75, 75), seats=(1,))
    s1, s2, s3 = w.apps
    s1.submitted_at = s2.submitted_at + timedelta(minutes=5)  # s1 submitted last
    s3.submitted_at = s2.submitted_at                         # s2 and s3 at the same time: lower id wins
    db.session.commit()
    run = run_services.run_matching(w.call, by=w.coordinator)
    rows = placements_of(db, run)
    assert rows[s2.id].place_id == w.places[0].id
    assert rows[s1.id].place_id is None and rows[s3.id].place_id is None


def test_unscored_students_rank_last(db, placing):
    w = placing(scores=(None, 40), seats=(1,))
    run = run_services.run_matching(w.call, by=w.coordinator)
    rows = placements_of(db, run)
    assert rows[w.apps[1].id].place_id is not None and rows[w.apps[0].id].place_id is None
    assert run.unscored_count == 1


def test_only_eligible_applications_and_pairs_take_part(db, placing, make_condition, make_application,
                                                         coordinator):
    w = placing(scores=(90, 80), seats=(1, 1), statuses=[S.eligible, S.under_review])
    german = make_condition("0613", languages=[("de", "B2")])
    app_services.set_call_places(w.call, {**{p.condition_id: p.seats for p in w.places}, german.id: 3},
                                 by=coordinator)
    german_place = next(p for p in w.call.places if p.condition_id == german.id)
    first = w.apps[0]
    first.choices.clear()
    db.session.flush()
    for rank, place_id in enumerate([german_place.id, w.places[0].id], 1):
        first.choices.append(ApplicationChoice(place_id=place_id, rank=rank))
    db.session.commit()
    run = run_services.run_matching(w.call, by=w.coordinator)
    rows = placements_of(db, run)
    assert set(rows) == {first.id}  # the application under review is not part of the run
    row = rows[first.id]
    assert row.place_id == w.places[0].id and row.choice_rank == 2
    snap = row.choice(german_place.id)
    assert snap["eligible"] is False and snap["reasons"][0]["code"] == "language_missing"
    assert run.ineligible_pairs_count == 1 and run.eligible_pairs_count == 1
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    (german_row, _obtained) = student_services.student_outcome(first).rows
    assert german_row.status == "not_eligible" and "German" in german_row.reasons[0]


def test_no_eligible_application_is_refused(db, placing):
    w = placing(scores=(90,), statuses=[S.under_review])
    with pytest.raises(WorkflowError) as exc:
        run_services.run_matching(w.call, by=w.coordinator)
    assert exc.value.code == "no-applications"


def test_building_the_input_takes_the_same_queries_whatever_the_number(db, placing, count_queries):
    small = placing(scores=(90, 80, 70))
    with count_queries() as few:
        run_services.run_matching(small.call, by=small.coordinator)
    db.session.rollback()
    big = placing(scores=tuple(range(20, 80, 2)))
    with count_queries() as many:
        run_services.run_matching(big.call, by=big.coordinator)
    assert many.n == few.n <= 16


# --- Manual adjustments -----------------------------------------------------------------------------

def test_moving_into_a_full_place_warns_of_capacity_and_unfairness(db, placing):
    w = placing()
    a, b = w.places
    s1, s2, s3, s4 = w.apps
    run = run_services.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    rows = placements_of(db, run)
    with pytest.raises(adjustments.NeedsConfirmation) as exc:
        adjustments.move_placement(run, rows[s3.id], a.id, "Special agreement with the partner", by=w.coordinator)
    codes = {w_["code"]: w_["params"] for w_ in exc.value.warnings}
    assert codes["over_capacity"]["filled"] == 2 and codes["over_capacity"]["seats"] == 1
    assert codes["unfair"]["names"] == ["Student 2"]  # ranked higher, wanted A, got B
    db.session.rollback()
    run = db.session.get(MatchingRun, run.id)
    rows = placements_of(db, run)
    adjustment = adjustments.move_placement(run, rows[s3.id], a.id, "Special agreement with the partner",
                                            by=w.coordinator, confirm=True)
    db.session.commit()
    assert adjustment.by_id == w.coordinator.id and adjustment.from_place_id is None
    assert {x["code"] for x in adjustment.warnings} == {"over_capacity", "unfair"}
    assert run_place(db, run, a).filled == 2 and run_place(db, run, a).over_capacity
    assert run_place(db, run, a).cutoff_score == Decimal("70")
    assert placements_of(db, run)[s3.id].adjusted and placements_of(db, run)[s3.id].choice_rank == 1
    assert run.placed_count == 3 and run.adjustments_count == 1 and run.by_choice() == [(1, 2), (2, 1)]


def test_taking_a_student_out_warns_that_a_seat_is_left_free(db, placing):
    w = placing()
    s1 = w.apps[0]
    run = run_services.run_matching(w.call, by=w.coordinator)
    with pytest.raises(adjustments.NeedsConfirmation) as exc:
        adjustments.move_placement(run, placements_of(db, run)[s1.id], None, "Withdrew by phone", by=w.coordinator)
    (warning,) = exc.value.warnings
    assert warning["code"] == "seat_left_free"
    assert warning["params"]["names"] == ["Student 2", "Student 3", "Student 4"]


def test_a_move_without_consequences_needs_no_confirmation(db, placing):
    w = placing(scores=(90, 80), seats=(2, 1))
    a, b = w.places
    run = run_services.run_matching(w.call, by=w.coordinator)
    rows = placements_of(db, run)
    assert rows[w.apps[1].id].place_id == a.id
    adjustments.move_placement(run, rows[w.apps[1].id], b.id, "Prefers B after all", by=w.coordinator)
    assert run_place(db, run, b).filled == 1 and run_place(db, run, a).filled == 1
    assert db.session.scalar(select(func.count(ManualAdjustment.id))) == 1


def test_move_rules(db, placing):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    row = placements_of(db, run)[w.apps[0].id]
    with pytest.raises(WorkflowError) as exc:
        adjustments.move_placement(run, row, w.places[1].id, "   ", by=w.coordinator)
    assert exc.value.field == "reason"
    with pytest.raises(WorkflowError) as exc:
        adjustments.move_placement(run, row, w.places[1].id, "x" * 1001, by=w.coordinator)
    assert exc.value.field == "reason"
    with pytest.raises(WorkflowError) as exc:
        adjustments.move_placement(run, row, w.places[0].id, "why", by=w.coordinator)
    assert exc.value.code == "same-place"
    with pytest.raises(WorkflowError) as exc:
        adjustments.move_placement(run, row, 999999, "why", by=w.coordinator)
    assert exc.value.code == "bad-place"
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    with pytest.raises(WorkflowError) as exc:
        adjustments.move_placement(run, row, w.places[1].id, "why", by=w.coordinator, confirm=True)
    assert exc.value.code == "not-draft"


def test_compare_two_runs(db, placing):
    w = placing()
    first = run_services.run_matching(w.call, by=w.coordinator)
    second = run_services.run_matching(w.call, by=w.coordinator)
    adjustments.move_placement(second, placements_of(db, second)[w.apps[2].id], w.places[0].id, "test",
                               by=w.coordinator, confirm=True)
    comparison = comparison_services.compare_runs(first, second)
    assert comparison.same == 3
    (moved, other), = comparison.moved
    assert moved.application_id == w.apps[2].id and moved.place_id is None and other.place_id == w.places[0].id
    assert comparison.by_choice == [(1, 1, 2), (2, 1, 1)]


def test_run_sql_order_and_comparison_share_one_ranking_on_ties(db, app, placing):
    """Equal scores, different submissions: the run, its pages (SQL) and the comparison rank alike."""
    w = placing(scores=(75, 75, 75, 75), seats=(1, 1), choices=[[0]] * 4)
    s1, s2, s3, s4 = w.apps
    s1.submitted_at = s2.submitted_at + timedelta(minutes=10)  # s1 submitted last
    s4.submitted_at = s2.submitted_at - timedelta(minutes=10)  # s4 first, although its id is the highest
    s3.submitted_at = s2.submitted_at                          # s2 and s3 at the same time: lower id first
    db.session.commit()
    expected = [s4.id, s2.id, s3.id, s1.id]
    first = run_services.run_matching(w.call, by=w.coordinator)
    second = run_services.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    rows = placements_of(db, first)
    assert [a for a in rows if rows[a].place_id] == [s4.id]  # the run placed the best-ranked
    assert sorted(rows, key=lambda a: rows[a].rank_key()) == expected
    with app.test_request_context("/"):
        placed = run_services.run_placements_page(first, True, per_page=50)
        unplaced = run_services.run_placements_page(first, False, per_page=50)
    assert [r.application_id for r in placed.items + unplaced.items] == expected
    for row in placements_of(db, second).values():  # everyone elsewhere in the second run
        row.place_id = w.places[1].id
    db.session.flush()
    comparison = comparison_services.compare_runs(first, second)
    assert [moved.application_id for moved, _ in comparison.moved] == expected


# --- Publishing, offers and the second round -----------------------------------------------------------

def test_publish_places_waitlists_and_offers(db, placing, outbox):
    w = placing()
    s1, s2, s3, s4 = w.apps
    other = run_services.run_matching(w.call, by=w.coordinator)
    run = run_services.run_matching(w.call, by=w.coordinator)
    when = deadline()
    offers = offer_services.publish_run(run, when, by=w.coordinator)
    db.session.commit()
    assert run.status is RunStatus.published and run.offer_deadline == when and run.published_by_id == w.coordinator.id
    assert db.session.get(MatchingRun, other.id).status is RunStatus.superseded
    assert [o.application_id for o in offers] == [s1.id, s2.id]
    assert s1.status is S.placed and s1.placed_place_id == w.places[0].id
    assert s1.placed_institution_id == w.places[0].partner.id
    assert s3.status is S.waitlisted and s4.status is S.waitlisted
    assert s1.history[-1].by_id == w.coordinator.id and s1.history[-1].actor.value == "system"
    subjects = sorted(m["Subject"] for m in outbox.messages())
    assert len(subjects) == 4 and sum("offered a place" in s for s in subjects) == 2
    offer_mail = next(m for m in outbox.messages() if m["To"] == s1.student.email)
    assert "/placements/my/%d" % s1.id in text_of(offer_mail)
    with pytest.raises(WorkflowError) as exc:
        offer_services.publish_run(run, deadline(), by=w.coordinator)
    assert exc.value.code == "not-draft"
    with pytest.raises(WorkflowError) as exc:
        offer_services.publish_run(db.session.get(MatchingRun, other.id), deadline(), by=w.coordinator)
    assert exc.value.code == "not-draft"


def test_a_mail_that_cannot_be_sent_does_not_stop_the_others(db, placing, outbox, monkeypatch):
    """The run is published before its e-mails go out: one refused address is logged, the others are sent."""
    from smtplib import SMTPRecipientsRefused

    from exchange.core import mail
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    send, refused = mail.send_template, w.apps[0].student.email

    def flaky(to, *args, **kwargs):
        if to == refused:
            raise SMTPRecipientsRefused({to: (550, b"No such mailbox")})
        return send(to, *args, **kwargs)
    monkeypatch.setattr(mail, "send_template", flaky)
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    db.session.commit()
    assert run.status is RunStatus.published
    assert sorted(m["To"] for m in outbox.messages()) == sorted(a.student.email for a in w.apps[1:])


def test_students_with_no_possible_choice_are_not_placed(db, placing):
    w = placing(scores=(90, 80), seats=(1, 1), choices=[[0], [0]])
    w.places[1].seats = 0
    run = run_services.run_matching(w.call, by=w.coordinator)
    row = placements_of(db, run)[w.apps[1].id]
    assert row.reason is UnplacedReason.full
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    assert w.apps[1].status is S.waitlisted


def test_publish_rules(db, placing, make_application):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    for bad in (utcnow() + timedelta(minutes=30), utcnow() + timedelta(days=91), None):
        with pytest.raises(WorkflowError) as exc:
            offer_services.publish_run(run, bad, by=w.coordinator)
        assert exc.value.field == "deadline"
    w.call.closes_at = utcnow() + timedelta(days=1)
    with pytest.raises(WorkflowError) as exc:
        offer_services.publish_run(run, deadline(), by=w.coordinator)
    assert exc.value.code == "call-open"
    w.call.closes_at = utcnow() - timedelta(hours=1)
    app_services.withdraw_application(w.apps[3], by=w.apps[3].student)
    with pytest.raises(WorkflowError) as exc:
        offer_services.publish_run(run, deadline(), by=w.coordinator)
    assert exc.value.code == "stale"
    assert run.status is RunStatus.draft


def test_accept_with_shared_documents_and_decline(db, placing, outbox):
    w = placing()
    s1, s2 = w.apps[:2]
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(), by=w.coordinator)
    with pytest.raises(WorkflowError) as exc:
        offer_services.respond_to_offer(first, True, by=s2.student)
    assert exc.value.status == 403
    with pytest.raises(WorkflowError) as exc:
        offer_services.respond_to_offer(first, True, by=s1.student, shared=["language_certificate"])  # not uploaded
    assert exc.value.field == "documents"
    with pytest.raises(WorkflowError):
        offer_services.respond_to_offer(first, True, by=s1.student, shared=["nonsense"])
    offer_services.respond_to_offer(first, True, by=s1.student, shared=["transcript"])
    offer_services.respond_to_offer(second, False, by=s2.student)
    db.session.commit()
    assert (first.status, first.shared_kinds, s1.status) == (OfferStatus.accepted, [DocumentKind.transcript],
                                                            S.accepted)
    assert (second.status, s2.status) == (OfferStatus.declined, S.declined)
    with pytest.raises(WorkflowError) as exc:
        offer_services.respond_to_offer(first, False, by=s1.student)
    assert exc.value.code == "answered"
    offer_services.set_shared_documents(s1, [], by=s1.student)
    assert first.shared_documents == ""
    with pytest.raises(WorkflowError):
        offer_services.set_shared_documents(s2, ["transcript"], by=s2.student)


def test_answering_through_the_application_workflow_keeps_the_offer_in_step(db, placing):
    w = placing()
    s1, s2 = w.apps[:2]
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(), by=w.coordinator)
    app_services.transition(s1, S.accepted, by=s1.student)
    app_services.transition(s2, S.declined, by=s2.student)
    db.session.commit()
    assert first.status is OfferStatus.accepted and first.responded_at is not None
    assert second.status is OfferStatus.declined


def test_expired_offers_decline_and_free_their_seats(db, placing, outbox):
    w = placing()
    s1, s2 = w.apps[:2]
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(2), by=w.coordinator)
    offer_services.respond_to_offer(first, True, by=s1.student)
    db.session.commit()
    assert offer_services.expire_offers(now=utcnow()) == 0
    assert offer_services.expire_offers(now=utcnow() + timedelta(days=3)) == 1
    db.session.commit()
    assert second.status is OfferStatus.expired and s2.status is S.declined
    assert s2.history[-1].actor.value == "system" and s2.history[-1].by_id is None
    assert outbox.last()["To"] == s2.student.email and "expired" in outbox.last()["Subject"]
    assert run_services.free_seats(w.call) == {w.places[0].id: 0, w.places[1].id: 1}
    with pytest.raises(WorkflowError) as exc:
        offer_services.respond_to_offer(second, True, by=s2.student)
    assert exc.value.code == "answered"


def test_an_answer_after_the_deadline_is_refused(db, placing):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, _second = offer_services.publish_run(run, deadline(2), by=w.coordinator)
    with pytest.raises(WorkflowError) as exc:
        offer_services.respond_to_offer(first, True, by=w.apps[0].student, now=utcnow() + timedelta(days=3))
    assert exc.value.code == "expired"


def test_second_round_fills_freed_seats_without_moving_anyone(db, placing):
    w = placing()
    a, b = w.places
    s1, s2, s3, s4 = w.apps
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(), by=w.coordinator)
    offer_services.respond_to_offer(first, False, by=s1.student)   # A is freed
    offer_services.respond_to_offer(second, True, by=s2.student)   # s2 keeps B although they preferred A
    db.session.commit()
    again = run_services.run_matching(w.call, by=w.coordinator)
    assert again.round == 2 and again.applications_count == 2 and again.seats_count == 1
    rows = placements_of(db, again)
    assert set(rows) == {s3.id, s4.id}
    assert rows[s3.id].place_id == a.id and rows[s4.id].place_id is None
    offers = offer_services.publish_run(again, deadline(), by=w.coordinator)
    db.session.commit()
    assert [o.application_id for o in offers] == [s3.id] and offers[0].round == 2
    assert s3.status is S.placed and s4.status is S.waitlisted and s2.status is S.accepted
    assert s2.placed_place_id == b.id
    with pytest.raises(WorkflowError) as exc:
        run_services.run_matching(w.call, by=w.coordinator)
    assert exc.value.code == "no-seats"
    assert offer_services.close_waitlist(w.call, by=w.coordinator) == 1
    assert s4.status is S.not_placed


def test_round_two_needs_its_own_run(db, placing):
    w = placing()
    run = run_services.run_matching(w.call, by=w.coordinator)
    stale = run_services.run_matching(w.call, by=w.coordinator)
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    stale.status = RunStatus.draft  # pretend it escaped supersession
    with pytest.raises(WorkflowError) as exc:
        offer_services.publish_run(stale, deadline(), by=w.coordinator)
    assert exc.value.code == "stale"


# --- What the student sees ------------------------------------------------------------------------------

def test_student_outcome_explains_each_higher_choice(db, placing):
    w = placing()
    s1, s2, s3 = w.apps[:3]
    run = run_services.run_matching(w.call, by=w.coordinator)
    assert student_services.student_outcome(s3) is None  # not published yet
    offer_services.publish_run(run, deadline(), by=w.coordinator)
    outcome = student_services.student_outcome(s3)
    assert outcome.score == Decimal("70") and outcome.offer is None
    assert [(r.rank, r.status, r.cutoff_score) for r in outcome.rows] == [(1, "full", Decimal("90")),
                                                                          (2, "full", Decimal("80"))]
    outcome = student_services.student_outcome(s2)
    assert [(r.rank, r.status) for r in outcome.rows] == [(1, "full"), (2, "obtained")]
    assert outcome.offer.status is OfferStatus.offered
    outcome = student_services.student_outcome(s1)
    assert [r.status for r in outcome.rows] == ["obtained", "lower"]


# --- Nominations --------------------------------------------------------------------------------------

@pytest.fixture
def accepted(db, placing):
    """Two students accepted A and B (the first shared the transcript), one is waitlisted."""
    w = placing(scores=(90, 80, 70))
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(), by=w.coordinator, notify=False)
    offer_services.respond_to_offer(first, True, by=w.apps[0].student, shared=["transcript"], notify=False)
    offer_services.respond_to_offer(second, True, by=w.apps[1].student, notify=False)
    db.session.commit()
    return w


def test_nominate_one_with_dates_and_shared_documents(db, accepted, make_user, outbox):
    w = accepted
    s1 = w.apps[0]
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    nomination = nominations.nominate(s1, by=w.coordinator, arrival=date(w.call.academic_year, 9, 5),
                                      departure=date(w.call.academic_year + 1, 1, 30), notify=True)
    db.session.commit()
    assert nomination.status is NominationStatus.nominated and nomination.institution_id == w.places[0].partner.id
    assert nomination.shared_kinds == [DocumentKind.transcript] and nomination.academic_year == w.call.academic_year
    assert s1.nominated_at is not None
    assert outbox.last()["To"] == partner_user.email
    with pytest.raises(WorkflowError) as exc:
        nominations.nominate(s1, by=w.coordinator)
    assert exc.value.code == "already"
    with pytest.raises(WorkflowError) as exc:
        nominations.nominate(w.apps[2], by=w.coordinator)
    assert exc.value.code == "not-accepted"


@pytest.mark.parametrize(("arrival", "departure", "field"), [
    ((0, 9, 1), (0, 8, 1), "planned_departure"),
    ((-2, 9, 1), (0, 12, 1), "planned_arrival"),
    ((0, 9, 1), (3, 1, 1), "planned_departure"),
    ((0, 1, 2), (1, 12, 30), "planned_departure"),  # longer than 400 days
])
def test_nomination_dates_are_checked(db, accepted, arrival, departure, field):
    y = accepted.call.academic_year
    with pytest.raises(WorkflowError) as exc:
        nominations.nominate(accepted.apps[0], by=accepted.coordinator, arrival=date(y + arrival[0], *arrival[1:]),
                             departure=date(y + departure[0], *departure[1:]))
    assert exc.value.field == field


def test_default_period_follows_the_call(db, accepted):
    call = accepted.call
    y = call.academic_year
    assert nominations.default_period(call) == (date(y, 9, 1), date(y + 1, 1, 31))
    nomination = nominations.nominate(accepted.apps[1], by=accepted.coordinator)
    assert (nomination.planned_arrival, nomination.planned_departure) == (date(y, 9, 1), date(y + 1, 1, 31))


def test_nominate_all_once_and_email_each_partner_user_once(db, accepted, make_user, outbox):
    w = accepted
    users = [make_user(Role.partner, institution_id=w.places[0].partner.id),
             make_user(Role.partner, institution_id=w.places[0].partner.id),
             make_user(Role.partner, institution_id=w.places[1].partner.id)]
    result = nominations.nominate_many(w.call, by=w.coordinator)
    db.session.commit()
    assert len(result.done) == 2 and not result.refused
    assert sorted(m["To"] for m in outbox.messages()) == sorted(u.email for u in users)
    with pytest.raises(WorkflowError) as exc:
        nominations.nominate_many(w.call, by=w.coordinator)
    assert exc.value.code == "none"
    result = nominations.nominate_many(w.call, by=w.coordinator, application_ids=[w.apps[2].id])
    assert not result.done and result.refused[0][0].id == w.apps[2].id


def test_partner_decisions_notify_student_and_coordinator(db, accepted, make_user, outbox):
    w = accepted
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    stranger = make_user(Role.partner)
    first = nominations.nominate(w.apps[0], by=w.coordinator)
    second_user = make_user(Role.partner, institution_id=w.places[1].partner.id)
    second = nominations.nominate(w.apps[1], by=w.coordinator)
    db.session.commit()
    with pytest.raises(WorkflowError) as exc:
        nominations.decide_nomination(first, True, by=stranger)
    assert exc.value.status == 404
    with pytest.raises(WorkflowError) as exc:
        nominations.decide_nomination(first, False, by=partner_user, reason="  ")
    assert exc.value.field == "reason"
    nominations.decide_nomination(first, True, by=partner_user)
    nominations.decide_nomination(second, False, by=second_user, reason="Courses full in spring")
    db.session.commit()
    assert first.status is NominationStatus.accepted and first.decided_by_id == partner_user.id
    assert second.status is NominationStatus.rejected and second.reason == "Courses full in spring"
    recipients = [m["To"] for m in outbox.messages()]
    assert recipients.count(w.coordinator.email) == 2
    assert w.apps[0].student.email in recipients and w.apps[1].student.email in recipients
    rejection = next(m for m in outbox.messages() if m["To"] == w.apps[1].student.email)
    assert "Courses full in spring" in text_of(rejection)
    with pytest.raises(WorkflowError) as exc:
        nominations.decide_nomination(first, False, by=partner_user, reason="changed my mind")
    assert exc.value.code == "decided"


def test_a_rejection_hides_the_student_and_a_new_nomination_shows_them_again(db, accepted, make_user):
    w = accepted
    s1 = w.apps[0]
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    transcript = s1.document(DocumentKind.transcript)
    first = nominations.nominate(s1, by=w.coordinator)
    assert partner_may_see_document(partner_user, s1, transcript)
    nominations.decide_nomination(first, False, by=partner_user, reason="No room", notify=False)
    db.session.commit()
    assert s1.nominated_at is None and not partner_may_see_document(partner_user, s1, transcript)
    assert db.session.scalars(incoming.incoming_query(partner_user)).all() == []
    assert panels.partner_panel_counts(partner_user) == (0, 0)
    assert incoming.incoming_summary(partner_user).counts == {}
    second = nominations.nominate(s1, by=w.coordinator)  # the office tries again
    db.session.commit()
    assert db.session.scalars(incoming.incoming_query(partner_user)).all() == [second]
    assert partner_may_see_document(partner_user, s1, transcript)
    assert panels.partner_panel_counts(partner_user) == (1, 1)


def test_the_migration_hides_the_students_rejected_before_it(db, accepted, make_user):
    """Rejections used to leave `applications.nominated_at` set: the data migration clears it."""
    import importlib.util
    import pathlib

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    w = accepted
    s1, s2 = w.apps[:2]
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    rejected = nominations.nominate(s1, by=w.coordinator)
    nominations.nominate(s2, by=w.coordinator)
    rejected.status = NominationStatus.rejected  # as a rejection left it: nominated_at still set
    legacy = w.apps[2]  # marked nominated without a nomination row: left alone
    legacy.placed_place_id, legacy.placed_institution_id, legacy.nominated_at = (
        w.places[1].id, w.places[1].partner.id, utcnow())
    db.session.commit()
    assert partner_may_see(partner_user, s1)  # the application page, before the migration
    path = next(pathlib.Path("migrations/versions").glob("*_partners_no_longer_see_the_students_*.py"))
    spec = importlib.util.spec_from_file_location("migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration.upgrade()
    db.session.commit()
    db.session.expire_all()
    assert s1.nominated_at is None and s2.nominated_at is not None and legacy.nominated_at is not None
    assert not partner_may_see(partner_user, s1)


def test_cancel_and_withdrawal_hide_the_student_from_the_partner(db, accepted, make_user, outbox):
    w = accepted
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    nomination = nominations.nominate(w.apps[0], by=w.coordinator)
    db.session.commit()
    assert db.session.scalar(incoming.incoming_query(partner_user)).id == nomination.id
    with pytest.raises(WorkflowError):
        nominations.cancel_nomination(nomination, by=w.coordinator, reason="")
    nominations.cancel_nomination(nomination, by=w.coordinator, reason="Wrong partner")
    db.session.commit()
    assert nomination.status is NominationStatus.cancelled and w.apps[0].nominated_at is None
    assert db.session.scalar(incoming.incoming_query(partner_user)) is None
    assert outbox.last()["To"] == partner_user.email
    # Nominated again, then the student withdraws: the nomination is cancelled, the offer withdrawn.
    again = nominations.nominate(w.apps[0], by=w.coordinator)
    db.session.commit()
    app_services.withdraw_application(w.apps[0], by=w.apps[0].student, comment="Staying home")
    db.session.commit()
    assert again.status is NominationStatus.cancelled and w.apps[0].nominated_at is None
    offer = db.session.scalar(select(Offer).where(Offer.application_id == w.apps[0].id))
    assert offer.status is OfferStatus.withdrawn
    assert run_services.free_seats(w.call)[w.places[0].id] == 1


def test_partners_open_only_the_documents_shared_with_them(db, accepted, make_user, app):
    w = accepted
    s1 = w.apps[0]
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    other = make_user(Role.partner)
    add_document(s1, DocumentKind.language_certificate)
    nominations.nominate(s1, by=w.coordinator)
    db.session.commit()
    transcript = s1.document(DocumentKind.transcript)
    certificate = s1.document(DocumentKind.language_certificate)
    assert partner_may_see_document(partner_user, s1, transcript)
    assert not partner_may_see_document(partner_user, s1, certificate)
    assert not partner_may_see_document(other, s1, transcript)
    offer_services.set_shared_documents(s1, ["transcript", "language_certificate"], by=s1.student)
    assert partner_may_see_document(partner_user, s1, certificate)
    with app.test_request_context("/"):
        assert get_document_for(partner_user, s1.id, certificate.id).id == certificate.id


def test_placement_summary_for_certificates(db, accepted):
    w = accepted
    s1 = w.apps[0]
    summary = student_services.placement_summary(s1)
    assert summary["partner_name"] == w.places[0].partner.name and summary["nomination_status"] is None
    nomination = nominations.nominate(s1, by=w.coordinator, arrival=date(w.call.academic_year, 9, 10),
                                      departure=date(w.call.academic_year + 1, 1, 20))
    summary = student_services.placement_summary(s1)
    assert summary["planned_arrival"] == nomination.planned_arrival and summary["nomination_status"] == "nominated"
    assert summary["isced_code"] == "0613" and summary["academic_year"] == w.call.academic_year
    assert summary["period"] == "autumn"
    assert student_services.placement_summary(w.apps[2]) is None
    assert nominations.nominations_by_application([s1.id])[s1.id].id == nomination.id


def test_later_rounds_include_applications_found_eligible_since(db, placing):
    w = placing(scores=(90, 80, 70, 95), statuses=[S.eligible, S.eligible, S.eligible, S.under_review])
    s1, s2, s3, late = w.apps
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(), by=w.coordinator, notify=False)
    offer_services.respond_to_offer(first, False, by=s1.student, notify=False)
    app_services.transition(late, S.eligible, by=w.coordinator, notify=False)
    db.session.commit()
    again = run_services.run_matching(w.call, by=w.coordinator)
    rows = placements_of(db, again)
    assert set(rows) == {s3.id, late.id}
    assert rows[late.id].place_id == w.places[0].id and rows[s3.id].place_id is None
    offer_services.publish_run(again, deadline(), by=w.coordinator, notify=False)
    assert late.status is S.placed and s3.status is S.waitlisted


# --- Home page panels ---------------------------------------------------------------------------------

def test_partner_panel_counts_pending_and_all_but_cancelled(db, accepted, make_user):
    w = accepted
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    assert panels.partner_panel_counts(partner_user) == (0, 0)
    nomination = nominations.nominate(w.apps[0], by=w.coordinator, notify=False)
    db.session.commit()
    assert panels.partner_panel_counts(partner_user) == (1, 1)
    nominations.decide_nomination(nomination, True, by=partner_user, notify=False)
    assert panels.partner_panel_counts(partner_user) == (0, 1)
    nominations.cancel_nomination(nomination, by=w.coordinator, reason="Wrong partner")
    assert panels.partner_panel_counts(partner_user) == (0, 0)
    other = make_user(Role.partner, institution_id=w.places[1].partner.id)
    nominations.nominate(w.apps[1], by=w.coordinator, notify=False)
    assert panels.partner_panel_counts(other) == (1, 1)
    assert panels.partner_panel_counts(partner_user) == (0, 0)
    assert panels.partner_panel_counts(w.coordinator) == (0, 0)


def test_open_offers_of_a_student_soonest_first(db, placing):
    w = placing(scores=(90, 80))
    run = run_services.run_matching(w.call, by=w.coordinator)
    first, second = offer_services.publish_run(run, deadline(4), by=w.coordinator, notify=False)
    db.session.commit()
    student = w.apps[0].student
    [row] = panels.open_offers_of(student)
    place = w.places[0]
    assert (row.application_id, row.deadline, row.call_title) == (w.apps[0].id, first.deadline, w.call.title)
    assert (row.partner_name, row.partner_city, row.partner_country, row.isced_code) == (
        place.partner.name, place.partner.city, place.partner.country, place.condition.isced_code)
    assert panels.open_offers_of(w.apps[1].student)[0].application_id == w.apps[1].id
    first.deadline = utcnow() - timedelta(minutes=1)  # past its deadline, not yet expired by the command
    assert panels.open_offers_of(student) == []
    first.deadline = deadline(4)
    offer_services.respond_to_offer(first, True, by=student, notify=False)
    assert panels.open_offers_of(student) == []


def test_staff_panel_lists_newest_drafts_and_counts_students_to_nominate(db, placing, accepted):
    w = accepted
    assert panels.staff_panel_data() == ([], 2)
    nominations.nominate(w.apps[0], by=w.coordinator, notify=False)
    assert panels.staff_panel_data() == ([], 1)
    other = placing(scores=(50,))
    runs = []
    for minutes in (3, 2, 1):
        run = run_services.run_matching(other.call, by=other.coordinator)
        run.created_at = utcnow() - timedelta(minutes=minutes)
        runs.append(run)
    db.session.flush()
    drafts, to_nominate = panels.staff_panel_data(limit=2)
    assert to_nominate == 1
    assert [(d.id, d.call_title, d.round, d.placed_count, d.applications_count) for d in drafts] == [
        (r.id, other.call.title, 1, r.placed_count, 1) for r in (runs[2], runs[1])]


def test_incoming_summary_and_pages_of_plain_rows(db, app, accepted, make_user):
    w = accepted
    partner_user = make_user(Role.partner, institution_id=w.places[0].partner.id)
    first = nominations.nominate(w.apps[0], by=w.coordinator, notify=False)
    second = nominations.nominate(w.apps[1], by=w.coordinator, notify=False)
    year = first.academic_year
    second.institution_id, second.academic_year = partner_user.institution_id, year + 1
    w.apps[1].placed_institution_id = partner_user.institution_id  # as if placed there too
    nominations.decide_nomination(first, True, by=partner_user, notify=False)
    db.session.commit()
    summary = incoming.incoming_summary(partner_user)
    assert summary.years == [year + 1, year]
    assert summary.by_status() == {NominationStatus.accepted: 1, NominationStatus.nominated: 1}
    assert summary.by_status(year) == {NominationStatus.accepted: 1}
    assert incoming.incoming_summary(w.coordinator).years == []

    with app.test_request_context("/placements/incoming?page=2"):
        page = incoming.incoming_page(partner_user, None, None, total=2, per_page=1)
    assert (page.total, page.pages, page.page) == (2, 2, 2)
    [row] = page.items  # latest academic year first: the first nomination is on the second page
    student = w.apps[0].student
    assert (row.id, row.status, row.academic_year, row.full_name, row.student_name, row.email, row.period) == (
        first.id, NominationStatus.accepted, year, w.apps[0].full_name, student.name, student.email, w.call.period)
    assert (row.planned_arrival, row.planned_departure, row.nominated_at) == (
        first.planned_arrival, first.planned_departure, first.nominated_at)
    with app.test_request_context("/placements/incoming"):
        assert [r.id for r in incoming.incoming_page(partner_user, None, None, total=2, per_page=50).items] == [
            second.id, first.id]
        assert [r.id for r in incoming.incoming_page(partner_user, year + 1, None, total=1, per_page=50).items] == [
            second.id]
        assert [r.id for r in incoming.incoming_page(partner_user, None, NominationStatus.accepted, total=1,
                                                     per_page=50).items] == [first.id]
        nominations.cancel_nomination(second, by=w.coordinator, reason="Wrong partner")
        assert [r.id for r in incoming.incoming_page(partner_user, None, None, total=1, per_page=50).items] == [
            first.id]
        assert incoming.incoming_page(w.coordinator, None, None, total=0, per_page=50).items == []
    assert incoming.incoming_summary(partner_user).years == [year]


# --- The run page's lists, offers and nominations: pages of plain rows --------------------------------

def test_run_pages_list_places_and_students_in_ranking_order(db, app, placing):
    w = placing(scores=(90, None, 80, 80, 70), seats=(2, 1))
    run = run_services.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    rows = list(placements_of(db, run).values())
    ranked = sorted(rows, key=lambda p: p.rank_key())
    with app.test_request_context("/"):
        places = run_services.run_places_page(run, per_page=50)
        placed = run_services.run_placements_page(run, True, per_page=50)
        unplaced = run_services.run_placements_page(run, False, per_page=50)
        at_a = run_services.run_placements_page(run, True, per_page=50, place_id=w.places[0].id,
                                                place=run_services.run_place_of(run, w.places[0].id))
        nowhere = run_services.run_placements_page(run, True, per_page=50, place_id=-1, place=None)
    assert [r.place_id for r in places.items] == [rp.place_id for rp in run_services.run_places(run)]
    assert places.total == run.places_count == 2
    first = places.items[0]
    assert (first.partner_name, first.isced_code, first.capacity, first.filled, first.eqf_levels) == (
        "Partner A", "0613", 2, 2, w.places[0].condition.eqf_levels)
    assert [r.id for r in placed.items] == [p.id for p in ranked if p.place_id] and placed.total == 3
    assert [r.id for r in unplaced.items] == [p.id for p in ranked if not p.place_id] and unplaced.total == 2
    assert [r.score for r in unplaced.items] == [Decimal("70"), None]  # unscored last
    assert [r.partner_name for r in placed.items] == ["Partner A", "Partner A", "Partner B"]
    assert [r.full_name for r in at_a.items] == ["Student 1", "Student 3"] and at_a.total == 2
    assert nowhere.items == [] and nowhere.total == 0
    assert run_services.run_place_of(run, -1) is None
    assert unplaced.items[0].choices == placements_of(db, run)[unplaced.items[0].application_id].choices
    with app.test_request_context("/?page=2"):
        second = run_services.run_placements_page(run, True, per_page=2)
    assert [r.id for r in second.items] == [p.id for p in ranked if p.place_id][2:] and second.pages == 2


def test_offers_and_placed_pages_of_a_call(db, app, accepted):
    w = accepted
    nominations.nominate(w.apps[0], by=w.coordinator, notify=False)
    db.session.commit()
    offers = db.session.scalars(select(Offer).order_by(Offer.round.desc(), Offer.id)).all()
    with app.test_request_context("/"):
        page = queries.offers_page(w.call, None, total=len(offers), per_page=50)
        accepted_only = queries.offers_page(w.call, OfferStatus.accepted, total=2, per_page=50)
        declined_only = queries.offers_page(w.call, OfferStatus.declined, total=0, per_page=50)
        placed = queries.placed_page(w.call, per_page=50)
    assert [r.application_id for r in page.items] == [w.apps[0].id, w.apps[1].id]
    row = page.items[0]
    assert (row.status, row.round, row.deadline, row.partner_name, row.email) == (
        OfferStatus.accepted, 1, offers[0].deadline, "Partner A", w.apps[0].student.email)
    assert [r.application_id for r in accepted_only.items] == [w.apps[0].id, w.apps[1].id]
    assert declined_only.items == []  # the status filter applies (every offer here is accepted)
    assert [(r.id, r.status, r.partner_name) for r in placed.items] == [
        (w.apps[0].id, S.accepted, "Partner A"), (w.apps[1].id, S.accepted, "Partner B")]
    assert placed.total == 2 and queries.nominable_count(w.call) == 1
    assert queries.nomination_counts(w.call) == {NominationStatus.nominated: 1}
    assert queries.offer_counts(w.call) == {OfferStatus.accepted: 2}


def test_pages_expire_the_offers_of_their_call_past_the_deadline(db, placing):
    w = placing(scores=(90, 80))
    other = placing(scores=(70,))
    for world in (w, other):
        run = run_services.run_matching(world.call, by=world.coordinator)
        offer_services.publish_run(run, deadline(4), by=world.coordinator, notify=False)
    db.session.commit()
    assert offer_services.expire_due_offers_of(w.call) == 0
    offers = db.session.scalars(select(Offer).order_by(Offer.id)).all()
    for offer in offers:
        offer.deadline = utcnow() - timedelta(minutes=1)
    assert offer_services.expire_due_offers_of(w.call) == 2
    assert [o.status for o in offers] == [OfferStatus.expired, OfferStatus.expired, OfferStatus.offered]
    assert offer_services.expire_due_offers_of(w.call) == 0
    assert offer_services.expire_due_offers_of(other.call) == 1
