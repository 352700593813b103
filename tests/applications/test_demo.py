"""The demo data: a living pipeline, idempotent, with or without the partners' demo."""
from collections import Counter

from sqlalchemy import func, select

from exchange.applications import demo
from exchange.applications.models import Application, ApplicationDocument, Call, StatusChange
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role, User
from exchange.extensions import db as _db


def counts():
    return tuple(_db.session.scalar(select(func.count()).select_from(model))
                 for model in (Call, Application, ApplicationDocument, StatusChange, User))


def test_demo_seeds_a_living_pipeline_and_is_idempotent(db):
    from exchange.partners import demo as partners_demo
    context = {}
    partners_demo.seed(context)
    demo.seed(context)
    db.session.commit()
    first = counts()
    open_call = context["call"]
    assert open_call.is_open() and not context["closed_call"].is_open()
    statuses = Counter(a.status for a in open_call_applications(open_call))
    assert sum(statuses.values()) >= 30
    assert {S.draft, S.submitted, S.under_review, S.changes_requested, S.eligible, S.ineligible,
            S.withdrawn} <= set(statuses)
    mine = next(a for a in context["applications"] if a.student.email == "student@demo.test")
    assert mine.status in (S.draft, S.submitted) and mine.call is open_call
    assert all(a.score is not None for a in context["applications"] if a.status is S.eligible)
    # Sent-in applications meet their choices' conditions, as the submit check would require.
    from exchange.applications import services
    for application in context["applications"]:
        if application.status in (S.submitted, S.under_review, S.eligible):
            assert all(not reasons for _choice, reasons in services.choice_checks(application)), application
    # Again: nothing changes.
    context2 = {}
    partners_demo.seed(context2)
    demo.seed(context2)
    db.session.commit()
    assert counts() == first


def open_call_applications(call):
    return _db.session.scalars(select(Application).where(Application.call_id == call.id)).all()


def test_demo_without_the_partners_demo_creates_minimal_agreements(db, make_user):
    context = {"users": {"student": make_user(Role.student, email="student@demo.test"),
                         "coordinator": make_user(Role.coordinator)}}
    demo.seed(context)
    db.session.commit()
    assert len(context["call"].places) >= 2
    assert len(open_call_applications(context["call"])) >= 30


def test_the_demo_password_is_hashed_once_for_every_demo_account(db, monkeypatch):
    """`make run` seeds ~60 accounts: one hash for all of them (scrypt costs ~0.2 s each), and each logs in."""
    import werkzeug.security

    from exchange.auth import demo as root_demo
    from exchange.partners import demo as partners_demo
    hashes = []
    real = werkzeug.security.generate_password_hash
    monkeypatch.setattr(root_demo, "generate_password_hash", lambda *a, **kw: hashes.append(1) or real(*a, **kw))
    root_demo.demo_password_hash.cache_clear()
    context = {}
    partners_demo.seed(context)
    demo.seed(context)
    db.session.commit()
    accounts = db.session.scalars(select(User).where(User.email.like("%@demo.test"))).all()
    assert len(accounts) > 20 and len(hashes) == 1
    assert all(user.check_password(root_demo.DEMO_PASSWORD) for user in accounts[:3])
