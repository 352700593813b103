"""Fixtures of the cultural programme tests."""
from datetime import timedelta

import pytest

from exchange.core.types import utcnow
from exchange.events.models import Audience, Event, EventCategory, EventQuestion, EventStatus, QuestionKind


@pytest.fixture
def make_event(db, make_user):
    """make_event(**kw): a published event starting in a week, two hours long, 10 places, open to everyone."""
    def _make(**kw):
        starts_at = kw.pop("starts_at", utcnow().replace(microsecond=0) + timedelta(days=7))
        kw.setdefault("title", "Tapas and tandem night")
        kw.setdefault("description", "Bring a friend.")
        kw.setdefault("category", EventCategory.cultural_evening)
        kw.setdefault("ends_at", starts_at + timedelta(hours=2))
        kw.setdefault("venue", "Student café")
        kw.setdefault("capacity", 10)
        kw.setdefault("audience", Audience.everyone)
        kw.setdefault("status", EventStatus.published)
        questions = kw.pop("questions", [])
        event = Event(starts_at=starts_at, sequence=0, **kw)
        for position, (label, kind, options, required) in enumerate(questions, start=1):
            event.questions.append(EventQuestion(label=label, kind=QuestionKind(kind), options=options,
                                                 is_required=required, position=position))
        db.session.add(event)
        db.session.flush()
        return event
    return _make


@pytest.fixture
def students(make_user):
    """students(n): n new student accounts."""
    from exchange.auth.models import Role

    def _make(n):
        return [make_user(Role.student, password=None) for _ in range(n)]
    return _make


@pytest.fixture(autouse=True)
def fresh_babel():
    """The suite keeps one application context, so Flask-Babel's per-context cache of the locale and time zone
    would carry over from one test (and one request) to the next: start each test without it."""
    from flask import g, has_app_context
    if has_app_context():
        g.pop("_flask_babel", None)
    yield
    if has_app_context():
        g.pop("_flask_babel", None)


@pytest.fixture
def apply_to(db):
    """apply_to(call, student, status): the student's application in the call, in that status."""
    from exchange.applications.models import Application
    from exchange.applications.workflow import ApplicationStatus

    def _make(call, student, status="placed"):
        application = Application(call_id=call.id, student_id=student.id, status=ApplicationStatus(status))
        db.session.add(application)
        db.session.flush()
        return application
    return _make
