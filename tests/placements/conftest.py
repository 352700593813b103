"""Fixtures for the placements tests: a closed call with eligible, scored applications ready to be placed.

The applications fixtures (make_condition, make_call, make_application, …) are reused from
tests/applications/conftest.py.
"""
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from exchange.applications import services as app_services
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.types import utcnow
from tests.applications.conftest import (add_document, coordinator, make_application, make_call,  # noqa: F401
                                         make_condition, year)


def close_call(call):
    now = utcnow().replace(microsecond=0)
    call.opens_at = now - timedelta(days=30)
    call.closes_at = now - timedelta(hours=2)


@pytest.fixture
def placing(db, make_user, make_institution, make_condition, make_call, make_application, coordinator):
    """placing(scores=(90, 80, 70, 60), seats=(1, 1), choices=None): a closed call whose places A, B, … (ISCED
    0613, English B2) have these seats, and one eligible application per score choosing A, B, … in order
    (or `choices[i]`: indexes into the places). Submissions are one minute apart, in order."""
    def _make(scores=(90, 80, 70, 60), seats=(1, 1), choices=None, statuses=None):
        partners = [make_institution(name=f"Partner {chr(65 + i)}") for i in range(len(seats))]
        conditions = [make_condition("0613", partner=p) for p in partners]
        call = make_call(conditions=conditions, seats=1)
        places = sorted(call.places, key=lambda p: p.id)
        for place, n in zip(places, seats):
            place.seats = n
        base = utcnow().replace(microsecond=0) - timedelta(days=3)
        apps = []
        for i, score in enumerate(scores):
            picked = [places[j].id for j in (choices[i] if choices else range(len(places)))]
            student = make_user(Role.student, name=f"Student {i + 1}")
            status = statuses[i] if statuses else S.eligible
            application = make_application(student=student, call=call, choices=picked, status=status,
                                           staff=coordinator, full_name=f"Student {i + 1}")
            application.score = Decimal(str(score)) if score is not None else None
            application.submitted_at = base + timedelta(minutes=i)
            apps.append(application)
        close_call(call)
        db.session.commit()
        return SimpleNamespace(call=call, places=places, apps=apps, coordinator=coordinator)
    return _make


@pytest.fixture
def count_queries(db):
    """with count_queries() as counter: …; counter.n is the number of SQL statements run."""
    from contextlib import contextmanager

    @contextmanager
    def _count():
        counter = SimpleNamespace(n=0)

        def before(*_args, **_kw):
            counter.n += 1
        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)
    return _count


def deadline(days=5):
    return utcnow().replace(microsecond=0) + timedelta(days=days)


__all__ = ["app_services", "close_call", "deadline", "add_document"]
