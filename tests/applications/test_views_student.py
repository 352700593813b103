"""The public calls page and the student's pages: the step-by-step form, documents, submission, access."""
import io
import os
import re
from datetime import timedelta

import pytest

from exchange.applications import services
from exchange.applications.models import Application, DocumentKind
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.types import utcnow
from exchange.core.uploads import path_of
from tests.fixtures.applications import add_document
from tests.fixtures.files import JPEG, PDF, png_bytes
from tests.fixtures.mail import text_of


def upload(client, application, kind, data=PDF, name="file.pdf"):
    return client.post(f"/applications/{application.id}/documents/{kind}",
                       data={f"{kind}-file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


# --- Public calls page -------------------------------------------------------------------------

def test_public_calls_page_lists_open_calls_with_destinations(client, db, make_call_with_places, make_condition,
                                                              make_institution):
    bologna = make_institution(name="Università di Bologna", city="Bologna", country="IT")
    condition = make_condition("0413", languages=[("it", "B1"), ("en", "B2")], partner=bologna)
    make_call_with_places(title="Semester exchange 2027/28 — outgoing", conditions=[condition], seats=4)
    make_call_with_places(title="Old call", phase="closed")
    db.session.commit()
    response = client.get("/applications/calls")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Semester exchange 2027/28 — outgoing" in page and "Old call" not in page
    assert "Università di Bologna" in page and "0413 – Management and administration" in page
    assert "Italian B1" in page and "English B2" in page
    assert re.search(r'class="num">4</td>', page)  # seats for this call
    assert "Create a student account to apply" in page


def test_no_open_calls(client, db):
    assert "no open calls" in client.get("/applications/calls").get_data(as_text=True)


# --- From sign-up to a submitted application, through the pages -----------------------------------

def test_student_from_sign_up_to_submitted_application(client, db, make_call_with_places, outbox):
    call = make_call_with_places(required_documents=[DocumentKind.transcript, DocumentKind.language_certificate])
    db.session.commit()
    response = client.post("/auth/signup", data={"name": "Nora Vidal", "email": "nora@example.test",
                                                 "password": "long-enough-9", "confirm": "long-enough-9"})
    assert response.status_code == 302
    client.post("/auth/login", data={"email": "nora@example.test", "password": "long-enough-9"})
    response = client.post(f"/applications/calls/{call.id}/apply")
    assert response.status_code == 302 and "/edit/personal" in response.headers["Location"]
    application = db.session.scalar(db.select(Application))
    base = f"/applications/{application.id}/edit"

    assert client.post(f"{base}/personal", data={
        "full_name": "Nora Vidal", "date_of_birth": "2004-02-29", "nationality": "ES",
        "student_number": "UV-2024/001", "go": "next"}).headers["Location"].endswith("/edit/study")
    assert client.post(f"{base}/study", data={
        "study_programme": "Software Engineering", "isced_code": "0613", "eqf_level": "6", "year_of_study": "3",
        "gpa": "3.4", "gpa_scale": "0-4", "go": "next"}).status_code == 302
    assert client.post(f"{base}/languages", data={
        "languages-0-language": "en", "languages-0-level": "C1", "languages-0-certificate": "IELTS 7.5",
        "languages-1-language": "es", "languages-1-level": "C2", "go": "next"}).status_code == 302
    assert client.post(f"{base}/motivation", data={
        "motivation": "I want to learn " + "and grow " * 20, "support_needs": "", "go": "next"}).status_code == 302
    page = client.get(f"{base}/destinations").get_data(as_text=True)
    place_ids = re.findall(r'<option value="(\d+)"', page)
    eligible = [p for p in services.load_places(call) if not services.eligibility_reasons(application, p)]
    assert str(eligible[0].id) in place_ids
    assert client.post(f"{base}/destinations", data={"rank_1": str(eligible[0].id), "rank_2": "",
                                                     "rank_3": "", "go": "next"}).status_code == 302
    assert upload(client, application, "transcript", PDF, "transcript.pdf").status_code == 302
    assert upload(client, application, "language_certificate", png_bytes(), "ielts.png").status_code == 302

    review = client.get(f"{base}/review").get_data(as_text=True)
    assert "Your application is complete and can be submitted." in review
    response = client.post(f"/applications/{application.id}/submit")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status is S.submitted
    assert application.gpa_normalised == 8.5
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Submitted" in detail and "will start reviewing" in detail
    assert outbox.last()["To"] == "nora@example.test"
    assert f"/applications/{application.id}" in text_of(outbox.last())


def test_saving_a_step_keeps_a_draft_and_the_progress_shows_what_is_missing(client, db, login, make_call_with_places):
    call = make_call_with_places()
    student = login(Role.student)
    application = services.start_application(call, student)
    db.session.commit()
    response = client.post(f"/applications/{application.id}/edit/personal",
                           data={"full_name": "Half Done", "go": "stay"})
    assert response.headers["Location"].endswith("/edit/personal")
    page = client.get(f"/applications/{application.id}/edit/personal").get_data(as_text=True)
    assert "Still missing here: Date of birth, Nationality, Student number" in page
    assert "0% complete" in page
    dashboard = client.get("/applications/").get_data(as_text=True)
    assert "Draft" in dashboard and "Still missing:" in dashboard and call.title in dashboard


# --- Bad input -----------------------------------------------------------------------------

@pytest.fixture
def draft(db, login, make_call_with_places, make_application):
    student = login(Role.student)
    application = make_application(student=student, call=make_call_with_places())
    db.session.commit()
    return application


UNKNOWN_CODE = "Choose a value from the list"  # a select cannot show an unknown value: only the message


@pytest.mark.parametrize(("step", "data", "message"), [
    ("personal", {"date_of_birth": "31/02/2004"}, "Not a valid date"),
    ("personal", {"date_of_birth": "1890-01-01"}, "check the date of birth"),
    ("personal", {"nationality": "XX"}, "Choose a value from the list"),
    ("personal", {"student_number": "has spaces in it"}, "letters, digits"),
    ("personal", {"full_name": "x" * 10000}, "at most 120 characters"),
    ("study", {"gpa": "4.5", "gpa_scale": "0-4"}, "outside the scale"),
    ("study", {"gpa": "7", "gpa_scale": ""}, "Choose the grading scale"),
    ("study", {"gpa": "seven"}, "Not a valid decimal"),
    ("study", {"isced_code": "1234"}, "Choose a value from the list"),
    ("study", {"eqf_level": "9"}, "Choose a value from the list"),
    ("study", {"year_of_study": "0"}, "from 1 to 10"),
    ("motivation", {"motivation": "x" * 10000}, "at most 4000 characters"),
    ("motivation", {"motivation": "bad \x00 byte"}, "control characters"),
    ("languages", {"languages-0-language": "en", "languages-0-level": "B2",
                   "languages-1-language": "en", "languages-1-level": "C1"}, "You listed this language twice"),
    ("languages", {"languages-0-language": "en"}, "Choose your level"),
    ("languages", {"languages-0-language": "zz", "languages-0-level": "B2"}, "Choose a value from the list"),
])
def test_bad_input_is_refused_beside_the_field_and_kept(client, draft, step, data, message):
    before = (draft.full_name, draft.gpa, draft.motivation, len(draft.languages))
    response = client.post(f"/applications/{draft.id}/edit/{step}", data={**data, "go": "next"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    if message != UNKNOWN_CODE:
        for value in data.values():
            if len(value) < 100 and "\x00" not in value:
                assert value in page  # what the student typed is still there
    db_app = services.find_application(draft.call, draft.student)
    assert (db_app.full_name, db_app.gpa, db_app.motivation, len(db_app.languages)) == before


def test_long_motivation_is_kept_when_refused(client, draft):
    text = "Lorem ipsum " * 400  # 4,800 characters
    response = client.post(f"/applications/{draft.id}/edit/motivation", data={"motivation": text})
    assert response.status_code == 422
    assert text.strip() in response.get_data(as_text=True)


def test_html_in_text_is_shown_escaped(client, draft):
    evil = "<script>alert('x')</script> " * 5
    assert client.post(f"/applications/{draft.id}/edit/motivation", data={"motivation": evil}).status_code == 302
    for url in (f"/applications/{draft.id}", f"/applications/{draft.id}/edit/motivation"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_duplicate_destinations_are_refused(client, draft):
    place = draft.choices[0].place_id
    response = client.post(f"/applications/{draft.id}/edit/destinations",
                           data={"rank_1": str(place), "rank_2": str(place)})
    assert response.status_code == 422
    assert "You already chose this destination as choice 1" in response.get_data(as_text=True)


def test_destination_from_another_call_is_refused(client, draft, make_call_with_places, db):
    other = services.load_places(make_call_with_places(title="Another call"))[0]
    db.session.commit()
    response = client.post(f"/applications/{draft.id}/edit/destinations", data={"rank_1": str(other.id)})
    assert response.status_code == 422
    assert "not offered by this call" in response.get_data(as_text=True)
    assert [c.place_id for c in services.find_application(draft.call, draft.student).choices] != [other.id]


def test_ineligible_choice_is_explained_and_cannot_be_submitted(client, draft):
    german = next(p for p in services.load_places(draft.call) if p.language_requirements == [("de", "B2")])
    response = client.post(f"/applications/{draft.id}/edit/destinations",
                           data={"rank_1": str(german.id), "go": "stay"})
    assert response.status_code == 302  # a draft may hold it…
    page = client.get(f"/applications/{draft.id}/edit/destinations").get_data(as_text=True)
    assert "Language: German at level B2 is required; you have not listed German." in page
    response = client.post(f"/applications/{draft.id}/submit")
    assert response.status_code == 422  # …but it cannot be submitted
    assert "German at level B2 is required" in response.get_data(as_text=True)


def test_incomplete_application_cannot_be_submitted(client, db, login, make_call_with_places):
    student = login(Role.student)
    application = services.start_application(make_call_with_places(), student)
    db.session.commit()
    response = client.post(f"/applications/{application.id}/submit")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Missing: Date of birth." in page and "Missing: Transcript of records." in page
    assert services.find_application(application.call, student).status is S.draft


def test_deadline_passed(client, draft, db):
    draft.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.post(f"/applications/{draft.id}/submit")
    assert response.status_code == 422 and "The deadline has passed" in response.get_data(as_text=True)
    response = client.post(f"/applications/{draft.id}/edit/personal", data={"full_name": "Too late"})
    assert response.status_code == 422 and "The deadline has passed" in response.get_data(as_text=True)
    assert client.get(f"/applications/{draft.id}/edit/review").status_code == 200  # still readable


def test_applying_to_a_closed_call_or_twice_is_refused(client, db, login, make_call_with_places):
    student = login(Role.student)
    closed = make_call_with_places(phase="closed", title="Closed call")
    open_call = make_call_with_places(title="Open call")
    db.session.commit()
    response = client.post(f"/applications/calls/{closed.id}/apply")
    assert response.status_code == 422 and "closed on" in response.get_data(as_text=True)
    assert client.post(f"/applications/calls/{open_call.id}/apply").status_code == 302
    response = client.post(f"/applications/calls/{open_call.id}/apply")
    assert response.status_code == 409
    assert "already have an application for this call" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Application.id))) == 1


# --- Documents ----------------------------------------------------------------------------

def test_upload_replace_delete_and_download(client, db, login, make_call_with_places):
    student = login(Role.student)
    application = services.start_application(make_call_with_places(), student)
    db.session.commit()
    assert upload(client, application, "cv", JPEG, "cv.jpg").status_code == 302
    document = services.find_application(application.call, student).document(DocumentKind.cv)
    response = client.get(f"/applications/{application.id}/documents/{document.id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    response = client.get(f"/applications/{application.id}/documents/{document.id}?download=1")
    assert "attachment" in response.headers["Content-Disposition"]
    old_name = document.stored_name
    assert upload(client, application, "cv", PDF, "cv.pdf").status_code == 302
    replaced = services.find_application(application.call, student).document(DocumentKind.cv)
    assert replaced.stored_name != old_name and replaced.mimetype == "application/pdf"
    assert not os.path.exists(path_of(old_name))
    assert client.get(f"/applications/{application.id}/documents/{replaced.id}").mimetype == "application/pdf"
    assert client.post(f"/applications/{application.id}/documents/{replaced.id}/delete").status_code == 302
    assert services.find_application(application.call, student).document(DocumentKind.cv) is None


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    (b"This is plain text pretending to be a PDF", "transcript.pdf", 415, "not a real PDF"),
    (b"MZ\x90\x00\x03" + b"\x00" * 100, "transcript.pdf", 415, "not a real PDF"),
    (b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10), "big.pdf", 413, "too large"),
    (b"", "empty.pdf", 422, "The file is empty"),
])
def test_bad_uploads_are_refused_with_a_message(client, draft, data, name, status, message):
    response = upload(client, draft, "cv", data, name)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert services.find_application(draft.call, draft.student).document(DocumentKind.cv).original_name == "cv.pdf"


@pytest.mark.parametrize(("name", "cleaned"), [
    ("../../etc/passwd.pdf", "passwd.pdf"), ("<script>alert(1)</script>.pdf", "script.pdf"),
    ("<img src=x onerror=alert(1)>.pdf", "img src=x onerror=alert(1).pdf"), ("a\x00b\x1b[31m.pdf", "ab[31m.pdf"),
    ("pipes | and ? marks*.pdf", "pipes  and  marks.pdf"), ("../", "file"), ("x" * 300 + ".pdf", "x" * 200),
])
def test_the_name_of_an_upload_is_kept_cleaned(client, draft, name, cleaned):
    """The name a browser sends is the student's to choose: no folders, control characters or markup reach the
    document, its page or the name a download is offered under (core.uploads.clean_filename)."""
    assert upload(client, draft, "cv", PDF, name).status_code == 302
    document = services.find_application(draft.call, draft.student).document(DocumentKind.cv)
    assert document.original_name == cleaned
    download = client.get(f"/applications/{draft.id}/documents/{document.id}?download=1")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert "/" not in disposition and "\\" not in disposition and "<" not in disposition and "\x00" not in disposition


def test_request_larger_than_the_site_limit(client, draft, app):
    data = b"%PDF-1.4\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert upload(client, draft, "cv", data, "huge.pdf").status_code == 413


def test_unknown_document_kind(client, draft):
    assert upload(client, draft, "passport-photo", PDF).status_code == 404
    response = upload(client, draft, "recommendation", PDF)
    assert response.status_code == 422 and "does not ask for this document" in response.get_data(as_text=True)


# --- Read-only after submission, withdrawal, answering an offer --------------------------------

def test_submitted_application_is_read_only(client, db, login, make_application):
    student = login(Role.student)
    application = make_application(student=student, status=S.submitted)
    db.session.commit()
    response = client.get(f"/applications/{application.id}/edit/personal")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/applications/{application.id}")
    response = client.post(f"/applications/{application.id}/edit/personal", data={"full_name": "Changed"})
    assert response.status_code == 422 and "can no longer be changed" in response.get_data(as_text=True)
    assert upload(client, application, "cv", PDF).status_code == 422
    document = application.documents[0]
    assert client.post(f"/applications/{application.id}/documents/{document.id}/delete").status_code == 422
    assert services.find_application(application.call, student).full_name != "Changed"


def test_changes_requested_can_be_edited_and_sent_again(client, db, login, make_application):
    student = login(Role.student)
    application = make_application(student=student, status=S.changes_requested)
    db.session.commit()
    page = client.get(f"/applications/{application.id}/edit/review").get_data(as_text=True)
    assert "Submit again" in page
    assert client.post(f"/applications/{application.id}/edit/personal",
                       data={"full_name": "Fixed Name", "date_of_birth": "2004-05-17", "nationality": "ES",
                             "student_number": "S000123"}).status_code == 302
    assert client.post(f"/applications/{application.id}/submit").status_code == 302
    assert services.find_application(application.call, student).status is S.submitted


def test_withdraw(client, db, login, make_application, outbox):
    student = login(Role.student)
    application = make_application(student=student, status=S.under_review)
    db.session.commit()
    response = client.post(f"/applications/{application.id}/withdraw", data={"comment": "Found an internship"})
    assert response.status_code == 302
    application = services.find_application(application.call, student)
    assert application.status is S.withdrawn and application.history[-1].comment == "Found an internship"
    assert "Withdrawn" in outbox.last()["Subject"]
    response = client.post(f"/applications/{application.id}/withdraw", data={})
    assert response.status_code == 422  # already withdrawn


def test_apply_again_after_withdrawing_while_the_call_is_open(client, db, login, make_application,
                                                              make_call_with_places, outbox):
    from datetime import timedelta

    from exchange.core.types import utcnow
    student = login(Role.student)
    call = make_call_with_places(opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=20))
    application = make_application(student=student, call=call, status=S.submitted, student_number="S-KEPT-1")
    db.session.commit()
    assert client.post(f"/applications/{application.id}/withdraw", data={"comment": "Changed my mind"}).status_code == 302
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Apply again" in detail
    assert "Apply again" in client.get("/applications/calls").get_data(as_text=True)
    sent = len(outbox)

    response = client.post(f"/applications/calls/{call.id}/apply", follow_redirects=True)
    assert response.status_code == 200
    assert "Your application is a draft again" in response.get_data(as_text=True)
    again = services.find_application(call, student)
    assert again.id == application.id and again.status is S.draft
    assert again.student_number == "S-KEPT-1"  # what the student had filled in
    assert again.submitted_at is None
    assert [change.to_status for change in again.history][-3:] == [S.submitted, S.withdrawn, S.draft]
    assert len(outbox) == sent  # the student is on the page: no e-mail for it
    assert "Apply again" not in client.get(f"/applications/{application.id}").get_data(as_text=True)
    # ... and it can be sent in again.
    assert client.post(f"/applications/{application.id}/submit").status_code == 302
    sent_in = services.find_application(call, student)
    assert sent_in.status is S.submitted and sent_in.submitted_at is not None


def test_no_applying_again_once_the_call_has_closed(client, db, login, make_application):
    from datetime import timedelta

    from exchange.core.types import utcnow
    student = login(Role.student)
    application = make_application(student=student, status=S.under_review)
    services.withdraw_application(application, by=student)
    application.call.closes_at = utcnow() - timedelta(days=1)
    db.session.commit()
    assert "Apply again" not in client.get(f"/applications/{application.id}").get_data(as_text=True)
    response = client.post(f"/applications/calls/{application.call_id}/apply")
    assert response.status_code == 422
    assert "This call closed on" in response.get_data(as_text=True)
    assert services.find_application(application.call, student).status is S.withdrawn


def test_applying_twice_is_still_refused(client, db, login, make_call_with_places, make_application):
    from datetime import timedelta

    from exchange.core.types import utcnow
    student = login(Role.student)
    call = make_call_with_places(opens_at=utcnow() - timedelta(days=5), closes_at=utcnow() + timedelta(days=20))
    make_application(student=student, call=call)
    db.session.commit()
    response = client.post(f"/applications/calls/{call.id}/apply")
    assert response.status_code == 409
    assert "You already have an application for this call" in response.get_data(as_text=True)


def test_dashboard_shows_status_next_step_and_messages(client, db, login, make_application, coordinator):
    student = login(Role.student)
    application = make_application(student=student, status=S.under_review)
    services.transition(application, S.changes_requested, by=coordinator, comment="Upload your full transcript.",
                        notify=False)
    services.add_comment(application, coordinator, "Internal: check the GPA", internal=True)
    db.session.commit()
    page = client.get("/applications/").get_data(as_text=True)
    assert "Changes requested" in page and "update your application and submit it again" in page
    assert "Upload your full transcript." in page
    assert "Internal: check the GPA" not in page
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Upload your full transcript." in detail and "Internal: check the GPA" not in detail
    home = client.get("/").get_data(as_text=True)
    assert "Your applications" in home and application.call.title in home


# --- Access: nobody sees another student's application -------------------------------------------

def other_students_urls(application, document):
    a, d = application.id, document.id
    return [("get", f"/applications/{a}"), ("get", f"/applications/{a}/edit/personal"),
            ("get", f"/applications/{a}/edit/review"), ("post", f"/applications/{a}/edit/personal"),
            ("post", f"/applications/{a}/documents/cv"), ("post", f"/applications/{a}/documents/{d}/delete"),
            ("get", f"/applications/{a}/documents/{d}"), ("get", f"/applications/{a}/documents/{d}?download=1"),
            ("post", f"/applications/{a}/submit"), ("post", f"/applications/{a}/withdraw")]


def test_a_student_can_never_reach_another_students_application(client, db, auth, applications_world):
    document = applications_world.bob_app.documents[0]
    auth.login(applications_world.alice)
    for method, url in other_students_urls(applications_world.bob_app, document):
        response = getattr(client, method)(url, data={"full_name": "Hacked", "answer": "accept"})
        assert response.status_code == 404, (method, url)
    # Guessing ids: the next ids do not exist at all, and answer the same.
    assert client.get(f"/applications/{applications_world.bob_app.id + 100}").status_code == 404
    # Alice's own document id with Bob's application id does not work either.
    own = applications_world.alice_app.documents[0]
    assert client.get(f"/applications/{applications_world.bob_app.id}/documents/{own.id}").status_code == 404
    bob = services.find_application(applications_world.call, applications_world.bob)
    assert bob.full_name != "Hacked" and bob.status is S.draft and len(bob.documents) == 2


def test_partner_sees_documents_only_after_nomination(client, db, auth, applications_world, make_user):
    application = applications_world.bob_app
    document = application.documents[0]
    place = application.choices[0].place
    partner = make_user(Role.partner, institution_id=place.partner.id)
    db.session.commit()
    auth.login(partner)
    url = f"/applications/{application.id}/documents/{document.id}"
    assert client.get(url).status_code == 404
    assert client.get(f"/applications/{application.id}").status_code == 404
    from tests.fixtures.applications import walk
    walk(application, S.placed, staff=applications_world.coordinator)
    db.session.commit()
    assert client.get(url).status_code == 404  # placed, not yet nominated
    services.mark_nominated(application)
    application.support_needs = "Confidential support request"
    db.session.commit()
    assert client.get(url).status_code == 200
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert application.full_name in page
    assert "Confidential support request" not in page  # coordinators only
    auth.login(applications_world.partner)  # a partner of another institution
    assert client.get(url).status_code == 404


def test_staff_may_download_any_document(client, db, auth, applications_world):
    document = applications_world.bob_app.documents[0]
    auth.login(applications_world.coordinator)
    assert client.get(f"/applications/{applications_world.bob_app.id}/documents/{document.id}").status_code == 200
    # The application page redirects staff to the review page.
    assert client.get(f"/applications/{applications_world.bob_app.id}").headers["Location"].endswith(
        f"/applications/manage/applications/{applications_world.bob_app.id}")


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/applications/"), ("get", "/applications/1"), ("get", "/applications/1/edit/personal"),
    ("post", "/applications/calls/1/apply"), ("post", "/applications/1/submit"),
    ("get", "/applications/1/documents/1"), ("post", "/applications/1/withdraw"),
])
def test_anonymous_is_sent_to_login(client, db, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.coordinator, Role.admin, Role.partner])
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/applications/1/edit/personal"), ("post", "/applications/1/edit/personal"),
    ("post", "/applications/calls/1/apply"), ("post", "/applications/1/submit"),
    ("post", "/applications/1/withdraw"), ("post", "/applications/1/documents/cv"),
])
def test_student_pages_are_for_students(client, db, login, role, method, url):
    login(role)
    assert getattr(client, method)(url).status_code == 403


def test_partner_has_no_applications_dashboard(client, db, login):
    login(Role.partner)
    assert client.get("/applications/").status_code == 403


def test_unknown_step_is_404(client, draft):
    assert client.get(f"/applications/{draft.id}/edit/payment").status_code == 404


def test_post_without_csrf_token_is_rejected(app, client, draft):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/applications/{draft.id}/submit")
        assert response.status_code == 400
        response = client.post(f"/applications/{draft.id}/edit/personal", data={"full_name": "No token"})
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert services.find_application(draft.call, draft.student).status is S.draft


def test_document_of_a_draft_shown_on_review_step(client, draft, db):
    add_document(draft, DocumentKind.language_certificate)  # not required: not listed
    db.session.commit()
    page = client.get(f"/applications/{draft.id}/edit/documents").get_data(as_text=True)
    assert "Transcript of records" in page and "CV" in page and "Language certificate" not in page


def test_placements_can_narrow_the_documents_a_partner_sees(client, db, auth, applications_world, make_user):
    from exchange import signals
    from tests.fixtures.applications import walk
    application = applications_world.bob_app
    transcript, cv = application.documents
    place = application.choices[0].place
    partner = make_user(Role.partner, institution_id=place.partner.id)
    walk(application, S.placed, staff=applications_world.coordinator)
    services.mark_nominated(application)
    db.session.commit()
    auth.login(partner)
    def transcripts_only(document, **kwargs):
        return document.kind is DocumentKind.transcript
    with signals.partner_document_access.connected_to(transcripts_only):
        assert client.get(f"/applications/{application.id}/documents/{transcript.id}").status_code == 200
        assert client.get(f"/applications/{application.id}/documents/{cv.id}").status_code == 404
    services.clear_nomination(application)
    db.session.commit()
    assert client.get(f"/applications/{application.id}/documents/{transcript.id}").status_code == 404
