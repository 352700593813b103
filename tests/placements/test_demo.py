"""The demo: a call ready to be matched, and a finished call whose nominations the demo partner sees."""
from sqlalchemy import func, select

from exchange.applications import demo as applications_demo
from exchange.applications.models import Application
from exchange.applications.workflow import ApplicationStatus as S
from exchange.partners import demo as partners_demo
from exchange.partners import factsheets
from exchange.partners.models import PartnerFactsheet
from exchange.placements import demo, runs
from exchange.placements import incoming as incoming_services
from exchange.placements.models import MatchingRun, Nomination, NominationStatus, Offer, OfferStatus

MODELS = (MatchingRun, Offer, Nomination, PartnerFactsheet)


def seed(db):
    context = {}
    partners_demo.seed(context)
    db.session.flush()
    applications_demo.seed(context)
    db.session.flush()
    demo.seed(context)
    db.session.commit()
    return context


def test_demo_is_idempotent_and_tells_the_whole_story(db):
    context = seed(db)
    counts = [db.session.scalar(select(func.count(m.id))) for m in MODELS]
    seed(db)
    assert [db.session.scalar(select(func.count(m.id))) for m in MODELS] == counts

    # A person trying the app can run a match on the closed demo call.
    closed = context["closed_call"]
    scored = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == closed.id, Application.status == S.eligible, Application.score.is_not(None)))
    assert scored >= demo.MIN_MATCHABLE
    run = runs.run_matching(closed, by=context["users"]["coordinator"])
    assert run.placed_count > 0

    # The finished call: published, answered, nominated; the demo partner has nominees on its dashboard.
    call = context["placement_call"]
    assert [r.round for r in context["matching_runs"]] == [1]
    partner = context["users"]["partner"]
    incoming = db.session.scalars(incoming_services.incoming_query(partner)).all()
    assert len(incoming) >= 2
    assert {n.status for n in incoming} == {NominationStatus.nominated, NominationStatus.accepted}
    assert factsheets.factsheet_of(partner.institution_id) is not None
    student = context["users"]["student"]
    mine = db.session.scalar(select(Offer).join(Offer.application).where(Application.student_id == student.id))
    assert mine.status is OfferStatus.offered and mine.application.call_id == call.id
    statuses = {a.status for a in db.session.scalars(select(Application).where(Application.call_id == call.id))}
    assert {S.accepted, S.declined, S.waitlisted, S.placed} <= statuses
    assert runs.next_round(call) == 2 and any(runs.free_seats(call).values())
