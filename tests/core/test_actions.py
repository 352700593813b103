"""core.actions.attempt: roll back and show the refusal, or commit and then say so."""
import pytest
from flask import get_flashed_messages, message_flashed
from sqlalchemy import event, func, select
from wtforms import StringField

from exchange.core import mail
from exchange.core.actions import Outcome, attempt
from exchange.core.errors import WorkflowError
from exchange.core.forms import AppForm
from exchange.partners.models import PartnerInstitution


class NameForm(AppForm):
    class Meta:
        csrf = False

    name = StringField("Name")
    city = StringField("City")


@pytest.fixture
def count(db):
    return lambda: db.session.scalar(select(func.count()).select_from(PartnerInstitution))


@pytest.fixture
def request_ctx(app, db):
    with app.test_request_context(method="POST"):
        yield


def test_a_refusal_rolls_back_what_the_action_changed(db, request_ctx, make_institution, count):
    institution = make_institution(name="Before")
    db.session.commit()

    def action():
        institution.name = "Changed"
        db.session.add(PartnerInstitution(name="New", country="IT", schac_code="new.example"))
        db.session.flush()
        raise WorkflowError("Not allowed.", status=409)

    outcome = attempt(action, success="Done.")
    assert not outcome and not outcome.ok
    assert outcome.status == 409 and outcome.message == "Not allowed."
    assert institution.name == "Before" and count() == 1
    assert get_flashed_messages(with_categories=True) == [("error", "Not allowed.")]  # no success message


def test_success_commits_and_returns_the_result(db, request_ctx, count):
    def action():
        institution = PartnerInstitution(name="Kept", country="IT", schac_code="kept.example")
        db.session.add(institution)
        return institution

    outcome = attempt(action, success=lambda institution: f"{institution.name} added.", category="info")
    assert outcome and outcome.status == 200 and outcome.error is None and outcome.message is None
    assert outcome.value.name == "Kept"
    db.session.rollback()
    assert count() == 1  # committed: a rollback no longer undoes it
    assert get_flashed_messages(with_categories=True) == [("info", "Kept added.")]


def test_the_success_message_is_flashed_after_the_commit(app, db, request_ctx):
    steps = []

    def on_commit(session):
        steps.append("commit")

    def on_flash(sender, message, category):
        steps.append(f"flash {message}")

    event.listen(db.session, "after_commit", on_commit)
    try:
        with message_flashed.connected_to(on_flash, app):
            attempt(lambda: db.session.add(PartnerInstitution(name="A", country="IT", schac_code="a.example")),
                    success="Saved.")
    finally:
        event.remove(db.session, "after_commit", on_commit)
    assert steps == ["commit", "flash Saved."]


def test_no_message_when_success_gives_none(db, request_ctx):
    assert attempt(lambda: 3, success=lambda n: None).value == 3
    assert attempt(lambda: 4).value == 4
    assert get_flashed_messages() == []


def test_mail_goes_out_only_with_committed_work(db, request_ctx, outbox):
    def action(subject, refuse):
        def run():
            db.session.add(PartnerInstitution(name=subject, country="IT", schac_code=f"{subject}.example"))
            db.session.flush()
            mail.send(mail.Message(to=["ana@example.org"], subject=subject, text="…"))
            if refuse:
                raise WorkflowError("No.")
        return run

    attempt(action("Refused", refuse=True))
    attempt(action("Done", refuse=False))
    assert [m["Subject"] for m in outbox.messages()] == ["Done"]


@pytest.mark.parametrize(("exc_field", "default", "placed_on", "flashed"), [
    ("city", "name", "city", []),           # the error's own field
    (None, "name", "name", []),            # the view's default field
    ("nothing", None, None, ["Refused."]),  # no such field: flashed
])
def test_the_refusal_goes_beside_its_field(db, request_ctx, exc_field, default, placed_on, flashed):
    form = NameForm()
    outcome = attempt(lambda: (_ for _ in ()).throw(WorkflowError("Refused.", field=exc_field)), form=form,
                      field=default)
    assert outcome.status == 422
    assert {name: form[name].errors for name in ("name", "city") if form[name].errors} == \
        ({placed_on: ["Refused."]} if placed_on else {})
    assert get_flashed_messages() == flashed


def test_on_error_none_leaves_the_message_to_the_page(db, request_ctx):
    def refuse():
        raise WorkflowError("Shown by the page.", status=409)

    outcome = attempt(refuse, on_error="none")
    form = NameForm()
    beside = attempt(refuse, form=form, on_error="none")
    assert outcome.message == "Shown by the page." and outcome.status == 409
    assert get_flashed_messages() == []
    assert beside.status == 409 and not form.name.errors  # no field: nothing flashed either


def test_other_errors_roll_back_and_are_raised(db, request_ctx, count):
    def action():
        db.session.add(PartnerInstitution(name="Lost", country="IT", schac_code="lost.example"))
        db.session.flush()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        attempt(action, success="Never.")
    assert count() == 0 and get_flashed_messages() == []


def test_commit_option_runs_the_action_its_own_way(db, request_ctx):
    calls = []

    def commit_twice(action):
        calls.append("runner")
        action()
        db.session.commit()
        return "from runner"

    assert attempt(lambda: None, commit=commit_twice).value == "from runner"
    assert calls == ["runner"]
    assert isinstance(Outcome(), Outcome) and Outcome().status == 200


def test_events_retry_fits_the_commit_option(db, request_ctx, monkeypatch):
    """events.services.commit_with_retry runs the action again after SQLite's "database is locked"."""
    from sqlalchemy.exc import OperationalError

    from exchange.events import services
    monkeypatch.setattr(services.time, "sleep", lambda s: None)
    tries = []

    def action():
        tries.append(1)
        if len(tries) < 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return "registered"

    assert attempt(action, commit=services.commit_with_retry, success="Registered.").value == "registered"
    assert len(tries) == 3 and get_flashed_messages() == ["Registered."]


def test_a_view_still_answers_a_race_the_helper_raises(client, db, login, make_empty_call, monkeypatch):
    """attempt rolls back a broken constraint and raises it: applying twice at the same moment is a 409 page."""
    from datetime import timedelta

    from sqlalchemy.exc import IntegrityError

    from exchange.applications import services
    from exchange.applications.models import Application
    from exchange.auth.models import Role
    from exchange.core.types import utcnow
    login(Role.student)
    call = make_empty_call(opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=20))
    db.session.commit()

    def racing(call, student):
        db.session.add(PartnerInstitution(name="Lost", country="IT", schac_code="lost.example"))
        db.session.flush()
        raise IntegrityError("INSERT INTO applications", {}, Exception("duplicate key"))

    monkeypatch.setattr(services, "start_application", racing)
    response = client.post(f"/applications/calls/{call.id}/apply")
    assert response.status_code == 409
    assert "You already have an application for this call" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PartnerInstitution)) == 0
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0
