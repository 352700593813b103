"""`flask seed-scale`: bulk-generated, reproducible, consistent with the models' rules."""
import os
from collections import Counter

import pytest
from sqlalchemy import func, select

from exchange.applications.models import (Application, ApplicationChoice, ApplicationDocument, Call, CallPlace,
                                          LanguageSkill, Review)
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role, User
from exchange.events.models import Event, Registration, RegistrationStatus
from exchange.partners.models import Agreement, CooperationCondition, PartnerContact, PartnerInstitution
from exchange.scale.seed import EMAIL_DOMAIN, PASSWORD, ScaleError, SeedSizes, seed_scale
from tests.fixtures.app import clean_tables
from tests.fixtures.queries import counting_queries

SIZES = SeedSizes(students=60, partners=12, events=10)


def snapshot(db):
    return {
        "users": db.session.execute(select(User.email, User.name, User.role, User.institution_id)
                                    .order_by(User.id)).all(),
        "institutions": db.session.execute(select(PartnerInstitution.name, PartnerInstitution.schac_code)
                                           .order_by(PartnerInstitution.id)).all(),
        "applications": db.session.execute(select(Application.student_id, Application.status, Application.score,
                                                  Application.gpa, Application.isced_code)
                                           .order_by(Application.id)).all(),
        "choices": db.session.execute(select(ApplicationChoice.application_id, ApplicationChoice.place_id,
                                             ApplicationChoice.rank).order_by(ApplicationChoice.id)).all(),
        "registrations": db.session.execute(select(Registration.event_id, Registration.user_id, Registration.status,
                                                   Registration.checkin_code).order_by(Registration.id)).all(),
    }


def test_seed_generates_every_kind_of_row(db):
    summary = seed_scale(SIZES, seed=3, batch_size=100, write_files=False)
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert db.session.scalar(select(func.count()).where(User.role == Role.student)) == SIZES.students
    assert count(PartnerInstitution) == SIZES.partners
    assert count(PartnerContact) == 2 * SIZES.partners
    assert count(Agreement) >= SIZES.partners and count(CooperationCondition) >= 2 * SIZES.partners
    assert count(Event) == SIZES.events and count(Registration) > 0
    assert count(LanguageSkill) > 0 and count(Review) > 0 and count(ApplicationDocument) > 0
    # Every student applied to the large call; every application has 1..max_choices ranked choices.
    large = db.session.get(Call, summary.call_id)
    assert db.session.scalar(select(func.count()).where(Application.call_id == large.id)) == SIZES.students
    choices = db.session.execute(select(ApplicationChoice.application_id, func.count(), func.max(ApplicationChoice.rank))
                                 .group_by(ApplicationChoice.application_id)).all()
    assert all(1 <= n == top for _id, n, top in choices)
    assert max(n for _id, n, _top in choices) <= large.max_choices
    # Choices point at places of the application's own call.
    mismatched = db.session.scalar(select(func.count()).select_from(ApplicationChoice)
                                   .join(Application, Application.id == ApplicationChoice.application_id)
                                   .join(CallPlace, CallPlace.id == ApplicationChoice.place_id)
                                   .where(CallPlace.call_id != Application.call_id))
    assert mismatched == 0
    statuses = Counter(db.session.scalars(select(Application.status).where(Application.call_id == large.id)))
    assert statuses[S.eligible] > SIZES.students / 2 and len(statuses) >= 3
    # Reviewed applications have a score from 0 to 100; drafts have none and were never submitted.
    scored = db.session.scalars(select(Application.score).where(Application.status == S.eligible)).all()
    assert scored and all(0 <= score <= 100 for score in scored)
    assert db.session.scalar(select(func.count()).where(Application.status == S.draft,
                                                        Application.submitted_at.is_not(None))) == 0
    # Nominated applications name the placed institution (what partner users see).
    nominated = db.session.scalars(select(Application).where(Application.nominated_at.is_not(None))).all()
    assert all(a.status is S.accepted and a.placed_institution_id for a in nominated)
    # Confirmed registrations never exceed an event's capacity.
    for event in db.session.scalars(select(Event).where(Event.capacity.is_not(None))):
        confirmed = db.session.scalar(select(func.count()).where(Registration.event_id == event.id,
                                                                 Registration.status == RegistrationStatus.confirmed))
        assert confirmed <= event.capacity
    assert set(summary.logins) == {"admin", "coordinator", "student", "partner"}


def test_last_years_call_has_its_run_offers_nominations_and_certificates(db):
    from exchange.certificates.models import Certificate, CertificateKind
    from exchange.placements.models import (MatchingRun, Nomination, Offer, OfferStatus, RunPlacement, RunStatus)
    seed_scale(SeedSizes(students=200, partners=15, events=30), seed=4, write_files=False)
    run = db.session.scalar(select(MatchingRun))
    assert run.status is RunStatus.published and run.placed_count > 0
    placements = db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == run.id)).all()
    assert len(placements) == run.applications_count
    for offer in db.session.scalars(select(Offer)):
        application = db.session.get(Application, offer.application_id)
        assert (offer.status is OfferStatus.accepted) == (application.status is S.accepted)
        assert application.placed_place_id == offer.place_id
    nominations = db.session.scalars(select(Nomination)).all()
    assert nominations
    for nomination in nominations:
        application = db.session.get(Application, nomination.application_id)
        assert application.status is S.accepted and application.nominated_at is not None
        assert application.placed_institution_id == nomination.institution_id
    kinds = Counter(db.session.scalars(select(Certificate.kind)))
    assert kinds[CertificateKind.participation] > 0 and kinds[CertificateKind.placement] == len(nominations)


def test_one_password_hash_for_every_account(db):
    seed_scale(SIZES, seed=3, write_files=False)
    hashes = db.session.scalars(select(User.password_hash).where(User.email.like(f"%@{EMAIL_DOMAIN}")).distinct()).all()
    assert len(hashes) == 1
    student = db.session.scalar(select(User).where(User.email == f"student00001@{EMAIL_DOMAIN}"))
    assert student.check_password(PASSWORD) and not student.check_password("wrong")


def test_bulk_inserts_not_a_statement_per_row(db):
    with counting_queries() as counter:
        seed_scale(SIZES, seed=3, batch_size=5000, write_files=False)
    rows = db.session.scalar(select(func.count()).select_from(ApplicationChoice))
    assert rows > 100
    # On SQLite executemany counts once per batch; well under one statement per row either way.
    assert counter.count < 200, counter.count


def test_same_seed_same_data(db):
    seed_scale(SIZES, seed=5, write_files=False)
    first = snapshot(db)
    clean_tables()
    seed_scale(SIZES, seed=5, write_files=False)
    assert snapshot(db) == first
    clean_tables()
    seed_scale(SIZES, seed=6, write_files=False)
    assert snapshot(db)["applications"] != first["applications"]


def test_refuses_to_run_twice(db):
    seed_scale(SIZES, seed=3, write_files=False)
    with pytest.raises(ScaleError):
        seed_scale(SIZES, seed=3, write_files=False)


def test_writes_document_files(db, app):
    seed_scale(SeedSizes(students=5, partners=3, events=0), seed=3)
    names = db.session.scalars(select(ApplicationDocument.stored_name)).all()
    assert names
    folder = app.config["UPLOAD_FOLDER"]
    assert all(os.path.exists(os.path.join(folder, name)) for name in names)
    for name in names:
        os.remove(os.path.join(folder, name))


def test_command(app, db):
    result = app.test_cli_runner().invoke(args=["seed-scale", "--students", "30", "--partners", "6",
                                                "--events", "4", "--no-files", "--seed", "9"])
    assert result.exit_code == 0, result.output
    assert "student00001@scale.test" in result.output and "scale-password" in result.output
    again = app.test_cli_runner().invoke(args=["seed-scale", "--students", "30", "--partners", "6", "--no-files"])
    assert again.exit_code != 0 and "already" in again.output


def test_the_command_is_a_cli_command_not_a_blueprint(app):
    """The scale package serves no pages: production registers no blueprint for it."""
    assert "seed-scale" in app.cli.commands
    assert not [name for name, bp in app.blueprints.items() if bp.import_name.startswith("exchange.scale")]


def test_vacuums_the_tables_the_triggers_wrote_too(db, monkeypatch):
    """The status counters and the calls' places_version are written by triggers on every insert: left
    unvacuumed, the counters' few rows sat among thousands of dead ones (0.65 ms instead of 0.05 per read)."""
    vacuumed = []
    monkeypatch.setattr("exchange.scale.seed.vacuum", vacuumed.extend)
    seed_scale(SIZES, seed=3, batch_size=100, write_files=False)
    assert {"application_status_counts", "calls", "applications", "users"} <= set(vacuumed)
