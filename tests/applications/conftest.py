"""Fixtures for the applications tests: agreements with outgoing places, calls, complete applications."""
import secrets
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from exchange.applications import services
from exchange.applications.models import ApplicationDocument, CallPeriod, DocumentKind
from exchange.applications.scoring import GpaScale
from exchange.applications.workflow import Actor
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core import uploads
from exchange.core.types import utcnow
from exchange.partners.models import (Agreement, AgreementStatus, CooperationCondition, Direction,
                                      LanguageRequirement, MobilityType, current_academic_year)
from tests.fixtures.files import PDF

@pytest.fixture
def year():
    return current_academic_year() + 1


@pytest.fixture
def make_condition(db, make_institution, year):
    """make_condition(isced="0613", levels="6,7", languages=[("en", "B2")], partner=None, **kw): an outgoing
    study condition of an active agreement covering `year`."""
    def _make(isced="0613", levels="6,7", languages=(("en", "B2"),), partner=None, places=2,
              direction=Direction.outgoing, status=AgreementStatus.active, first=None, last=None,
              mobility_type=MobilityType.study):
        partner = partner or make_institution()
        agreement = Agreement(partner_id=partner.id, first_year=first if first is not None else year - 1,
                              last_year=last if last is not None else year + 1, status=status)
        db.session.add(agreement)
        condition = CooperationCondition(direction=direction, mobility_type=mobility_type, isced_code=isced,
                                         eqf_levels=levels, places_per_year=places, months_per_place=5)
        condition.languages = [LanguageRequirement(language=lang, cefr_level=level) for lang, level in languages]
        agreement.conditions.append(condition)
        db.session.flush()
        return condition
    return _make


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.coordinator, name="Carmen Ortega")


@pytest.fixture
def make_call(db, make_condition, coordinator, year):
    """make_call(conditions=None, open=True, **fields): a call with GPA/language/motivation criteria and places."""
    def _make(conditions=None, phase="open", seats=2, **kw):
        now = utcnow().replace(microsecond=0)
        if phase == "open":
            opens_at, closes_at = now - timedelta(days=5), now + timedelta(days=5)
        elif phase == "upcoming":
            opens_at, closes_at = now + timedelta(days=2), now + timedelta(days=9)
        else:
            opens_at, closes_at = now - timedelta(days=9), now - timedelta(days=2)
        fields = dict(title="Semester exchange — outgoing", academic_year=year, period=CallPeriod.autumn,
                      mobility_type=MobilityType.study, description=None, opens_at=opens_at, closes_at=closes_at,
                      max_choices=3, min_gpa=Decimal("5.00"), eqf_levels=[6, 7],
                      required_documents=[DocumentKind.transcript, DocumentKind.cv],
                      criteria=[services.CriterionData("GPA", 50, True), services.CriterionData("Language", 20),
                                services.CriterionData("Motivation", 30)])
        fields.update(kw)
        call = services.save_call(None, by=coordinator, **fields)
        if conditions is None:
            conditions = [make_condition("0613"), make_condition("0613", languages=[("de", "B2")]),
                          make_condition("0413")]
        services.set_call_places(call, {c.id: seats for c in conditions}, by=coordinator)
        db.session.flush()
        return call
    return _make


MOTIVATION = ("I would like to study abroad to learn about software engineering in another academic tradition "
              "and to improve my English every day.")


def add_document(application, kind=DocumentKind.transcript, data=PDF, mimetype="application/pdf"):
    stored_name = secrets.token_hex(16) + ".pdf"
    with open(uploads.path_of(stored_name), "wb") as fh:
        fh.write(data)
    document = ApplicationDocument(kind=kind, stored_name=stored_name, original_name=f"{kind.value}.pdf",
                                   mimetype=mimetype, size=len(data), uploaded_by_id=application.student_id)
    application.documents.append(document)
    return document


@pytest.fixture
def make_application(db, make_user, make_call):
    """make_application(student=None, call=None, complete=True, status=S.draft, by=coordinator):
    a draft filled in through the services (eligible for the call's first place), moved to `status`."""
    def _make(student=None, call=None, complete=True, status=S.draft, staff=None, choices=None, **fields):
        student = student or make_user(Role.student)
        call = call or make_call()
        application = services.start_application(call, student)
        if complete:
            data = dict(full_name=student.name, date_of_birth=date(2004, 5, 17), nationality="ES",
                        student_number=f"S{application.id:06d}", study_programme="Software Engineering",
                        isced_code="0613", eqf_level=6, year_of_study=3, gpa=Decimal("8.00"),
                        gpa_scale=GpaScale.scale_10, motivation=MOTIVATION)
            data.update(fields)
            services.update_application(application, **data)
            services.set_languages(application, [("en", "C1", "TOEFL 100"), ("es", "C2", None)])
            places = services.load_places(call)
            first = next((p for p in places if not services.eligibility_reasons(application, p)), places[0])
            services.set_choices(application, choices or [first.id])
            for kind in call.required_document_list:
                add_document(application, kind)
            db.session.flush()
        if status is not S.draft:
            walk(application, status, staff=staff or make_user(Role.coordinator))
        db.session.flush()
        return application
    return _make


#: How to reach each status from a draft (the shortest path through the workflow).
PATHS = {
    S.draft: [],
    S.submitted: [S.submitted],
    S.under_review: [S.submitted, S.under_review],
    S.changes_requested: [S.submitted, S.under_review, S.changes_requested],
    S.eligible: [S.submitted, S.under_review, S.eligible],
    S.ineligible: [S.submitted, S.under_review, S.ineligible],
    S.placed: [S.submitted, S.under_review, S.eligible, S.placed],
    S.waitlisted: [S.submitted, S.under_review, S.eligible, S.waitlisted],
    S.not_placed: [S.submitted, S.under_review, S.eligible, S.not_placed],
    S.accepted: [S.submitted, S.under_review, S.eligible, S.placed, S.accepted],
    S.declined: [S.submitted, S.under_review, S.eligible, S.placed, S.declined],
    S.withdrawn: [S.withdrawn],
}


def walk(application, status, staff):
    """Move an application along PATHS[status] with the right actor for each step (no email)."""
    from exchange.applications.workflow import TRANSITIONS
    for step in PATHS[status]:
        actors = TRANSITIONS[application.status][step]
        if step is S.submitted:
            application.submitted_at = utcnow()
        if Actor.student in actors:
            services.transition(application, step, by=application.student, notify=False)
        elif Actor.staff in actors:
            services.transition(application, step, by=staff, notify=False)
        else:
            if step is S.placed:
                services.set_placement(application, application.choices[0].place)
            services.transition(application, step, by=staff, actor=Actor.system, notify=False)


@pytest.fixture
def world(db, make_user, make_call, make_application, coordinator):
    """A call, two students with one application each, staff, and a partner user."""
    call = make_call()
    alice = make_user(Role.student, name="Alice Student", locale="es")
    bob = make_user(Role.student, name="Bob Student")
    alice_app = make_application(student=alice, call=call)
    bob_app = make_application(student=bob, call=call)
    partner = make_user(Role.partner)
    db.session.commit()
    return SimpleNamespace(call=call, alice=alice, bob=bob, alice_app=alice_app, bob_app=bob_app,
                           coordinator=coordinator, partner=partner)
