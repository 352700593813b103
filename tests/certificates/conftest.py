"""Fixtures of the certificate tests: a home institution, attended events, placed applications."""
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from exchange.applications.models import Application, CallPlace
from exchange.applications.workflow import ApplicationStatus
from exchange.auth.models import Role
from exchange.core.types import utcnow
from exchange.events.models import Event, EventCategory, EventStatus, Registration, RegistrationStatus
from exchange.partners.models import (Agreement, AgreementStatus, CooperationCondition, Direction,
                                      HomeInstitution, MobilityType)


@pytest.fixture(autouse=True)
def fresh_babel():
    """Requests of one test share its app context: drop Flask-Babel's cached locale around each test."""
    from flask import g, has_app_context
    if has_app_context():
        g.pop("_flask_babel", None)
    yield
    if has_app_context():
        g.pop("_flask_babel", None)


@pytest.fixture(autouse=True)
def verify_rate_limit(app, monkeypatch):
    """The public verification page is rate-limited per address; tests verify more often than that."""
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "10000 per minute")


@pytest.fixture
def home(db):
    home = HomeInstitution(name="Universidad de Valdemora", country="ES", city="Valdemora",
                           office_email="international@uvaldemora.example", website="https://www.uvaldemora.example",
                           signatory_name="Dr. Elena Ruiz", signatory_title="Vice-Rector for International Relations")
    db.session.add(home)
    db.session.flush()
    return home


@pytest.fixture
def make_event(db):
    """make_event(**kw): a published event that took place on 12 March 2026, 18:00–21:00 in Madrid."""
    def _make(**kw):
        kw.setdefault("title", "International Food Fair")
        kw.setdefault("description", "")
        kw.setdefault("category", EventCategory.cultural_evening)
        kw.setdefault("starts_at", utcnow().replace(year=2026, month=3, day=12, hour=17, minute=0, second=0,
                                                    microsecond=0))
        kw.setdefault("ends_at", kw["starts_at"] + timedelta(hours=3))
        kw.setdefault("venue", "Aula Magna")
        kw.setdefault("status", EventStatus.published)
        event = Event(sequence=0, **kw)
        db.session.add(event)
        db.session.flush()
        return event
    return _make


@pytest.fixture
def attend(db, make_user):
    """attend(event, user=None, checked_in=True, **user_kw) → the Registration."""
    def _attend(event, user=None, checked_in=True, status=RegistrationStatus.confirmed, **user_kw):
        user = user or make_user(Role.student, password=None, **user_kw)
        registration = Registration(event_id=event.id, user_id=user.id, status=status,
                                    confirmed_at=utcnow() if status is RegistrationStatus.confirmed else None,
                                    checked_in_at=event.starts_at + timedelta(minutes=5) if checked_in else None)
        db.session.add(registration)
        db.session.flush()
        return registration
    return _attend


@pytest.fixture
def make_place(db, make_institution):
    def _make(call, partner=None, isced="0311"):
        partner = partner or make_institution(name="Università di Bologna", city="Bologna", country="IT",
                                              erasmus_code="I  BOLOGNA01")
        agreement = Agreement(partner_id=partner.id, first_year=2024, last_year=2030, status=AgreementStatus.active)
        db.session.add(agreement)
        condition = CooperationCondition(direction=Direction.outgoing, mobility_type=MobilityType.study,
                                         isced_code=isced, eqf_levels="6,7", places_per_year=2, months_per_place=5)
        agreement.conditions.append(condition)
        db.session.flush()
        place = CallPlace(call_id=call.id, condition_id=condition.id, seats=2)
        db.session.add(place)
        db.session.flush()
        return place
    return _make


@pytest.fixture
def placed(db, make_user, make_call, make_place):
    """placed(student=None, call=None, place=None, status=accepted, nominated=True, **fields) → Application."""
    def _make(student=None, call=None, place=None, status=ApplicationStatus.accepted, nominated=True, **fields):
        student = student or make_user(Role.student, password=None)
        call = call or make_call()
        place = place or make_place(call)
        fields.setdefault("full_name", student.name)
        fields.setdefault("student_number", "S0042")
        fields.setdefault("eqf_level", 6)
        application = Application(call_id=call.id, student_id=student.id, status=status,
                                  placed_place_id=place.id, placed_institution_id=place.condition.agreement.partner_id,
                                  nominated_at=utcnow() if nominated else None, **fields)
        db.session.add(application)
        db.session.flush()
        return application
    return _make


@pytest.fixture
def completed(db, placed):
    """completed(**placed_kw) → an accepted application with a completion record (30 ECTS)."""
    from exchange.certificates.models import CompletionRecord

    def _make(credits=Decimal("30.0"), **kw):
        application = placed(**kw)
        db.session.add(CompletionRecord(application_id=application.id, started_on=date(2026, 9, 14),
                                        ended_on=date(2027, 1, 29), ects_credits=credits))
        db.session.flush()
        return application
    return _make


@pytest.fixture
def renders(monkeypatch):
    """Counts WeasyPrint layouts (each render_document call), wherever they come from."""
    from exchange.certificates import pdf
    counter = SimpleNamespace(count=0, fetchers=[])
    original = pdf.render_document

    def counting(html, assets, fetcher=None):
        counter.count += 1
        fetcher = fetcher or pdf.AssetFetcher(assets)
        counter.fetchers.append(fetcher)
        return original(html, assets, fetcher)
    monkeypatch.setattr(pdf, "render_document", counting)
    return counter
