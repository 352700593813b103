"""Demo placements (idempotent: running it twice changes nothing).

Runs after the applications seeder. It leaves the applications seeder's closed call ("… (early round)")
untouched, with its eligible, scored applications, so that a person trying the app can start a matching
run on it and publish it. It adds a finished earlier call, for the current academic year's spring
semester, with its story told to the end:

* round 1 published a week ago: the demo student (student@demo.test) has an offer waiting for an answer,
  one student declined (so a second round can be run from the call page), the others accepted, shared
  some documents and were nominated to their partners;
* Università di Bologna (the demo partner user partner@demo.test) accepted one nominee and has the others
  pending on its dashboard; Bologna's factsheet is filled in.

Adds to the context:
  context["placement_call"]   the finished call
  context["matching_runs"]    its published runs
  context["nominations"]      its nominations
"""
import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ..applications import demo as applications_demo
from ..applications import services as app_services
from ..applications.models import Application, Call, CallPeriod, DocumentKind
from ..applications.workflow import ApplicationStatus as S
from ..auth.demo import demo_user
from ..auth.models import Role
from ..core.types import utcnow
from ..extensions import db
from ..partners import factsheets
from ..partners.models import PartnerInstitution, current_academic_year
from . import nominations, runs
from . import offers as offer_services
from .models import MatchingRun, Nomination, RunStatus

#: The statuses of the finished call's applicants before matching (all reviewed).
FINISHED_STATUSES = [S.eligible] * 15 + [S.ineligible]
MIN_MATCHABLE = 8
#: The finished call offers places at a few partners only, so that students compete for them.
FINISHED_PARTNERS = ("unibo.it", "sorbonne-universite.fr", "lmu.de", "uu.nl")


def _ensure_matchable(call: Call | None, coordinator, reviewers) -> None:
    """Make sure the call has enough eligible, scored applications to try a run on (moves reviewed ones on)."""
    if call is None:
        return
    scored = db.session.scalar(select(func.count(Application.id)).where(
        Application.call_id == call.id, Application.status == S.eligible, Application.score.is_not(None))) or 0
    if scored >= MIN_MATCHABLE:
        return
    rng = random.Random(call.id)
    candidates = db.session.scalars(select(Application).where(
        Application.call_id == call.id, Application.status.in_([S.submitted, S.under_review, S.eligible]))
        .order_by(Application.id)).all()
    for application in candidates:
        if scored >= MIN_MATCHABLE:
            break
        if application.status is S.submitted:
            app_services.transition(application, S.under_review, by=coordinator, notify=False)
        if application.score is None:
            for reviewer in reviewers:
                applications_demo._score(application, reviewer, rng)
        if application.status is not S.eligible:
            app_services.transition(application, S.eligible, by=coordinator, notify=False)
        scored += 1
    db.session.flush()


def _factsheet(partner: PartnerInstitution, by) -> None:
    if factsheets.factsheet_of(partner.id) is not None:
        return
    year = current_academic_year()
    factsheets.save_factsheet(partner, {
        "nomination_deadline_autumn": date(year + 1, 5, 15),
        "nomination_deadline_spring": date(year + 1, 10, 15),
        "application_deadline_autumn": date(year + 1, 6, 15),
        "application_deadline_spring": date(year + 1, 11, 15),
        "language_requirements": "Courses are taught in Italian (B1 recommended) and in English (B2 required for "
                                 "English-taught degree programmes). Certificates are not required for Erasmus "
                                 "students: a declaration of the home university is enough.",
        "other_requirements": "Learning agreement signed by the home coordinator before arrival.",
        "contact_email": "incoming@unibo.example",
        "housing_info": "ER.GO, the regional agency for the right to higher education, offers a limited number of "
                        "rooms to exchange students. Apply as soon as you are accepted.",
        "housing_email": "housing@unibo.example",
        "housing_url": "https://www.er-go.it",
        "visa_info": "Students from outside the EU need a study visa (type D) and must apply for a residence "
                     "permit within 8 days of arrival.",
        "visa_email": "visa@unibo.example",
        "insurance_info": "EU students: European Health Insurance Card. Others: private health insurance covering "
                          "the whole stay.",
        "insurance_email": "insurance@unibo.example",
        "course_catalogue_url": "https://www.unibo.it/en/study/course-units",
    }, by=by)


def _finished_call(context: dict, coordinator, reviewers):
    """The spring call of the current academic year, matched, published, answered and nominated."""
    year = current_academic_year()
    label = f"{year}/{(year + 1) % 100:02d}"
    title = f"Spring semester {label} — outgoing"
    existing = db.session.scalar(select(Call).where(Call.title == title))
    if existing is not None:
        return existing
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    conditions = applications_demo._outgoing_conditions(context, year)
    few = [c for c in conditions if c.agreement.partner.schac_code in FINISHED_PARTNERS]
    conditions = few or conditions
    opens_at = (now - timedelta(days=75)).replace(hour=8)
    call, _created = applications_demo._call(
        title, year, CallPeriod.spring, opens_at, now + timedelta(days=1), conditions, coordinator,
        "Spend the spring semester at a partner university. The places have been allocated and the students "
        "who accepted have been nominated to the partners.")
    # Scarce seats, so that the waiting list and the second round have something to do.
    places = app_services.load_places(call)
    app_services.set_call_places(call, {p.condition_id: (2 if p.partner.schac_code == "unibo.it" else 1)
                                        for p in places}, by=coordinator)
    rng = random.Random(2026)
    names = [f"{applications_demo.FIRST_NAMES[n - 1]} {applications_demo.LAST_NAMES[n - 1]}"
             for n in range(2, 2 * len(FINISHED_STATUSES) + 1, 2)]
    students = [demo_user(f"applicant{n:02d}@demo.test", name, Role.student)
                for n, name in zip(range(2, 2 * len(FINISHED_STATUSES) + 1, 2), names)]
    me = context["users"]["student"]
    applicants = [(me, me.name)] + [(s, s.name) for s in students[:len(FINISHED_STATUSES) - 1]]
    applications_demo._seed_call(call, FINISHED_STATUSES, applicants, coordinator, reviewers, rng,
                                 opens_at + timedelta(hours=3))
    call.closes_at = (now - timedelta(days=20)).replace(hour=12)
    # The reviewers thought highly of the demo student: they get their first choice.
    mine = app_services.find_application(call, me)
    for reviewer in reviewers:
        app_services.save_scores(mine, reviewer, {c.id: Decimal("9.5") for c in call.criteria})
    db.session.flush()

    # Round 1: run, publish a week ago; most students have answered, the demo student has not yet.
    run = runs.run_matching(call, by=coordinator)
    offers = offer_services.publish_run(run, now + timedelta(days=8), by=coordinator, notify=False)
    others = [o for o in sorted(offers, key=lambda o: o.application_id) if o.application_id != mine.id]
    for index, offer in enumerate(others):
        student = offer.application.student
        if index == 1:
            offer_services.respond_to_offer(offer, accept=False, by=student, notify=False)
        else:
            shared = [k for k in (DocumentKind.transcript, DocumentKind.language_certificate, DocumentKind.cv)
                      if offer.application.document(k) is not None][: 1 + index % 3]
            offer_services.respond_to_offer(offer, accept=True, by=student, shared=shared, notify=False)
    run.created_at, run.published_at = now - timedelta(days=7), now - timedelta(days=6)
    for index, offer in enumerate(offers):
        offer.created_at = run.published_at
        if offer.responded_at is not None:
            offer.responded_at = run.published_at + timedelta(hours=20 + 9 * index)
    db.session.flush()

    # Nominations of everybody who accepted; Bologna accepts its first nominee.
    result = nominations.nominate_many(call, by=coordinator, notify=False)
    partner_user = context["users"].get("partner")
    unibo = [n for n in result.done if partner_user is not None and n.institution_id == partner_user.institution_id]
    if unibo:
        nominations.decide_nomination(unibo[0], accept=True, by=partner_user, notify=False)
    return call


def seed(context: dict) -> None:
    users = context["users"]
    coordinator = users["coordinator"]
    reviewers = context.get("reviewers") or [coordinator]
    _ensure_matchable(context.get("closed_call"), coordinator, reviewers)
    call = _finished_call(context, coordinator, reviewers)

    partner_user = users.get("partner")
    if partner_user is not None and partner_user.institution_id:
        institution = db.session.get(PartnerInstitution, partner_user.institution_id)
        _factsheet(institution, partner_user)
    db.session.flush()

    context["placement_call"] = call
    context["matching_runs"] = list(db.session.scalars(
        select(MatchingRun).where(MatchingRun.call_id == call.id, MatchingRun.status == RunStatus.published)
        .order_by(MatchingRun.round)))
    context["nominations"] = list(db.session.scalars(
        select(Nomination).join(Nomination.application).where(Application.call_id == call.id)
        .order_by(Nomination.id)))
