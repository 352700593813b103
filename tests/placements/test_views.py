"""The pages: the full path from a run to the partner's decision, access (URL guessing), bad input."""
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exchange.applications.models import DocumentKind
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.types import utcnow
from exchange.partners.models import PartnerFactsheet
from exchange.placements import nominations, offers, runs
from exchange.placements.models import (MatchingRun, Nomination, NominationStatus, Offer, OfferStatus, RunPlacement,
                                        RunStatus)
from tests.fixtures.applications import add_document
from tests.fixtures.files import PDF
from tests.fixtures.placements import deadline


def local(value):
    """A datetime-local value in the default time zone of the app (Europe/Madrid) for `value` (UTC)."""
    from zoneinfo import ZoneInfo
    return value.astimezone(ZoneInfo("Europe/Madrid")).strftime("%Y-%m-%dT%H:%M")


def body(response):
    return response.get_data(as_text=True)


# --- The full path -------------------------------------------------------------------------------------

def test_full_path_through_the_pages(db, client, login, placing, make_user, outbox):
    w = placing()
    a, b = w.places
    s1, s2, s3, s4 = w.apps
    partner_a = make_user(Role.partner, institution_id=a.partner.id, name="Anna Partner")
    coordinator = w.coordinator

    # The coordinator starts a run and reviews it.
    login(coordinator)
    response = client.get(f"/placements/calls/{w.call.id}")
    assert response.status_code == 200 and "Start a matching run" in body(response)
    response = client.post(f"/placements/calls/{w.call.id}/runs")
    assert response.status_code == 302
    run = db.session.scalar(select(MatchingRun))
    page = body(client.get(f"/placements/runs/{run.id}"))
    assert "Partner A" in page and "90.00" in page and "1 of 1" in page
    assert "1st choice" in page and "2nd choice" in page
    page = body(client.get(f"/placements/runs/{run.id}?tab=unplaced"))
    assert "Student 3" in page and "Every eligible choice was filled" in page
    assert "Student 1" not in body(client.get(f"/placements/runs/{run.id}?tab=unplaced"))

    # A manual move: warned first, then confirmed; recorded with who and why.
    s4_row = db.session.scalar(select(RunPlacement).where(RunPlacement.run_id == run.id,
                                                          RunPlacement.application_id == s4.id))
    move_url = f"/placements/runs/{run.id}/placements/{s4_row.id}/move"
    assert client.get(move_url).status_code == 200
    response = client.post(move_url, data={"place": str(b.id), "reason": "Agreed with <b>the partner</b>"})
    assert response.status_code == 422 and "Unfair: Student 3 ranked higher" in body(response)
    assert "2 students for 1 seat." in body(response)
    response = client.post(move_url, data={"place": str(b.id), "reason": "Agreed with the partner", "confirm": "y"})
    assert response.status_code == 302
    page = body(client.get(f"/placements/runs/{run.id}?tab=adjustments"))
    assert "Agreed with the partner" in page and coordinator.name in page
    # …and undone, to keep the run fair.
    response = client.post(move_url, data={"place": "none", "reason": "Undo", "confirm": "y"})
    assert response.status_code == 302

    # Publish.
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": local(deadline(4))})
    assert response.status_code == 302
    assert s1.status is S.placed and s3.status is S.waitlisted
    assert len(outbox.messages()) == 4

    # Student 1 accepts (sharing the transcript), student 2 declines.
    login(s1.student)
    page = body(client.get("/"))
    assert "You are offered a place" in page and "Partner A" in page
    page = body(client.get(f"/placements/my/{s1.id}"))
    assert "Your score: 90.00" in page and "You got this place" in page
    response = client.post(f"/placements/my/{s1.id}/respond", data={"answer": "accept", "documents": ["transcript"]})
    assert response.status_code == 302 and s1.status is S.accepted
    login(s2.student)
    page = body(client.get(f"/placements/my/{s2.id}"))
    assert "Full: the last student admitted had 90.00; you had 80.00." in page
    response = client.post(f"/placements/my/{s2.id}/respond", data={"answer": "decline"})
    assert response.status_code == 302 and s2.status is S.declined

    # Student 3 sees why they are on the waiting list.
    login(s3.student)
    page = body(client.get(f"/placements/my/{s3.id}"))
    assert "waiting list" in page and "had 80.00; you had 70.00" in page

    # Second round: B was freed, student 3 gets it; student 1 is not moved.
    login(coordinator)
    page = body(client.get(f"/placements/calls/{w.call.id}"))
    assert "Run round 2" in page
    assert client.post(f"/placements/calls/{w.call.id}/runs").status_code == 302
    second = db.session.scalar(select(MatchingRun).where(MatchingRun.round == 2))
    assert client.post(f"/placements/runs/{second.id}/publish",
                       data={"deadline": local(deadline(4))}).status_code == 302
    assert s3.status is S.placed and s3.placed_place_id == b.id and s1.placed_place_id == a.id
    page = body(client.get(f"/placements/calls/{w.call.id}/compare?a={run.id}&b={second.id}"))
    assert "Compare runs" in page

    # Nominate everybody who accepted.
    page = body(client.get(f"/placements/calls/{w.call.id}/nominations"))
    assert "Nominate 1 student" in page
    response = client.post(f"/placements/calls/{w.call.id}/nominations", data={"all": "1"})
    assert response.status_code == 302
    nomination = db.session.scalar(select(Nomination))
    assert nomination.application_id == s1.id and nomination.shared_kinds == [DocumentKind.transcript]
    assert outbox.last()["To"] == partner_a.email

    # The partner sees, opens, downloads, rejects with a reason… no: accepts.
    login(partner_a)
    page = body(client.get("/"))
    assert "1 nomination waits for your decision" in page
    page = body(client.get("/placements/incoming"))
    assert "Student 1" in page and "Pending" in page
    page = body(client.get(f"/placements/incoming/{nomination.id}"))
    assert s1.student.email in page and "transcript.pdf" in page
    transcript = s1.document(DocumentKind.transcript)
    response = client.get(f"/placements/incoming/{nomination.id}/documents/{transcript.id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    csv_text = body(client.get("/placements/incoming.csv"))
    assert "Student 1" in csv_text and s1.student.email in csv_text and "Pending" in csv_text
    response = client.post(f"/placements/incoming/{nomination.id}/accept")
    assert response.status_code == 302 and nomination.status is NominationStatus.accepted
    assert {m["To"] for m in outbox.messages()[-2:]} == {s1.student.email, coordinator.email}

    # The student and the coordinator see the decision.
    login(s1.student)
    assert "Accepted by partner" in body(client.get(f"/placements/my/{s1.id}"))
    login(coordinator)
    assert "Accepted by partner" in body(client.get(f"/placements/calls/{w.call.id}/nominations"))


# --- Access: another person's record answers 404 -------------------------------------------------------

@pytest.fixture
def nominated(db, placing, make_user):
    """Student 1 accepted A and is nominated (transcript shared); student 2 holds an open offer at B."""
    w = placing(scores=(90, 80, 70))
    s1 = w.apps[0]
    add_document(s1, DocumentKind.language_certificate)
    run = runs.run_matching(w.call, by=w.coordinator)
    first, _second = offers.publish_run(run, deadline(), by=w.coordinator, notify=False)
    offers.respond_to_offer(first, True, by=s1.student, shared=["transcript"], notify=False)
    w.nomination = nominations.nominate(s1, by=w.coordinator)
    w.partner_a = make_user(Role.partner, institution_id=w.places[0].partner.id)
    w.partner_b = make_user(Role.partner, institution_id=w.places[1].partner.id)
    w.run = run
    db.session.commit()
    return w


def test_partners_cannot_guess_their_way_to_other_students(db, client, login, nominated):
    w = nominated
    n = w.nomination
    s1 = w.apps[0]
    certificate = s1.document(DocumentKind.language_certificate)
    transcript = s1.document(DocumentKind.transcript)
    login(w.partner_b)  # another partner
    for url in (f"/placements/incoming/{n.id}", f"/placements/incoming/{n.id}/documents/{transcript.id}",
                f"/applications/{s1.id}", f"/applications/{s1.id}/documents/{transcript.id}",
                f"/placements/partners/{w.places[0].partner.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/placements/incoming/{n.id}/accept").status_code == 404
    assert client.post(f"/placements/incoming/{n.id}/reject", data={"reason": "no"}).status_code == 404
    assert "Student 1" not in body(client.get("/placements/incoming"))
    assert "Student 1" not in body(client.get("/placements/incoming.csv"))
    for nomination_id in range(1, n.id + 5):  # guessing ids
        assert client.get(f"/placements/incoming/{nomination_id}").status_code == 404

    login(w.partner_a)
    assert client.get(f"/placements/incoming/{n.id}").status_code == 200
    assert client.get(f"/placements/incoming/{n.id}/documents/{transcript.id}").status_code == 200
    # not shared → 404, on both document routes
    assert client.get(f"/placements/incoming/{n.id}/documents/{certificate.id}").status_code == 404
    assert client.get(f"/applications/{s1.id}/documents/{certificate.id}").status_code == 404
    # another application's document through this nomination → 404
    other_doc = w.apps[1].document(DocumentKind.transcript)
    assert client.get(f"/placements/incoming/{n.id}/documents/{other_doc.id}").status_code == 404
    # students not nominated to them: the one placed at B and the waitlisted one
    for application in w.apps[1:]:
        assert client.get(f"/applications/{application.id}").status_code == 404
    assert client.get(f"/placements/partners/{w.places[1].partner.id}").status_code == 404
    assert client.get(f"/placements/partners/{w.places[0].partner.id}").status_code == 200

    # cancelled: gone for the partner
    nominations.cancel_nomination(n, by=w.coordinator, reason="Mistake")
    db.session.commit()
    assert client.get(f"/placements/incoming/{n.id}").status_code == 404
    assert "Student 1" not in body(client.get("/placements/incoming"))


# --- One visibility rule for partners: only while a live nomination allows it ---------------------------

def partner_urls(application, nomination, document):
    """What a partner may read about a student: the application, a document by both routes, the nomination."""
    return [f"/applications/{application.id}", f"/applications/{application.id}/documents/{document.id}",
            f"/placements/incoming/{nomination.id}",
            f"/placements/incoming/{nomination.id}/documents/{document.id}"]


def assert_partner_sees_nothing_of(client, application, nomination, documents):
    student = application.student
    for document in documents:
        for url in partner_urls(application, nomination, document):
            assert client.get(url).status_code == 404, url
    for listing in ("/placements/incoming", "/placements/incoming.csv", "/placements/incoming?status=accepted",
                    "/", "/certificates/nominees"):
        page = body(client.get(listing))
        assert student.email not in page and application.full_name not in page, listing
    assert "No student has been nominated to you yet." in body(client.get("/"))  # the home panel counts none


def reopen(call):
    call.closes_at = utcnow() + timedelta(days=7)


def test_a_partner_that_rejected_a_student_no_longer_sees_them(db, client, login, nominated):
    w = nominated
    n, s1 = w.nomination, w.apps[0]
    transcript = s1.document(DocumentKind.transcript)
    login(w.partner_a)
    for url in partner_urls(s1, n, transcript):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/placements/incoming/{n.id}/reject", data={"reason": "No room"}).status_code == 302
    assert n.status is NominationStatus.rejected
    assert_partner_sees_nothing_of(client, s1, n, [transcript])
    assert client.get("/placements/incoming?status=rejected").status_code == 422

    # The student withdraws, applies again (the call is open again) and uploads a new transcript.
    login(s1.student)
    assert client.post(f"/applications/{s1.id}/withdraw", data={"comment": ""}).status_code == 302
    assert s1.status is S.withdrawn
    reopen(w.call)
    db.session.commit()
    assert client.post(f"/applications/calls/{w.call.id}/apply").status_code == 302
    assert s1.status is S.draft
    response = client.post(f"/applications/{s1.id}/documents/transcript",
                           data={"transcript-file": (io.BytesIO(PDF), "new-transcript.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    new_transcript = s1.document(DocumentKind.transcript)
    assert new_transcript.id != transcript.id
    login(w.partner_a)
    assert_partner_sees_nothing_of(client, s1, n, [new_transcript, s1.document(DocumentKind.language_certificate)])


def test_a_partner_sees_an_accepted_student_until_the_application_is_withdrawn(db, client, login, nominated):
    from exchange.certificates import services as certificates
    from exchange.certificates.models import CertificateKind
    from exchange.partners.models import HomeInstitution
    w = nominated
    n, s1 = w.nomination, w.apps[0]
    transcript = s1.document(DocumentKind.transcript)
    db.session.add(HomeInstitution(name="Universidad de Valdemora", country="ES", city="Valdemora"))
    login(w.partner_a)
    assert client.post(f"/placements/incoming/{n.id}/accept").status_code == 302
    letter = certificates.issue_certificate(CertificateKind.placement, s1.id, w.coordinator)
    db.session.commit()
    # accepted: a live nomination, everything is there
    for url in partner_urls(s1, n, transcript):
        assert client.get(url).status_code == 200, url
    assert s1.student.email in body(client.get("/placements/incoming.csv"))
    assert "Student 1" in body(client.get("/placements/incoming?status=accepted"))
    assert "Every nomination has been decided." in body(client.get("/"))
    assert letter.number in body(client.get("/certificates/nominees"))

    login(s1.student)
    assert client.post(f"/applications/{s1.id}/withdraw", data={"comment": "Staying home"}).status_code == 302
    assert s1.status is S.withdrawn and n.status is NominationStatus.cancelled
    login(w.partner_a)
    assert_partner_sees_nothing_of(client, s1, n, [transcript])
    assert client.get(f"/certificates/{letter.id}/pdf").status_code == 404
    assert letter.number not in body(client.get("/certificates/nominees"))


def test_students_see_only_their_own_placement(db, client, login, nominated, make_user):
    w = nominated
    s1, s2 = w.apps[:2]
    login(s2.student)
    assert client.get(f"/placements/my/{s1.id}").status_code == 404
    assert client.post(f"/placements/my/{s1.id}/respond", data={"answer": "decline"}).status_code == 404
    assert client.post(f"/placements/my/{s1.id}/documents", data={"documents": []}).status_code == 404
    assert s1.status is S.accepted
    login(make_user(Role.student))
    assert client.get(f"/placements/my/{s2.id}").status_code == 404


@pytest.mark.parametrize(("role", "url", "status"), [
    (Role.student, "/placements/", 403),
    (Role.partner, "/placements/runs/1", 403),
    (Role.student, "/placements/incoming", 403),
    (Role.coordinator, "/placements/incoming", 403),
    (Role.partner, "/placements/my/1", 403),
    (Role.coordinator, "/placements/my/1", 403),
    (Role.partner, "/placements/calls/1/destinations", 403),
    (Role.coordinator, "/placements/runs/999999", 404),
    (Role.coordinator, "/placements/calls/999999", 404),
    (Role.coordinator, "/placements/partners/999999", 404),
    (Role.student, "/placements/calls/999999/destinations", 404),
    (Role.admin, "/placements/calls/999999/compare", 404),
    (None, "/placements/incoming", 302),
    (None, "/placements/partners/1", 302),
])
def test_access_matrix(client, login, role, url, status):
    if role is not None:
        login(role)
    response = client.get(url)
    assert response.status_code == status
    if status == 302:
        assert "/auth/login" in response.headers["Location"]


def test_post_without_csrf_token_is_refused(app, client, db, login, placing):
    w = placing()
    login(w.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/placements/calls/{w.call.id}/runs").status_code == 400
        # A form the coordinator may send (a partner's factsheet), valid but for the token.
        factsheet = f"/placements/partners/{w.places[0].partner.id}/factsheet"
        assert client.post(factsheet, data={"other_requirements": "Learning agreement first"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert runs.runs_of(w.call) == []
    assert db.session.scalar(select(PartnerFactsheet)) is None


# --- Mail: sent after the commit; a name or a mail server never breaks the workflow ---------------------

@pytest.fixture
def accepted_at_a(db, placing, make_user):
    """Student 1 accepted a place at A (sharing the transcript) and is not nominated yet; partner_a works at A."""
    w = placing(scores=(90, 80, 70))
    run = runs.run_matching(w.call, by=w.coordinator)
    first, _second = offers.publish_run(run, deadline(), by=w.coordinator, notify=False)
    offers.respond_to_offer(first, True, by=w.apps[0].student, shared=["transcript"], notify=False)
    w.partner_a = make_user(Role.partner, institution_id=w.places[0].partner.id)
    db.session.commit()
    return w


def test_a_line_break_in_a_students_name_does_not_break_the_nomination_workflow(db, client, login, accepted_at_a,
                                                                                 outbox):
    w = accepted_at_a
    s1 = w.apps[0]
    s1.full_name = s1.student.name = "Ana\r\nPérez\tRuiz"  # legacy data, saved before the forms refused it
    db.session.commit()
    arrival, departure = nominations.default_period(w.call)
    dates = {"planned_arrival": arrival.isoformat(), "planned_departure": departure.isoformat()}

    def nominate():
        login(w.coordinator)
        assert client.post(f"/placements/applications/{s1.id}/nominate", data=dates).status_code == 302
        return nominations.active_nomination(s1)

    def subjects_to(user):
        return [m["Subject"] for m in outbox.messages() if m["To"] == user.email]

    nomination = nominate()
    login(w.partner_a)
    assert client.post(f"/placements/incoming/{nomination.id}/accept").status_code == 302
    assert nomination.status is NominationStatus.accepted
    assert "Nomination accepted: Ana Pérez Ruiz at Partner A" in subjects_to(w.coordinator)

    login(w.coordinator)
    response = client.post(f"/placements/nominations/{nomination.id}/cancel", data={"reason": "Wrong dates"})
    assert response.status_code == 302 and nomination.status is NominationStatus.cancelled
    assert "Nomination cancelled: Ana Pérez Ruiz" in subjects_to(w.partner_a)

    nomination = nominate()
    login(w.partner_a)
    response = client.post(f"/placements/incoming/{nomination.id}/reject", data={"reason": "No room"})
    assert response.status_code == 302 and nomination.status is NominationStatus.rejected
    assert "Nomination rejected: Ana Pérez Ruiz at Partner A" in subjects_to(w.coordinator)
    assert "Partner A has not accepted your nomination" in subjects_to(s1.student)
    for message in outbox.messages():
        assert not re.search(r"[\r\n\t]", str(message["Subject"])), message["Subject"]


def test_a_decision_is_mailed_only_once_it_is_committed(db, client, login, nominated, monkeypatch):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from exchange.core import mail
    w = nominated
    n = w.nomination
    login(w.partner_a)
    steps = []
    build = mail.build

    def building(message):  # what another connection sees when the mail is written
        with db.engine.connect() as conn:
            status = conn.execute(select(Nomination.status).where(Nomination.id == n.id)).scalar_one()
        steps.append(("mail", message.to[0], NominationStatus(status)))
        return build(message)

    def committing(_session):
        steps.append("commit")
    monkeypatch.setattr(mail, "build", building)
    event.listen(Session, "before_commit", committing)
    try:
        assert client.post(f"/placements/incoming/{n.id}/accept").status_code == 302
    finally:
        event.remove(Session, "before_commit", committing)
    mails = [step for step in steps if step != "commit"]
    assert {to for _mail, to, _status in mails} == {w.apps[0].student.email, w.coordinator.email}
    assert steps[-len(mails) - 1:] == ["commit", *mails]  # written after the request's last commit, the decision's
    assert all(status is NominationStatus.accepted for _mail, _to, status in mails)


def test_a_rolled_back_decision_sends_no_mail(db, nominated, outbox):
    w = nominated
    n = w.nomination
    nominations.decide_nomination(n, True, by=w.partner_a)
    db.session.rollback()
    assert n.status is NominationStatus.nominated and len(outbox) == 0
    db.session.commit()
    assert len(outbox) == 0  # dropped with the work, not sent with the next commit


def test_a_decision_whose_mail_cannot_be_sent_is_kept_and_shown_to_staff(app, db, client, login, nominated,
                                                                         make_user, monkeypatch, caplog):
    import logging

    from exchange.core.audit import AuditEvent
    from tests.fixtures.network import free_port
    w = nominated
    n = w.nomination
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there: every message is refused
    login(w.partner_a)
    with caplog.at_level(logging.ERROR, logger="exchange.core.mail"):
        response = client.post(f"/placements/incoming/{n.id}/reject", data={"reason": "No room"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Nomination, n.id).status is NominationStatus.rejected  # committed all the same
    assert "Could not send" in caplog.text
    failures = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail_failed")).all()
    assert sorted(f.detail.split(":")[0] for f in failures) == sorted([w.apps[0].student.email, w.coordinator.email])
    assert {f.user_id for f in failures} == {w.partner_a.id}
    login(make_user(Role.admin))
    page = body(client.get("/admin/audit?action=mail_failed"))
    assert w.coordinator.email in page and "Nomination rejected: Student 1 at Partner A" in page


# --- Bad input --------------------------------------------------------------------------------------

def test_publish_form_errors_keep_the_value(db, client, login, placing):
    w = placing()
    login(w.coordinator)
    client.post(f"/placements/calls/{w.call.id}/runs")
    run = db.session.scalar(select(MatchingRun))
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": ""})
    assert response.status_code == 422 and "This field is required." in body(response)
    past = local(utcnow() - timedelta(days=1))
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": past})
    assert response.status_code == 422 and "at least an hour" in body(response) and past in body(response)
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": "tomorrow<script>"})
    assert response.status_code == 422 and "<script>" not in body(response)
    assert run.status is RunStatus.draft


def test_move_form_errors(db, client, login, placing):
    w = placing()
    login(w.coordinator)
    client.post(f"/placements/calls/{w.call.id}/runs")
    run = db.session.scalar(select(MatchingRun))
    row = db.session.scalar(select(RunPlacement).where(RunPlacement.application_id == w.apps[0].id))
    url = f"/placements/runs/{run.id}/placements/{row.id}/move"
    response = client.post(url, data={"place": str(w.places[1].id), "reason": ""})
    assert response.status_code == 422 and "This field is required." in body(response)
    long = "x" * 10000
    response = client.post(url, data={"place": str(w.places[1].id), "reason": long})
    assert response.status_code == 422 and "at most 1000" in body(response)
    response = client.post(url, data={"place": "424242", "reason": "why"})
    assert response.status_code == 422 and "Choose a value from the list." in body(response)
    response = client.post(url, data={"place": str(w.places[0].id), "reason": "<script>alert(1)</script>"})
    assert response.status_code == 422 and "already there" in body(response)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body(response)
    other = placing(scores=(50,))
    other_row = runs.run_matching(other.call, by=w.coordinator)
    db.session.commit()
    foreign = db.session.scalar(select(RunPlacement).where(RunPlacement.run_id == other_row.id))
    assert client.get(f"/placements/runs/{run.id}/placements/{foreign.id}/move").status_code == 404


def test_respond_needs_a_known_answer_and_documents(db, client, login, nominated):
    w = nominated
    s2 = w.apps[1]
    login(s2.student)
    response = client.post(f"/placements/my/{s2.id}/respond", data={"answer": "maybe"})
    assert response.status_code == 422 and "Choose whether you accept or decline" in body(response)
    response = client.post(f"/placements/my/{s2.id}/respond", data={"answer": "accept", "documents": ["passport"]})
    assert response.status_code == 422
    assert s2.status is S.placed
    offer = db.session.scalar(select(Offer).where(Offer.application_id == s2.id))
    offer.deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = body(client.get(f"/placements/my/{s2.id}"))  # expires it lazily
    assert "has expired" in page or "without an answer" in page
    assert offer.status is OfferStatus.expired and s2.status is S.declined


def test_reject_needs_a_reason(db, client, login, nominated):
    w = nominated
    n = w.nomination
    login(w.partner_a)
    response = client.post(f"/placements/incoming/{n.id}/reject", data={"reason": ""})
    assert response.status_code == 422 and "This field is required." in body(response)
    response = client.post(f"/placements/incoming/{n.id}/reject", data={"reason": "y" * 10000})
    assert response.status_code == 422
    response = client.post(f"/placements/incoming/{n.id}/reject", data={"reason": "Full <script>x</script>"})
    assert response.status_code == 302 and n.status is NominationStatus.rejected
    assert response.headers["Location"].endswith("/placements/incoming")  # the rejected student is gone for them
    assert client.post(f"/placements/incoming/{n.id}/accept").status_code == 404
    login(w.coordinator)
    page = body(client.get(f"/placements/calls/{w.call.id}/nominations"))
    assert "Full &lt;script&gt;x&lt;/script&gt;" in page


def test_incoming_filters(db, client, login, nominated):
    w = nominated
    login(w.partner_a)
    year = w.call.academic_year
    assert "Student 1" in body(client.get(f"/placements/incoming?year={year}&status=nominated"))
    assert "Student 1" not in body(client.get("/placements/incoming?status=accepted"))
    response = client.get("/placements/incoming?status=cancelled")
    assert response.status_code == 422
    assert client.get("/placements/incoming?year=1999").status_code == 422
    assert client.get("/placements/incoming.csv?status=<script>").status_code == 422


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil","open")', "+1", "-1", "@x", "\t=1+1"])
def test_incoming_csv_has_no_formulas(db, client, login, nominated, name):
    """The partner's file of incoming students: a student's name (theirs to type) a spreadsheet would run as a
    formula is written with a leading apostrophe."""
    import csv
    import io
    w = nominated
    w.apps[0].full_name = name
    w.apps[0].student.email = "-nominee@example.test"
    db.session.commit()
    login(w.partner_a)
    text = body(client.get("/placements/incoming.csv")).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text)))
    assert row[0] == "'" + name and row[1] == "'-nominee@example.test"


def test_incoming_links_carry_the_filters_only(db, client, login, nominated):
    """Other query arguments reached url_for in the page's links (_scheme: a 500)."""
    w = nominated
    login(w.partner_a)
    year = w.call.academic_year
    response = client.get(f"/placements/incoming?year={year}&_scheme=javascript&_external=1&_anchor=x&page=3")
    page = body(response)
    assert response.status_code == 200
    assert f'href="/placements/incoming.csv?year={year}"' in page
    assert f'href="/placements/incoming?status=nominated&amp;year={year}"' in page


def test_a_place_filter_past_the_ids_shows_every_placement(db, client, login, nominated):
    """?place= took any integer: 99999999999999999999 failed in the database (a 500)."""
    login(nominated.coordinator)
    for place in ("99999999999999999999", "²", "x"):
        response = client.get(f"/placements/runs/{nominated.run.id}?tab=placed&place={place}")
        assert response.status_code == 200 and "Student 1" in body(response)


def test_nominate_one_form(db, client, login, nominated, make_user):
    w = nominated
    offers.respond_to_offer(db.session.scalar(select(Offer).where(Offer.application_id == w.apps[1].id)), True,
                            by=w.apps[1].student, notify=False)
    db.session.commit()
    login(w.coordinator)
    url = f"/placements/applications/{w.apps[1].id}/nominate"
    page = body(client.get(url))
    assert f"{w.call.academic_year}-09-01" in page
    response = client.post(url, data={"planned_arrival": f"{w.call.academic_year}-09-01",
                                      "planned_departure": f"{w.call.academic_year}-08-01"})
    assert response.status_code == 422 and "after the arrival" in body(response)
    response = client.post(url, data={"planned_arrival": "not a date", "planned_departure": ""})
    assert response.status_code == 422
    response = client.post(url, data={"planned_arrival": f"{w.call.academic_year - 3}-09-01",
                                      "planned_departure": f"{w.call.academic_year - 3}-12-01"})
    assert response.status_code == 422 and "must fall in" in body(response)
    response = client.post(url, data={"planned_arrival": f"{w.call.academic_year}-09-15",
                                      "planned_departure": f"{w.call.academic_year + 1}-01-31"})
    assert response.status_code == 302
    # Cancel with a reason.
    nomination = nominations.active_nomination(w.apps[1])
    cancel = f"/placements/nominations/{nomination.id}/cancel"
    assert client.post(cancel, data={"reason": ""}).status_code == 422
    assert client.post(cancel, data={"reason": "Wrong dates"}).status_code == 302
    assert nomination.status is NominationStatus.cancelled
    assert client.post(cancel, data={"reason": "again"}).status_code == 409


def test_factsheet_edit_and_view(db, client, login, nominated, make_user):
    w = nominated
    login(w.partner_a)
    assert client.get("/placements/factsheet").status_code == 200
    bad = {"contact_email": "not-an-email", "housing_url": "javascript://x.example/%0aalert(1)",
           "course_catalogue_url": "ftp://x.example/c", "language_requirements": "z" * 10000,
           "nomination_deadline_spring": "31/31/2027", "visa_info": "<script>alert(1)</script>"}
    response = client.post("/placements/factsheet", data=bad)
    page = body(response)
    assert response.status_code == 422
    assert page.count("https://") >= 2 and "valid email address" in page and "at most 3000" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)</script>" not in page
    assert db.session.scalar(select(PartnerFactsheet)) is None
    good = {"contact_email": "incoming@a.example", "housing_url": "https://housing.a.example",
            "nomination_deadline_spring": f"{w.call.academic_year + 1}-10-15",
            "language_requirements": "Italian B1 <b>recommended</b>"}
    response = client.post("/placements/factsheet", data=good)
    assert response.status_code == 302
    sheet = db.session.scalar(select(PartnerFactsheet))
    assert sheet.institution_id == w.places[0].partner.id and sheet.updated_by_id == w.partner_a.id
    # Students see it from the call's destinations.
    login(w.apps[2].student)
    page = body(client.get(f"/placements/calls/{w.call.id}/destinations"))
    assert f"/placements/partners/{w.places[0].partner.id}" in page and "Factsheet" in page
    page = body(client.get(f"/placements/partners/{w.places[0].partner.id}"))
    assert "incoming@a.example" in page and "Italian B1 &lt;b&gt;recommended&lt;/b&gt;" in page
    assert "Edit the factsheet" not in page
    # Coordinators may edit any partner's factsheet; partners only their own.
    login(w.coordinator)
    url = f"/placements/partners/{w.places[1].partner.id}/factsheet"
    assert client.post(url, data={"other_requirements": "Learning agreement first"}).status_code == 302
    login(w.partner_a)
    assert client.post(url, data={"other_requirements": "x"}).status_code == 403


def test_panels_and_navigation(db, client, login, nominated):
    w = nominated
    login(w.coordinator)
    page = body(client.get("/"))
    assert "Matching" in page
    login(w.partner_a)
    page = body(client.get("/"))
    assert "Incoming students" in page and "Factsheet" in page and "1 nomination waits" in page
    login(w.apps[1].student)
    page = body(client.get("/"))
    assert "You are offered a place" in page and re.search(r"Answer by", page)


def test_staff_panel_lists_runs_awaiting_publication(db, client, login, placing):
    w = placing()
    runs.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    login(w.coordinator)
    page = body(client.get("/"))
    assert "Runs awaiting publication" in page
    page = body(client.get("/placements/"))
    assert w.call.title in page and "Runs awaiting publication" in page


def test_expire_offers_command(app, db, nominated):
    w = nominated
    offer = db.session.scalar(select(Offer).where(Offer.application_id == w.apps[1].id))
    offer.deadline = utcnow() - timedelta(hours=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["placements", "expire-offers"])
    assert result.exit_code == 0 and "1 offers expired" in result.output
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status is OfferStatus.expired


# --- Publishing a run: a job, on a worker when there is Redis ----------------------------------------------

def test_without_redis_the_publication_runs_at_once(db, client, login, placing, outbox):
    from exchange.jobs.models import Job, JobStatus
    w = placing(scores=(90, 80, 70))
    run = runs.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    login(w.coordinator)
    too_soon = local(utcnow() + timedelta(minutes=30))
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": too_soon})
    assert response.status_code == 422 and "at least an hour" in body(response)
    assert db.session.scalar(select(Job)) is None and run.status is RunStatus.draft
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": local(deadline(4))})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/placements/calls/{w.call.id}")
    assert "2 students have been offered a place" in body(client.get(response.headers["Location"]))
    job = db.session.scalar(select(Job))
    assert job.status is JobStatus.finished and job.kind == "placements.publish" and job.result["offers"] == 2
    assert (job.done, job.total) == (6, 6) and f"Run {run.id}" in job.title
    db.session.expire_all()
    assert run.status is RunStatus.published
    assert [a.status for a in w.apps] == [S.placed, S.placed, S.waitlisted]
    assert len(outbox.messages()) == 3
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": local(deadline(4))})
    assert response.status_code == 409 and db.session.scalar(select(func.count()).select_from(Job)) == 1


def test_with_redis_the_publication_waits_for_a_worker(app, db, client, login, placing, outbox, redis_queue):
    from rq import SimpleWorker

    from exchange.jobs import services as job_services
    from exchange.jobs.models import Job, JobStatus
    w = placing(scores=(90, 80, 70))
    run = runs.run_matching(w.call, by=w.coordinator)
    db.session.commit()
    login(w.coordinator)
    response = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": local(deadline(4))})
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job = db.session.scalar(select(Job))
    assert job.status is JobStatus.queued
    assert "Waiting for a worker" in body(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert run.status is RunStatus.draft and [a.status for a in w.apps] == [S.eligible] * 3
    assert not outbox.messages()
    # While it waits, the run's page says so instead of offering to publish it again, and a second try is sent
    # to the job.
    page = body(client.get(f"/placements/runs/{run.id}"))
    assert "This run is being published" in page and f'href="/jobs/{job.id}"' in page
    assert "Publish and send the offers" not in page
    again = client.post(f"/placements/runs/{run.id}/publish", data={"deadline": local(deadline(4))})
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/jobs/{job.id}")
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1

    SimpleWorker([job_services.queue()], connection=job_services.redis_connection()).work(burst=True)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status is JobStatus.finished, job.error
    assert (job.done, job.total) == (6, 6) and job.result["offers"] == 2
    page = body(client.get(f"/jobs/{job.id}"))
    assert "2 students have been offered a place" in page and f'href="/placements/calls/{w.call.id}"' in page
    assert run.status is RunStatus.published and [a.status for a in w.apps] == [S.placed, S.placed, S.waitlisted]
    assert len(outbox.messages()) == 3
    assert "This run is being published" not in body(client.get(f"/placements/runs/{run.id}"))


# --- A matching run of a large call: a job when there is Redis ------------------------------------------------

def test_with_redis_a_large_call_is_placed_by_a_worker(app, db, client, login, placing, redis_queue, monkeypatch):
    from rq import SimpleWorker

    from exchange.jobs import services as job_services
    from exchange.jobs.models import Job, JobStatus
    from exchange.placements.models import MatchingRun
    w = placing(scores=(90, 80, 70))
    login(w.coordinator)
    monkeypatch.setitem(app.config, "MATCHING_INLINE_LIMIT", 2)  # 3 eligible: "large"
    response = client.post(f"/placements/calls/{w.call.id}/runs")
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job = db.session.scalar(select(Job))
    assert job.status is JobStatus.queued and job.kind == "placements.run"
    assert "Waiting for a worker" in body(client.get(response.headers["Location"]))
    assert db.session.scalar(select(func.count()).select_from(MatchingRun)) == 0

    SimpleWorker([job_services.queue()], connection=job_services.redis_connection()).work(burst=True)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status is JobStatus.finished, job.error
    run = db.session.get(MatchingRun, job.result["run_id"])
    assert (job.done, job.total) == (3, 3) and run.call_id == w.call.id and run.placed_count == 2
    opened = client.get(f"/jobs/{job.id}")  # the job's page opens the run it made
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/placements/runs/{run.id}")
    assert "The run is ready" in body(client.get(opened.headers["Location"]))


def test_with_redis_a_small_call_is_still_placed_at_once(app, db, client, login, placing, redis_queue):
    from exchange.jobs.models import Job
    w = placing(scores=(90, 80, 70))
    login(w.coordinator)
    response = client.post(f"/placements/calls/{w.call.id}/runs")
    assert response.status_code == 302 and "/placements/runs/" in response.headers["Location"]
    assert db.session.scalar(select(Job)) is None


def test_a_refused_matching_job_says_why(app, db, client, login, placing, redis_queue, monkeypatch):
    from rq import SimpleWorker

    from exchange.jobs import services as job_services
    from exchange.jobs.models import Job, JobStatus
    w = placing(scores=(90, 80), statuses=[S.submitted, S.submitted])  # nobody eligible yet
    login(w.coordinator)
    monkeypatch.setitem(app.config, "MATCHING_INLINE_LIMIT", -1)
    location = client.post(f"/placements/calls/{w.call.id}/runs").headers["Location"]
    SimpleWorker([job_services.queue()], connection=job_services.redis_connection()).work(burst=True)
    db.session.expire_all()
    job = db.session.scalar(select(Job))
    assert job.status is JobStatus.failed
    page = body(client.get(location))
    assert "There are no eligible applications to place in this call." in page
    assert "This job failed" not in page
