"""Issuing, numbers, eligibility, revocation and reissue, caching, completion records, bulk jobs."""
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange.applications.workflow import ApplicationStatus
from exchange.auth.models import Role
from exchange.certificates import services
from exchange.certificates.kinds import placement_facts
from exchange.certificates.models import Certificate, CertificateKind, CompletionRecord
from exchange.core.audit import AuditEvent
from exchange.core.errors import WorkflowError
from exchange.core.types import utcnow
from exchange.events.models import RegistrationStatus
from exchange.jobs import services as job_services
from exchange.jobs.models import Job, JobStatus
from tests.fixtures.files import page_count, pdf_text, png_bytes

P = CertificateKind.participation


def test_numbers_are_sequential_per_year(db):
    assert services.reserve_numbers(2, 2026) == ["CERT-2026-000001", "CERT-2026-000002"]
    assert services.reserve_numbers(1, 2026) == ["CERT-2026-000003"]
    assert services.reserve_numbers(1, 2027) == ["CERT-2027-000001"]
    assert services.reserve_numbers(0) == []


def test_issue_a_participation_certificate(db, home, make_past_event, attend, make_user):
    coordinator = make_user(Role.coordinator)
    registration = attend(make_past_event(), name="Ana Pérez", locale="es")
    certificate = services.issue_certificate(P, registration.id, by=coordinator)
    assert certificate.number == f"CERT-{utcnow().year}-000001"
    assert len(certificate.code) >= 22 and certificate.is_valid
    assert certificate.recipient_id == registration.user_id and certificate.recipient_name == "Ana Pérez"
    assert certificate.subject_title == "International Food Fair"
    assert certificate.subject_start == date(2026, 3, 12)  # 17:00 UTC is still 12 March in Madrid
    assert certificate.language == "es" and certificate.event_id == registration.event_id
    assert certificate.details == {"category": "cultural_evening", "venue": "Aula Magna"}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate_issued"))


def test_codes_are_unique_and_unguessable(db, home, make_past_event, attend):
    event = make_past_event()
    codes = {services.issue_certificate(P, attend(event).id, None).code for _ in range(20)}
    assert len(codes) == 20 and all(len(c) == 22 for c in codes)


@pytest.mark.parametrize("checked_in, status", [(False, RegistrationStatus.confirmed),
                                                (True, RegistrationStatus.cancelled),
                                                (False, RegistrationStatus.waitlisted)])
def test_only_attendees_get_a_participation_certificate(db, home, make_past_event, attend, checked_in, status):
    registration = attend(make_past_event(), checked_in=checked_in, status=status)
    with pytest.raises(WorkflowError) as error:
        services.issue_certificate(P, registration.id, None)
    assert error.value.code == "not-eligible"
    assert db.session.scalar(select(Certificate)) is None


def test_one_valid_certificate_per_subject(db, home, make_past_event, attend):
    registration = attend(make_past_event())
    services.issue_certificate(P, registration.id, None)
    with pytest.raises(WorkflowError) as error:
        services.issue_certificate(P, registration.id, None)
    assert error.value.code == "already-issued"


def test_unknown_subject(db):
    with pytest.raises(WorkflowError) as error:
        services.issue_certificate(P, 987654, None)
    assert error.value.status == 404


def test_revoke_needs_a_reason_and_happens_once(db, home, make_past_event, attend, make_user):
    coordinator = make_user(Role.coordinator)
    certificate = services.issue_certificate(P, attend(make_past_event()).id, None)
    for reason in ("", "   ", None, "x" * 501):
        with pytest.raises(WorkflowError) as error:
            services.revoke_certificate(certificate, coordinator, reason)
        assert error.value.field == "reason"
    services.revoke_certificate(certificate, coordinator, "Issued to the wrong person")
    assert certificate.is_revoked and certificate.valid_key is None
    assert certificate.revoked_by_id == coordinator.id
    with pytest.raises(WorkflowError):
        services.revoke_certificate(certificate, coordinator, "again")


def test_reissue_revokes_and_replaces_with_fresh_facts(db, home, make_past_event, attend, make_user):
    coordinator = make_user(Role.coordinator)
    registration = attend(make_past_event(), name="Ana Perz")
    old = services.issue_certificate(P, registration.id, coordinator)
    registration.user.name = "Ana Pérez"
    new = services.reissue_certificate(old, coordinator, "Name corrected", language="fr")
    assert old.is_revoked and old.revocation_reason == "Name corrected" and old.recipient_name == "Ana Perz"
    assert new.is_valid and new.replaces_id == old.id and new.number != old.number and new.code != old.code
    assert new.recipient_name == "Ana Pérez" and new.language == "fr"
    assert [c.id for c in services.history_of(new)] == [new.id, old.id]
    with pytest.raises(WorkflowError):  # the old one cannot be reissued again while the new one is valid
        services.reissue_certificate(old, coordinator, "twice")


def test_a_revoked_certificate_can_be_replaced_later(db, home, make_past_event, attend):
    registration = attend(make_past_event())
    old = services.issue_certificate(P, registration.id, None)
    services.revoke_certificate(old, None, "Mistake")
    assert services.issue_certificate(P, registration.id, None).number != old.number


def test_placement_letter_facts(db, home, placed):
    application = placed(full_name="Sofia Martins")
    facts = placement_facts(application)
    assert facts["partner_name"] == "Università di Bologna" and facts["partner_country"] == "IT"
    assert facts["academic_year"] == 2026 and facts["period"] == "autumn" and facts["isced_code"] == "0311"
    letter = services.issue_certificate(CertificateKind.placement, application.id, None)
    assert letter.subject_title == "Università di Bologna" and letter.academic_year == 2026
    assert letter.call_id == application.call_id and letter.details["student_number"] == "S0042"


@pytest.mark.parametrize("status", [ApplicationStatus.placed, ApplicationStatus.eligible,
                                    ApplicationStatus.declined, ApplicationStatus.withdrawn])
def test_placement_letters_only_for_accepted_places(db, home, placed, status):
    application = placed(status=status)
    with pytest.raises(WorkflowError) as error:
        services.issue_certificate(CertificateKind.placement, application.id, None)
    assert error.value.code == "not-eligible"


def test_completion_needs_a_record(db, home, placed, make_user):
    application = placed()
    with pytest.raises(WorkflowError):
        services.issue_certificate(CertificateKind.completion, application.id, None)
    coordinator = make_user(Role.coordinator)
    services.save_completion(application, date(2026, 9, 1), date(2027, 1, 31), Decimal("27.5"), coordinator,
                             today=date(2027, 3, 1))
    certificate = services.issue_certificate(CertificateKind.completion, application.id, coordinator)
    assert (certificate.subject_start, certificate.subject_end) == (date(2026, 9, 1), date(2027, 1, 31))
    assert certificate.details["ects_credits"] == "27.5"


@pytest.mark.parametrize("start, end, credits, field", [
    (date(2026, 9, 1), date(2026, 8, 1), None, "ended_on"),
    (date(1999, 9, 1), date(2000, 1, 1), None, "started_on"),
    (date(2026, 9, 1), date(2027, 6, 1), None, "ended_on"),   # after "today"
    (date(2023, 9, 1), date(2026, 1, 1), None, "ended_on"),   # more than two years
    (date(2026, 9, 1), date(2027, 1, 1), Decimal("121"), "ects_credits"),
    (date(2026, 9, 1), date(2027, 1, 1), Decimal("-1"), "ects_credits"),
])
def test_completion_record_rules(db, placed, start, end, credits, field):
    with pytest.raises(WorkflowError) as error:
        services.save_completion(placed(), start, end, credits, None, today=date(2027, 3, 1))
    assert error.value.field == field
    assert db.session.scalar(select(CompletionRecord)) is None


def test_completion_record_only_for_placed_students(db, placed):
    with pytest.raises(WorkflowError):
        services.save_completion(placed(status=ApplicationStatus.placed), date(2026, 9, 1), date(2027, 1, 1),
                                 None, None, today=date(2027, 3, 1))


def _images(home, logo=png_bytes(4, 2), signature=png_bytes(3, 2)):
    """Give the home institution a logo and a signature; returns the names of the copies certificates keep."""
    import hashlib
    import os
    from exchange.core.uploads import upload_folder
    for attribute, name, data in (("logo_path", "logo-now.png", logo), ("signature_path", "sig-now.png", signature)):
        with open(os.path.join(upload_folder(), name), "wb") as fh:
            fh.write(data)
        setattr(home, attribute, name)
    return [f"frozen-{hashlib.sha256(data).hexdigest()}.png" for data in (logo, signature)]


def test_an_issued_certificate_keeps_what_it_was_issued_with(db, home, make_past_event, attend, renders):
    import io
    import os
    from werkzeug.datastructures import FileStorage
    from exchange.core.uploads import path_of
    logo, signature = _images(home)
    event = make_past_event(title="International Food Fair")
    registration = attend(event, name="Ana Perez")
    certificate = services.issue_certificate(P, registration.id, None)
    assert certificate.issuer == {
        "institution": {"name": "Universidad de Valdemora", "city": "Valdemora", "country": "ES",
                        "website": "https://www.uvaldemora.example", "email": "international@uvaldemora.example",
                        "logo": logo, "office": True},
        "signatory": {"name": "Dr. Elena Ruiz", "title": "Vice-Rector for International Relations",
                      "signature": signature}}
    first = services.pdf_of(certificate)
    assert renders.count == 1 and certificate.pdf_name and certificate.content_hash
    # The student renames their account, the event is renamed, the settings change (the old images are deleted).
    registration.user.name = "Ana Renamed"
    event.title = "Renamed Fair"
    services.update_settings(home, institution_name="Renamed University", country="FR", city="Lyon",
                             signatory_name="Prof. New Signatory", signatory_title="Dean",
                             logo=FileStorage(io.BytesIO(png_bytes(9, 9)), filename="new.png"),
                             remove_signature=True)
    db.session.commit()
    db.session.expire_all()
    assert not os.path.exists(path_of("logo-now.png")) and not os.path.exists(path_of("sig-now.png"))
    assert services.pdf_of(certificate) == first and renders.count == 1  # the same bytes, not rendered again
    assert (certificate.recipient_name, certificate.subject_title) == ("Ana Perez", "International Food Fair")
    assert services.render_certificates([certificate]).files[0][1] == first
    # Even rendered again (its stored file lost), it states what it stated, with its own copies of the images.
    os.remove(path_of(certificate.pdf_name))
    renders.fetchers.clear()
    text = pdf_text(services.pdf_of(certificate))
    assert renders.count == 2
    for printed in ("Ana Perez", "International Food Fair", "Universidad de Valdemora", "Dr. Elena Ruiz"):
        assert printed in text
    for changed in ("Renamed", "Lyon", "New Signatory", "Dean"):
        assert changed not in text
    requested = {url.rsplit("/", 1)[-1] for f in renders.fetchers for url in f.requested}
    assert {logo, signature} <= requested and all(os.path.exists(path_of(name)) for name in (logo, signature))


def test_bulk_rendering_uses_the_facts_fixed_at_issue(db, home, make_past_event, attend):
    event = make_past_event(title="International Food Fair")
    registrations = [attend(event, name=name) for name in ("Ana Perez", "Bea Lopez")]
    certificates = [services.issue_certificate(P, r.id, None) for r in registrations]
    for registration in registrations:
        registration.user.name += " Changed"
    event.title = "Changed Fair"
    home.signatory_name = "Prof. Changed"
    home.name = "Changed University"
    rendered = services.render_certificates(certificates)  # rendered for the first time after the changes
    text = pdf_text(rendered.merged())
    assert "Ana Perez" in text and "Bea Lopez" in text and "Dr. Elena Ruiz" in text
    assert "International Food Fair" in text and "Universidad de Valdemora" in text and "Changed" not in text
    assert [data for _c, data in rendered.files] == [services.pdf_of(c) for c in certificates]  # as downloaded


def test_a_placement_letter_keeps_the_partner_name_it_was_issued_with(db, home, placed, make_user, renders):
    application = placed(full_name="Sofia Martins")
    letter = services.issue_certificate(CertificateKind.placement, application.id, None)
    first = services.pdf_of(letter)
    application.placed_institution.name = "Alma Mater Studiorum"
    db.session.commit()
    db.session.expire_all()
    assert services.pdf_of(letter) == first and renders.count == 1
    assert letter.subject_title == "Università di Bologna"
    new = services.reissue_certificate(letter, make_user(Role.coordinator), "The partner's new name")
    assert new.subject_title == "Alma Mater Studiorum" and "Alma Mater Studiorum" in pdf_text(services.pdf_of(new))
    assert letter.subject_title == "Università di Bologna"


def test_reissuing_takes_the_facts_and_the_issuer_of_now(db, home, make_past_event, attend, make_user):
    coordinator = make_user(Role.coordinator)
    logo, _signature = _images(home)
    registration = attend(make_past_event(), name="Ana Perez")
    old = services.issue_certificate(P, registration.id, coordinator)
    registration.user.name = "Ana Renamed"
    new_logo, _new_signature = _images(home, logo=png_bytes(7, 7))
    home.signatory_name = "Prof. New Signatory"
    new = services.reissue_certificate(old, coordinator, "New name")
    assert (old.recipient_name, old.issuer["signatory"]["name"], old.issuer["institution"]["logo"]) == (
        "Ana Perez", "Dr. Elena Ruiz", logo)
    assert (new.recipient_name, new.issuer["signatory"]["name"], new.issuer["institution"]["logo"]) == (
        "Ana Renamed", "Prof. New Signatory", new_logo)
    text = pdf_text(services.pdf_of(new))
    assert "Ana Renamed" in text and "Prof. New Signatory" in text
    text = pdf_text(services.pdf_of(old))
    assert "Ana Perez" in text and "Dr. Elena Ruiz" in text and "REVOKED" in text.upper()
    assert new.replaces is old and services.history_of(new) == [new, old] == services.history_of(old)
    old.registration_id = new.registration_id = None  # the registration is gone: the chain of replacements stays
    assert services.history_of(new) == [new, old]


def test_a_missing_stored_file_is_rendered_again(db, home, make_past_event, attend, renders):
    import os
    from exchange.core.uploads import path_of
    certificate = services.issue_certificate(P, attend(make_past_event()).id, None)
    services.pdf_of(certificate)
    os.remove(path_of(certificate.pdf_name))
    assert services.pdf_of(certificate).startswith(b"%PDF") and renders.count == 2


def test_a_revoked_certificate_keeps_its_facts_and_is_marked(db, home, make_past_event, attend):
    registration = attend(make_past_event(), name="Old Name")
    certificate = services.issue_certificate(P, registration.id, None)
    services.revoke_certificate(certificate, None, "Fraud")
    registration.user.name = "New Name"
    text = pdf_text(services.pdf_of(certificate))
    assert "Old Name" in text and "REVOKED" in text.upper() and "Fraud" not in text


def test_revoke_for_subject_helper(db, home, placed):
    application = placed()
    letter = services.issue_certificate(CertificateKind.placement, application.id, None)
    assert services.revoke_for_subject("placement", application.id, None, "Withdrawn") is letter
    assert letter.is_revoked
    assert services.revoke_for_subject("placement", application.id, None, "Withdrawn") is None


def test_bulk_job_issues_renders_and_offers_merged_pdf_and_zip(app, db, home, make_past_event, attend, make_user,
                                                              outbox):
    coordinator = make_user(Role.coordinator)
    event = make_past_event()
    for name in ("Zoe", "Ana", "王秀英", "Özlem Çelik"):
        attend(event, name=name)
    attend(event, name="No Show", checked_in=False)
    done = services.issue_certificate(P, attend(event, name="Bea").id, coordinator)  # issued before
    db.session.commit()
    progress = []
    original = job_services.report_progress

    def spy(job_id, done_, total=None, message=None):
        progress.append((done_, total))
        original(job_id, done_, total, message)
    from exchange.certificates import jobs
    jobs.report_progress, saved = spy, jobs.report_progress
    try:
        job = job_services.start_job("certificates.participation", "Bulk", jobs.FUNC, "participation", event.id,
                                     coordinator.id, True, user=coordinator, total=5)
    finally:
        jobs.report_progress = saved
    assert job.status is JobStatus.finished, job.error
    assert job.result["issued"] == 4 and job.result["total"] == 5
    assert progress[-1] == (5, 5) and any(d < t for d, t in progress if t)
    merged = open(_stored(job.result["files"]["pdf"]), "rb").read()
    assert page_count(merged) == 5
    text = pdf_text(merged)
    assert text.index("Ana") < text.index("Bea") < text.index("Zoe") and "No Show" not in text
    archive = zipfile.ZipFile(_stored(job.result["files"]["zip"]))
    names = archive.namelist()
    assert len(names) == 5 and all(n.startswith("CERT-") and n.endswith(".pdf") for n in names)
    assert all(page_count(archive.read(n)) == 1 for n in names)
    assert done.number + "-Bea.pdf" in names
    assert len(outbox) == 4  # only the new recipients are told
    # Running it again issues nothing new and renders nothing: every PDF is served from storage.
    again = job_services.start_job("certificates.participation", "Bulk", jobs.FUNC, "participation", event.id,
                                   coordinator.id, False, user=coordinator, total=5)
    assert again.result["issued"] == 0 and again.result["rendered"] == 0
    assert page_count(open(_stored(again.result["files"]["pdf"]), "rb").read()) == 5


def _stored(entry):
    from exchange.core.uploads import path_of
    return path_of(entry["stored_name"])


def test_bulk_placement_letters_for_a_call(db, home, placed, make_empty_call, make_place, make_user):
    coordinator = make_user(Role.coordinator)
    call = make_empty_call()
    place = make_place(call)
    for _ in range(3):
        placed(call=call, place=place)
    placed(call=call, place=place, status=ApplicationStatus.placed)  # not accepted yet
    db.session.commit()
    from exchange.certificates import jobs
    job = job_services.start_job("certificates.placement", "Letters", jobs.FUNC, "placement", call.id,
                                 coordinator.id, False, user=coordinator, total=3)
    assert job.status is JobStatus.finished and job.result["total"] == 3
    assert job.result["back_url"] == f"/certificates/calls/{call.id}"
    assert db.session.get(Job, job.id).done == 3


def test_placement_letter_uses_the_nomination(db, home, placed, make_user):
    from exchange.placements.models import Nomination, NominationStatus
    application = placed()
    nomination = Nomination(application_id=application.id, institution_id=application.placed_institution_id,
                            place_id=application.placed_place_id, academic_year=2026,
                            planned_arrival=date(2026, 9, 7), planned_departure=date(2027, 2, 12))
    db.session.add(nomination)
    db.session.flush()
    letter = services.issue_certificate(CertificateKind.placement, application.id, None)
    assert letter.details["planned_arrival"] == "2026-09-07"
    text = pdf_text(services.pdf_of(letter))
    assert "September 7, 2026" in text and "February 12, 2027" in text
    services.revoke_certificate(letter, None, "Redo")
    nomination.status = NominationStatus.rejected
    with pytest.raises(WorkflowError) as error:
        services.issue_certificate(CertificateKind.placement, application.id, None)
    assert "refused" in error.value.message


def test_placement_letter_is_revoked_when_the_nomination_is_cancelled_or_the_student_withdraws(db, app):
    """The letter follows what happens to the placement elsewhere in the app."""
    from exchange.applications import services as app_services
    from exchange.applications.models import Application
    from exchange.auth.models import User
    from exchange.demo import seed_demo
    from exchange.placements import nominations
    from exchange.placements.models import Nomination
    seed_demo()
    letters = db.session.scalars(select(Certificate).where(Certificate.kind == "placement",
                                                           Certificate.revoked_at.is_(None))).all()
    assert len(letters) >= 2
    first, second = letters[:2]
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@demo.test"))
    nomination = db.session.scalar(select(Nomination).where(Nomination.application_id == first.subject_id))
    nominations.cancel_nomination(nomination, coordinator, "Wrong partner")
    assert first.is_revoked and "cancelled" in first.revocation_reason
    application = db.session.get(Application, second.subject_id)
    app_services.transition(application, ApplicationStatus.withdrawn, by=application.student)
    assert second.is_revoked and "withdrew" in second.revocation_reason


def test_home_panels_show_the_newest_certificates_the_user_may_download(db, home, placed, make_user, make_past_event,
                                                                         attend):
    from datetime import timedelta
    partner_user = make_user(Role.partner)
    nominees = [placed() for _ in range(6)]
    not_nominated = placed(nominated=False)
    elsewhere = placed()
    for application in nominees + [not_nominated]:
        application.placed_institution_id = partner_user.institution_id
    letters = [services.issue_certificate(CertificateKind.placement, a.id, None)
               for a in nominees + [not_nominated, elsewhere]]
    services.revoke_certificate(letters[2], None, "Withdrawn")
    student = nominees[0].student
    own = [services.issue_certificate(P, attend(make_past_event(), user=student).id, None) for _ in range(2)]
    base = utcnow() - timedelta(days=1)
    for minutes, certificate in enumerate(letters + own):
        certificate.issued_at = base + timedelta(minutes=minutes)
    db.session.commit()

    def newest(user, *where):
        return db.session.scalars(services.certificates_for(user).where(*where)
                                  .order_by(Certificate.issued_at.desc(), Certificate.id.desc())).all()

    rows, count = services.latest_placement_letters(partner_user)
    expected = newest(partner_user, Certificate.kind == CertificateKind.placement)
    assert count == len(expected) == 5
    assert [(r.id, r.recipient_name, r.academic_year, r.number) for r in rows] == [
        (c.id, c.recipient_name, c.academic_year, c.number) for c in expected]
    rows, count = services.latest_placement_letters(partner_user, limit=2)
    assert count == 5 and [r.id for r in rows] == [c.id for c in expected[:2]]

    rows, count = services.latest_certificates(student)
    assert count == 3 and [(r.id, r.kind, r.subject_title, r.issued_at) for r in rows] == [
        (c.id, c.kind, c.subject_title, c.issued_at) for c in (own[1], own[0], letters[0])]
    services.revoke_certificate(own[1], None, "Wrong name")
    assert [r.id for r in services.latest_certificates(student, limit=1)[0]] == [own[0].id]
    assert services.latest_certificates(partner_user) == ([], 0)
    assert services.latest_placement_letters(student) == ([], 0)


# --- Attendance behind certificates -------------------------------------------------------------------------

def test_a_check_in_behind_a_valid_certificate_stays(db, home, make_past_event, attend, make_user):
    from datetime import timedelta
    from exchange.events import services as events
    from exchange.events.models import attended
    coordinator = make_user(Role.coordinator)
    event = make_past_event()
    registration = attend(event)
    certificate = services.issue_certificate(P, registration.id, coordinator)
    with pytest.raises(WorkflowError) as caught:  # the organiser's undo
        events.undo_check_in(event, registration, by=coordinator, reason="Checked in the wrong person")
    assert caught.value.code == "certified" and caught.value.status == 409
    assert f"Certificate of participation {certificate.number} rests on this check-in" in caught.value.message
    assert events.checkin_kept_because(registration) == caught.value.message
    with pytest.raises(WorkflowError) as caught:  # the student's cancellation
        events.cancel_registration(event.id, registration.user, now=event.starts_at - timedelta(minutes=30))
    assert caught.value.code == "checked-in"
    events.cancel_event(event, "Cancelled afterwards", by=coordinator)  # cancelling the event keeps attendance
    assert attended(registration) and certificate.is_valid
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "event_checkin_undone")) is None
    services.revoke_certificate(certificate, coordinator, "Issued by mistake")
    assert events.checkin_kept_because(registration) is None
    events.undo_check_in(event, registration, by=coordinator, reason="Checked in the wrong person")
    assert not attended(registration)


def test_participation_certificates_only_once_the_event_has_started(db, home, make_past_event, attend):
    from datetime import timedelta
    event = make_past_event(starts_at=utcnow() + timedelta(hours=1))
    registration = attend(event)  # checked in early: check-in opens before the start
    with pytest.raises(WorkflowError) as caught:
        services.issue_certificate(P, registration.id, None)
    assert caught.value.message == "Certificates of participation can only be issued once the event has started."
    assert services.eligible_subject_ids(P, event.id) == []
    assert services.issue_many(P, [registration.id], None) == []
    assert db.session.scalar(select(Certificate)) is None
    event.starts_at = utcnow() - timedelta(minutes=1)
    assert services.eligible_subject_ids(P, event.id) == [registration.id]
    assert services.issue_certificate(P, registration.id, None).is_valid


def test_the_bulk_job_offers_issued_certificates_as_they_were_issued(app, db, home, make_past_event, attend, make_user):
    from exchange.certificates import jobs
    coordinator = make_user(Role.coordinator)
    event = make_past_event()
    ana, bea = attend(event, name="Ana Perez"), attend(event, name="Bea Lopez")
    issued = services.issue_certificate(P, ana.id, coordinator)
    stored = services.pdf_of(issued)
    ana.user.name, bea.user.name = "Ana Renamed", "Bea Renamed"
    home.signatory_name = "Prof. New Signatory"
    db.session.commit()
    job = job_services.start_job("certificates.participation", "Bulk", jobs.FUNC, "participation", event.id,
                                 coordinator.id, False, user=coordinator, total=2)
    assert job.status is JobStatus.finished, job.error
    archive = zipfile.ZipFile(_stored(job.result["files"]["zip"]))
    files = {name.split("-Ana")[0].split("-Bea")[0]: archive.read(name) for name in archive.namelist()}
    assert files.pop(issued.number) == stored  # issued before: the same document
    new, = files.values()  # issued by the job: the facts and the issuer of now
    assert "Bea Renamed" in pdf_text(new) and "Prof. New Signatory" in pdf_text(new)
    assert "Ana Perez" in pdf_text(open(_stored(job.result["files"]["pdf"]), "rb").read())
