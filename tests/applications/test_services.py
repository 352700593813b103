"""Services: calls and places, the application's life, submission checks, review, notifications."""
from datetime import timedelta
from decimal import Decimal

import pytest

from exchange.applications import access, services
from exchange.applications.models import Application, DocumentKind, StatusChange
from exchange.applications.scoring import GpaScale
from exchange.applications.workflow import Actor
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.partners.models import AgreementStatus, Direction, MobilityType
from tests.fixtures.files import PDF, file_storage, png_bytes
from tests.fixtures.mail import text_of


# --- Calls and places ------------------------------------------------------------------------------

def test_available_conditions_are_outgoing_places_of_active_agreements_covering_the_year(
        db, make_condition, make_call_with_places, next_academic_year):
    good = make_condition("0613")
    make_condition("0613", direction=Direction.incoming)
    make_condition("0613", status=AgreementStatus.draft)
    make_condition("0613", status=AgreementStatus.terminated)
    make_condition("0613", first=next_academic_year - 3, last=next_academic_year - 1)  # ends before the call's year
    make_condition("0613", first=next_academic_year + 1, last=next_academic_year + 2)  # starts after it
    make_condition("0613", mobility_type=MobilityType.traineeship)
    call = make_call_with_places(conditions=[good])
    assert [c.id for c in services.available_conditions(call)] == [good.id]


def test_places_from_elsewhere_are_refused(db, make_condition, make_call_with_places, coordinator):
    call = make_call_with_places()
    incoming = make_condition(direction=Direction.incoming)
    with pytest.raises(WorkflowError) as info:
        services.set_call_places(call, {incoming.id: 2}, by=coordinator)
    assert info.value.code == "bad-condition"


def test_a_chosen_place_cannot_be_removed_but_its_seats_can_change(db, make_application, coordinator):
    application = make_application()
    call = application.call
    chosen = application.choices[0].place
    others = {p.condition_id: p.seats for p in call.places if p.id != chosen.id}
    with pytest.raises(WorkflowError) as info:
        services.set_call_places(call, others, by=coordinator)
    assert info.value.code == "place-chosen"
    services.set_call_places(call, {**others, chosen.condition_id: 0}, by=coordinator)
    assert chosen.seats == 0


@pytest.mark.parametrize(("criteria", "code"), [
    ([services.CriterionData("GPA", 50), services.CriterionData("Motivation", 40)], "weights"),
    ([services.CriterionData("GPA", 50), services.CriterionData("gpa", 50)], "criteria-names"),
    ([], "weights"),
])
def test_call_criteria_are_checked(db, make_call_with_places, criteria, code):
    with pytest.raises(WorkflowError) as info:
        make_call_with_places(criteria=criteria)
    assert info.value.code == code


def test_call_dates_must_be_ordered(db, make_call_with_places):
    now = utcnow()
    with pytest.raises(WorkflowError) as info:
        make_call_with_places(opens_at=now, closes_at=now - timedelta(days=1))
    assert info.value.field == "closes_at"


def test_criteria_are_locked_once_scored(db, make_application, coordinator):
    application = make_application(status=S.under_review)
    call = application.call
    services.save_scores(application, coordinator, {c.id: 5 for c in call.criteria})
    kwargs = dict(title=call.title, academic_year=call.academic_year, period=call.period,
                  mobility_type=call.mobility_type, description=None, opens_at=call.opens_at,
                  closes_at=call.closes_at, max_choices=3, min_gpa=None, eqf_levels=[], required_documents=[])
    with pytest.raises(WorkflowError) as info:
        services.save_call(call, criteria=[services.CriterionData("All", 100)], by=coordinator, **kwargs)
    assert info.value.code == "criteria-locked"
    # The same criteria (other fields changed) are fine.
    same = [services.CriterionData(c.name, c.weight, c.uses_gpa) for c in call.criteria]
    services.save_call(call, criteria=same, by=coordinator, **{**kwargs, "title": "Renamed"})
    assert call.title == "Renamed"


def test_public_calls_lists_open_and_upcoming_not_closed(db, make_call_with_places):
    open_call = make_call_with_places(title="Open")
    upcoming = make_call_with_places(title="Soon", phase="upcoming")
    make_call_with_places(title="Over", phase="closed")
    assert {c.title for c in services.public_calls()} == {open_call.title, upcoming.title}


# --- Starting and editing -------------------------------------------------------------------------

def test_start_application_records_the_draft(db, make_call_with_places, make_user):
    student = make_user(Role.student, name="Ana Gil")
    application = services.start_application(make_call_with_places(), student)
    assert application.status is S.draft and application.full_name == "Ana Gil"
    assert [(h.from_status, h.to_status, h.actor) for h in application.history] == [(None, S.draft, Actor.student)]


@pytest.mark.parametrize(("phase", "code"), [("closed", "deadline"), ("upcoming", "not-open")])
def test_cannot_start_outside_the_call_window(db, make_call_with_places, make_user, phase, code):
    with pytest.raises(WorkflowError) as info:
        services.start_application(make_call_with_places(phase=phase), make_user(Role.student))
    assert info.value.code == code


def test_second_application_to_the_same_call_is_refused(db, make_application):
    application = make_application(complete=False)
    with pytest.raises(WorkflowError) as info:
        services.start_application(application.call, application.student)
    assert info.value.code == "duplicate" and info.value.status == 409


def test_only_students_apply(db, make_call_with_places, coordinator):
    with pytest.raises(WorkflowError):
        services.start_application(make_call_with_places(), coordinator)


def test_gpa_is_converted_when_saved(db, make_application):
    application = make_application(gpa=Decimal("3.2"), gpa_scale=GpaScale.scale_4)
    assert application.gpa_normalised == Decimal("8.00")
    services.update_application(application, gpa=None)
    assert application.gpa_normalised is None


def test_gpa_outside_its_scale_is_refused_and_nothing_changes(db, make_application):
    application = make_application()
    with pytest.raises(WorkflowError) as info:
        services.update_application(application, gpa=Decimal("5.5"), gpa_scale=GpaScale.scale_4)
    assert info.value.field == "gpa"
    assert application.gpa == Decimal("8.00") and application.gpa_scale is GpaScale.scale_10


def test_choices_refuse_duplicates_foreign_places_and_too_many(db, make_application, make_call_with_places):
    application = make_application()
    places = services.load_places(application.call)
    other_call = make_call_with_places(title="Other")
    foreign = services.load_places(other_call)[0]
    for place_ids, code in [([places[0].id, places[0].id], "duplicate-choice"),
                            ([places[0].id, foreign.id], "foreign-place"),
                            ([places[0].id, 999999], "foreign-place"),
                            ([], "no-choice")]:
        with pytest.raises(WorkflowError) as info:
            services.set_choices(application, place_ids)
        assert info.value.code == code
    application.call.max_choices = 2
    with pytest.raises(WorkflowError) as info:
        services.set_choices(application, [p.id for p in places[:3]])
    assert info.value.code == "too-many"
    services.set_choices(application, [places[1].id, places[0].id])
    assert [(c.rank, c.place_id) for c in application.choices] == [(1, places[1].id), (2, places[0].id)]


def test_languages_refuse_duplicates(db, make_application):
    application = make_application()
    with pytest.raises(WorkflowError):
        services.set_languages(application, [("en", "B2", None), ("en", "C1", None)])
    with pytest.raises(WorkflowError):
        services.set_languages(application, [("xx", "B2", None)])
    with pytest.raises(WorkflowError):
        services.set_languages(application, [("en", "D1", None)])


def test_draft_cannot_be_changed_after_the_deadline(db, make_application):
    application = make_application()
    application.call.closes_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(WorkflowError) as info:
        services.update_application(application, full_name="Late")
    assert info.value.code == "deadline"


@pytest.mark.parametrize("status", [S.submitted, S.under_review, S.eligible, S.withdrawn])
def test_sent_in_application_is_read_only(db, make_application, status):
    application = make_application(status=status)
    with pytest.raises(WorkflowError) as info:
        services.update_application(application, full_name="Changed")
    assert info.value.code == "read-only"
    with pytest.raises(WorkflowError):
        services.upload_document(application, DocumentKind.cv, file_storage(), by=application.student)


# --- Documents --------------------------------------------------------------------------------

def test_upload_replace_and_delete_a_document(app, db, make_application):
    import os
    from exchange.core.uploads import path_of
    application = make_application(complete=False)
    first = services.upload_document(application, DocumentKind.cv, file_storage(PDF, "cv.pdf"), by=application.student)
    first_path = path_of(first.stored_name)
    assert os.path.exists(first_path) and first.mimetype == "application/pdf" and first.original_name == "cv.pdf"
    second = services.upload_document(application, DocumentKind.cv, file_storage(png_bytes(), "photo.png"),
                                      by=application.student)
    assert application.document(DocumentKind.cv) is second and second.mimetype == "image/png"
    assert not os.path.exists(first_path)  # the replaced file is gone
    assert app.config["UPLOAD_FOLDER"] in path_of(second.stored_name)
    assert "static" not in path_of(second.stored_name).split(os.sep)
    services.delete_document(application, second, by=application.student)
    assert application.document(DocumentKind.cv) is None
    assert not os.path.exists(path_of(second.stored_name))


@pytest.mark.parametrize(("data", "name", "status"), [
    (b"MZ\x90\x00 not a pdf at all", "transcript.pdf", 415),          # a renamed executable
    (b"<html><script>alert(1)</script></html>", "cv.pdf", 415),
    (b"GIF89a\x01\x00\x01\x00", "image.png", 415),                    # a GIF is not accepted
    (b"", "empty.pdf", 422),
    (b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "huge.pdf", 413),     # just over 10 MB
])
def test_upload_is_checked_by_content_and_size(db, make_application, data, name, status):
    application = make_application(complete=False)
    with pytest.raises(WorkflowError) as info:
        services.upload_document(application, DocumentKind.cv, file_storage(data, name), by=application.student)
    assert info.value.status == status
    assert application.document(DocumentKind.cv) is None


def test_upload_of_a_document_the_call_does_not_ask_for_is_refused(db, make_application):
    application = make_application(complete=False)
    with pytest.raises(WorkflowError) as info:
        services.upload_document(application, DocumentKind.recommendation, file_storage(), by=application.student)
    assert info.value.code == "not-required"


# --- Submission ---------------------------------------------------------------------------------

def test_submit_complete_application_records_history_and_emails(db, make_application, outbox):
    application = make_application()
    change = services.submit_application(application, by=application.student)
    assert application.status is S.submitted and application.submitted_at is not None
    assert (change.from_status, change.to_status, change.by_id) == (S.draft, S.submitted, application.student_id)
    assert len(outbox) == 0  # sent once the submission is committed
    db.session.commit()
    message = outbox.last()
    assert message["To"] == application.student.email
    assert "received your application" in message["Subject"]
    assert f"http://exchange.test/applications/{application.id}" in text_of(message)


def test_incomplete_application_lists_everything_missing(db, make_application):
    application = make_application(complete=False)
    with pytest.raises(services.SubmissionRefused) as info:
        services.submit_application(application, by=application.student)
    problems = " ".join(info.value.problems)
    for item in ("Date of birth", "Nationality", "Student number", "Study programme", "language", "Motivation",
                 "destination", "Transcript of records", "CV"):
        assert item in problems
    assert application.status is S.draft


def test_short_motivation_is_incomplete(db, make_application):
    application = make_application(motivation="Too short.")
    assert any("Motivation" in item for item in services.missing_items(application)["motivation"])


def test_deadline_is_checked_on_submit(db, make_application):
    application = make_application()
    application.call.closes_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(WorkflowError) as info:
        services.submit_application(application, by=application.student)
    assert info.value.code == "deadline" and application.status is S.draft


def test_ineligible_choice_cannot_be_submitted_and_says_why(db, make_application):
    application = make_application()
    german_place = next(p for p in services.load_places(application.call) if p.language_requirements == [("de", "B2")])
    services.set_choices(application, [application.choices[0].place_id, german_place.id])
    with pytest.raises(services.SubmissionRefused) as info:
        services.submit_application(application, by=application.student)
    assert any("Choice 2" in p and "German" in p and "B2" in p for p in info.value.problems)


def test_call_rules_are_checked_on_submit(db, make_application):
    application = make_application(gpa=Decimal("4.0"))  # below the call's minimum of 5
    with pytest.raises(services.SubmissionRefused) as info:
        services.submit_application(application, by=application.student)
    assert any("at least 5" in p for p in info.value.problems)


def test_resubmission_after_changes_requested_ignores_the_deadline(db, make_application, coordinator):
    application = make_application(status=S.changes_requested)
    application.call.closes_at = utcnow() - timedelta(days=1)
    services.update_application(application, motivation=application.motivation + " Updated.")
    services.submit_application(application, by=application.student)
    assert application.status is S.submitted


def test_submit_twice_is_refused(db, make_application):
    application = make_application(status=S.submitted)
    with pytest.raises(WorkflowError):
        services.submit_application(application, by=application.student)


# --- The transition service ----------------------------------------------------------------------

def test_transition_records_who_when_and_comment_and_emails_in_the_students_language(
        db, make_application, coordinator, monkeypatch):
    application = make_application(status=S.submitted)
    application.student.locale = "fr"
    sent = []
    monkeypatch.setattr(services.mail, "send_template",
                        lambda to, template, locale=None, **ctx: sent.append((to, template, locale, ctx)))
    change = services.transition(application, S.under_review, by=coordinator, comment="  Starting.  ")
    assert (change.from_status, change.to_status, change.actor, change.by_id, change.comment) == (
        S.submitted, S.under_review, Actor.staff, coordinator.id, "Starting.")
    assert change.at is not None
    assert sent[0][:3] == (application.student.email, "application_status", "fr")
    assert sent[0][3]["link"] == f"http://exchange.test/applications/{application.id}"


def test_refused_transition_changes_nothing(db, make_application, coordinator, outbox):
    application = make_application(status=S.submitted)
    before = len(application.history)
    with pytest.raises(WorkflowError) as info:
        services.transition(application, S.eligible, by=coordinator)
    assert "Submitted" in info.value.message and "Eligible" in info.value.message
    assert application.status is S.submitted and len(application.history) == before
    assert len(outbox) == 0


def test_students_cannot_make_staff_transitions_and_vice_versa(db, make_application, coordinator):
    application = make_application(status=S.submitted)
    with pytest.raises(WorkflowError):
        services.transition(application, S.under_review, by=application.student)
    draft = make_application()
    with pytest.raises(WorkflowError):
        services.transition(draft, S.submitted, by=coordinator)


def test_only_the_applicant_acts_as_the_student(db, make_application, make_user):
    application = make_application(status=S.submitted)
    with pytest.raises(WorkflowError) as info:
        services.transition(application, S.withdrawn, by=make_user(Role.student))
    assert info.value.code == "not-owner"


def test_partner_users_cannot_change_statuses(db, make_application, make_user):
    application = make_application(status=S.submitted)
    with pytest.raises(WorkflowError) as info:
        services.transition(application, S.withdrawn, by=make_user(Role.partner))
    assert info.value.status == 403


def test_matching_uses_the_system_actor(db, make_application, coordinator):
    application = make_application(status=S.eligible)
    with pytest.raises(WorkflowError):
        services.transition(application, S.placed, by=coordinator)
    change = services.transition(application, S.placed, by=coordinator, actor=Actor.system, notify=False)
    assert change.actor is Actor.system and change.by_id == coordinator.id


def test_every_status_change_emails_the_student(db, make_application, coordinator, outbox):
    application = make_application()
    services.submit_application(application, by=application.student)
    services.transition(application, S.under_review, by=coordinator)
    services.transition(application, S.changes_requested, by=coordinator, comment="Please add your CV.")
    db.session.commit()
    subjects = [m["Subject"] for m in outbox.messages()]
    assert len(subjects) == 3
    assert "Changes requested" in subjects[-1]
    assert "Please add your CV." in text_of(outbox.last())


def test_version_check(db, make_application):
    application = make_application(status=S.submitted)
    db.session.flush()
    services.check_version(application, application.version_id)
    for stale in (application.version_id - 1, "", None, "abc"):
        with pytest.raises(WorkflowError) as info:
            services.check_version(application, stale)
        assert info.value.status == 409


def test_bulk_transition_reports_refusals(db, make_application, make_call_with_places, coordinator):
    call = make_call_with_places()
    a = make_application(call=call, status=S.submitted)
    b = make_application(call=call, status=S.under_review)
    elsewhere = make_application(status=S.submitted)
    result = services.bulk_transition(call, [a.id, b.id, elsewhere.id], S.under_review, by=coordinator)
    assert result.done == [a]
    assert [(x, "already" in message) for x, message in result.refused] == [(b, True)]
    assert elsewhere.status is S.submitted


def test_withdraw_and_respond(db, make_application):
    application = make_application(status=S.placed)
    services.transition(application, S.accepted, by=application.student)
    assert application.status is S.accepted
    services.withdraw_application(application, by=application.student, comment="Changed my mind")
    assert application.status is S.withdrawn and application.history[-1].comment == "Changed my mind"
    with pytest.raises(WorkflowError):
        services.withdraw_application(application, by=application.student)


# --- Review -----------------------------------------------------------------------------------

def test_scores_of_each_reviewer_are_kept_and_the_mean_is_used(db, make_application, coordinator, make_user):
    application = make_application(status=S.under_review)
    gpa, language, motivation = application.call.criteria
    second = make_user(Role.admin)
    review = services.save_scores(application, coordinator, {gpa.id: 8, language.id: 6, motivation.id: 7})
    assert review.total == Decimal("73.00") and application.score == Decimal("73.00")
    services.assign_reviewer(application, second, by=coordinator)
    assert application.score == Decimal("73.00")  # the new reviewer has not scored yet
    services.save_scores(application, second, {gpa.id: 10, language.id: 10, motivation.id: 10})
    assert application.score == Decimal("86.50")
    services.save_scores(application, coordinator, {gpa.id: 10, language.id: 10, motivation.id: 9})
    assert application.score == Decimal("98.50")
    assert {r.reviewer_id: r.total for r in application.reviews} == {coordinator.id: Decimal("97.00"),
                                                                     second.id: Decimal("100.00")}
    services.unassign_reviewer(application, next(r for r in application.reviews if r.reviewer_id == second.id))
    assert application.score == Decimal("97.00")


@pytest.mark.parametrize("bad", [-1, "10.5", "abc", None, ""])
def test_score_out_of_range_is_refused(db, make_application, coordinator, bad):
    application = make_application(status=S.under_review)
    gpa, language, motivation = application.call.criteria
    with pytest.raises(WorkflowError) as info:
        services.save_scores(application, coordinator, {gpa.id: 5, language.id: bad, motivation.id: 5})
    assert info.value.field == f"c{language.id}"
    assert application.score is None and application.reviews == []


def test_drafts_are_not_scored(db, make_application, coordinator):
    application = make_application()
    with pytest.raises(WorkflowError):
        services.save_scores(application, coordinator, {c.id: 5 for c in application.call.criteria})


def test_reviewers_must_be_staff_and_assigned_once(db, make_application, coordinator, make_user):
    application = make_application(status=S.submitted)
    with pytest.raises(WorkflowError):
        services.assign_reviewer(application, make_user(Role.student), by=coordinator)
    services.assign_reviewer(application, coordinator, by=coordinator)
    with pytest.raises(WorkflowError) as info:
        services.assign_reviewer(application, coordinator, by=coordinator)
    assert info.value.code == "already-assigned"


def test_comment_to_the_student_is_emailed_internal_is_not(db, make_application, coordinator, outbox):
    application = make_application(status=S.submitted)
    services.add_comment(application, coordinator, "Internal note", internal=True)
    db.session.commit()
    assert len(outbox) == 0
    services.add_comment(application, coordinator, "Please check your transcript.", internal=False)
    db.session.commit()
    assert "Please check your transcript." in text_of(outbox.last())
    messages = services.student_messages(application)
    assert [m["body"] for m in messages] == ["Please check your transcript."]
    with pytest.raises(WorkflowError):
        services.add_comment(application, coordinator, "   ", internal=True)


# --- For the placement step ----------------------------------------------------------------------

def test_eligible_places_and_reasons(db, make_application):
    application = make_application()
    places = services.load_places(application.call)
    eligible = services.eligible_places(application)
    assert {p.condition.isced_code for p in eligible} == {"0613"}
    assert all(p.language_requirements != [("de", "B2")] for p in eligible)
    business = next(p for p in places if p.condition.isced_code == "0413")
    reasons = services.eligibility_reasons(application, business)
    assert [r.code.value for r in reasons] == ["subject_mismatch"]
    services.update_application(application, gpa=Decimal("4.00"))
    assert services.eligible_places(application) == []  # below the call's minimum grade


def test_partner_sees_an_application_only_once_nominated_to_them(db, make_application, make_user, make_institution):
    application = make_application(status=S.eligible)
    place = services.load_places(application.call)[0]
    partner_user = make_user(Role.partner, institution_id=place.partner.id)
    other_partner = make_user(Role.partner)
    assert not access.partner_may_see(partner_user, application)
    services.set_placement(application, place)
    walk_placed = services.transition(application, S.placed, actor=Actor.system, notify=False)
    assert walk_placed.by_id is None
    assert not access.partner_may_see(partner_user, application)  # placed but not nominated yet
    services.mark_nominated(application)
    assert access.partner_may_see(partner_user, application)
    assert not access.partner_may_see(other_partner, application)
    assert not access.can_see_support_needs(partner_user, application)
    visible = db.session.scalars(access.applications_for(partner_user)).all()
    assert visible == [application]
    assert db.session.scalars(access.applications_for(other_partner)).all() == []
    services.set_placement(application, None)
    assert application.nominated_at is None and not access.partner_may_see(partner_user, application)


def test_mark_nominated_needs_a_place(db, make_application):
    with pytest.raises(WorkflowError):
        services.mark_nominated(make_application(status=S.eligible))


def test_unique_application_per_call_in_the_database(db, make_application):
    from sqlalchemy.exc import IntegrityError
    application = make_application(complete=False)
    db.session.add(Application(call_id=application.call_id, student_id=application.student_id, status=S.draft))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_history_is_ordered(db, make_application, coordinator):
    application = make_application(status=S.eligible)
    assert [h.to_status for h in application.history] == [S.draft, S.submitted, S.under_review, S.eligible]
    assert all(isinstance(h, StatusChange) for h in application.history)
