"""Coordinators' pages: calls and places, the pipeline, the review page, decisions, conflicts, exports."""
import csv
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from exchange.applications import services
from exchange.applications.models import Application, Call, CallPlace
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.extensions import db as _db
from tests.fixtures.mail import text_of

STAFF_GETS = ["/applications/manage", "/applications/manage/calls/new", "/applications/manage/calls/{call}/edit",
              "/applications/manage/calls/{call}/places", "/applications/manage/calls/{call}",
              "/applications/manage/calls/{call}/export.csv", "/applications/manage/calls/{call}/export.xlsx",
              "/applications/manage/applications/{app}"]
STAFF_POSTS = ["/applications/manage/calls/new", "/applications/manage/calls/{call}/edit",
               "/applications/manage/calls/{call}/places", "/applications/manage/calls/{call}/bulk",
               "/applications/manage/applications/{app}/decision", "/applications/manage/applications/{app}/scores",
               "/applications/manage/applications/{app}/comments",
               "/applications/manage/applications/{app}/reviewers",
               "/applications/manage/applications/{app}/reviewers/{review}/remove"]


@pytest.fixture
def reviewed(db, applications_world, coordinator):
    """Bob's application submitted, Alice's under review with a score from the coordinator."""
    services.submit_application(applications_world.bob_app, by=applications_world.bob)
    services.submit_application(applications_world.alice_app, by=applications_world.alice)
    services.transition(applications_world.alice_app, S.under_review, by=coordinator, notify=False)
    services.save_scores(applications_world.alice_app, coordinator, {c.id: 7 for c in applications_world.call.criteria})
    db.session.commit()
    return applications_world


def fill(template, world):
    review = world.alice_app.reviews[0].id if world.alice_app.reviews else 1
    return template.format(call=world.call.id, app=world.alice_app.id, review=review)


# --- Access matrix -----------------------------------------------------------------------------

@pytest.mark.parametrize("template", STAFF_GETS + STAFF_POSTS)
def test_anonymous_goes_to_login(client, reviewed, template):
    url = fill(template, reviewed)
    method = client.post if template in STAFF_POSTS and template not in STAFF_GETS else client.get
    response = method(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.student, Role.partner])
@pytest.mark.parametrize(("method", "template"), [("get", t) for t in STAFF_GETS] + [("post", t) for t in STAFF_POSTS])
def test_students_and_partners_get_403(client, login, reviewed, role, method, template):
    login(role)
    assert getattr(client, method)(fill(template, reviewed)).status_code == 403


@pytest.mark.parametrize("role", [Role.coordinator, Role.admin])
@pytest.mark.parametrize("template", STAFF_GETS)
def test_staff_may_open_every_page(client, login, reviewed, role, template):
    login(role)
    assert client.get(fill(template, reviewed)).status_code == 200


@pytest.mark.parametrize("template", ["/applications/manage/calls/999999", "/applications/manage/calls/999999/edit",
                                      "/applications/manage/calls/999999/places",
                                      "/applications/manage/applications/999999",
                                      "/applications/manage/calls/999999/export.csv"])
def test_missing_records_are_404(client, login, reviewed, template):
    login(Role.coordinator)
    assert client.get(template).status_code == 404


def test_unknown_export_format_is_404(client, login, reviewed):
    login(Role.coordinator)
    assert client.get(f"/applications/manage/calls/{reviewed.call.id}/export.pdf").status_code == 404


# --- Calls ------------------------------------------------------------------------------------

def call_form(year, **overrides):
    data = {"title": "Semester exchange 2027/28 — outgoing", "academic_year": str(year), "period": "autumn",
            "mobility_type": "study", "description": "Apply now.", "opens_at": "2027-01-10T09:00",
            "closes_at": "2027-02-15T14:00", "max_choices": "3", "min_gpa": "6", "eqf_levels": ["6", "7"],
            "required_documents": ["transcript", "cv"],
            "criteria-0-name": "GPA", "criteria-0-weight": "50", "criteria-0-uses_gpa": "y",
            "criteria-1-name": "Language", "criteria-1-weight": "20",
            "criteria-2-name": "Motivation", "criteria-2-weight": "30"}
    data.update(overrides)
    return data


def test_create_a_call_in_the_coordinators_time_zone(client, db, login, make_condition):
    from datetime import date
    year = date.today().year + 1
    make_condition(first=year - 1, last=year + 1)
    coordinator = login(Role.coordinator, timezone="America/New_York")
    response = client.post("/applications/manage/calls/new", data=call_form(year))
    assert response.status_code == 302 and response.headers["Location"].endswith("/places")
    call = db.session.scalar(db.select(Call))
    assert call.opens_at.isoformat() == "2027-01-10T14:00:00+00:00"  # 09:00 in New York is 14:00 UTC
    assert call.closes_at.hour == 19
    assert [(c.name, c.weight, c.uses_gpa) for c in call.criteria] == [
        ("GPA", 50, True), ("Language", 20, False), ("Motivation", 30, False)]
    assert call.min_gpa == Decimal("6") and call.eqf_level_list == [6, 7] and call.created_by_id == coordinator.id
    # The edit form shows the times back in the coordinator's zone.
    page = client.get(f"/applications/manage/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="2027-01-10T09:00"' in page


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "This field is required."),
    ({"title": "x" * 10000}, "at most 200 characters"),
    ({"closes_at": "2027-01-01T09:00"}, "closing date must be after the opening date"),
    ({"opens_at": "tomorrow"}, "Not a valid datetime"),
    ({"criteria-2-weight": "20"}, "must add up to 100 (now 90)"),
    ({"criteria-2-weight": "101"}, "from 0 to 100"),
    ({"criteria-3-name": "Interview"}, "Give this criterion a weight."),
    ({"max_choices": "11"}, "From 1 to 10"),
    ({"min_gpa": "12"}, "from 0 to 10"),
    ({"period": "winter"}, "Choose a value from the list"),
    ({"eqf_levels": ["9"]}, "is not a valid choice"),
    ({"title": "<script>alert(1)</script>", "closes_at": ""}, "&lt;script&gt;"),
])
def test_call_form_bad_input(client, db, login, overrides, message):
    from datetime import date
    login(Role.coordinator)
    response = client.post("/applications/manage/calls/new", data=call_form(date.today().year + 1, **overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="Apply now.' in page or "Apply now." in page  # the rest of the form is kept
    assert db.session.scalar(db.select(db.func.count(Call.id))) == 0


def test_choose_places_and_seats(client, db, login, make_call_with_places, make_condition):
    login(Role.coordinator)
    call = make_call_with_places()
    new_condition = make_condition("0231")
    db.session.commit()
    existing = {p.condition_id: p for p in call.places}
    page = client.get(f"/applications/manage/calls/{call.id}/places").get_data(as_text=True)
    assert f'name="seats-{new_condition.id}"' in page
    data = {f"include-{cid}": "1" for cid in existing}
    data.update({f"seats-{cid}": "5" for cid in existing})
    data.update({f"include-{new_condition.id}": "1", f"seats-{new_condition.id}": "x"})
    response = client.post(f"/applications/manage/calls/{call.id}/places", data=data)
    assert response.status_code == 422 and "whole number" in response.get_data(as_text=True)
    data[f"seats-{new_condition.id}"] = "3"
    assert client.post(f"/applications/manage/calls/{call.id}/places", data=data).status_code == 302
    seats = dict(db.session.execute(db.select(CallPlace.condition_id, CallPlace.seats)
                                    .where(CallPlace.call_id == call.id)).all())
    assert seats == {**{cid: 5 for cid in existing}, new_condition.id: 3}


@pytest.mark.parametrize("typed", ["²", "٣", "1000", "99999999999999999999", "+3", " "])
def test_seats_are_ascii_digits_from_0_to_999(client, db, login, make_call_with_places, typed):
    """str.isdigit() took "²" (then int() failed: a 500) and "٣"; a number is ASCII digits only."""
    login(Role.coordinator)
    call = make_call_with_places()
    db.session.commit()
    condition_id = call.places[0].condition_id
    response = client.post(f"/applications/manage/calls/{call.id}/places",
                           data={f"include-{condition_id}": "1", f"seats-{condition_id}": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "whole number from 0 to 999" in page
    if typed.strip():
        assert f'value="{typed}"' in page  # what was typed stays
    assert client.post(f"/applications/manage/calls/{call.id}/places",
                       data={f"include-{condition_id}": "1", f"seats-{condition_id}": "007"}).status_code == 302
    assert db.session.get(CallPlace, call.places[0].id).seats == 7


# --- Pipeline ----------------------------------------------------------------------------------

@pytest.fixture
def crowd(db, make_call_with_places, make_application, make_user, coordinator):
    """30 sent-in applications in various states, two drafts."""
    call = make_call_with_places()
    statuses = [S.submitted] * 12 + [S.under_review] * 8 + [S.eligible] * 6 + [S.ineligible] * 2 + [S.withdrawn] * 2
    apps = []
    for i, status in enumerate(statuses):
        student = make_user(Role.student, name=f"Student {i:02d}")
        application = make_application(student=student, call=call, status=status, staff=coordinator,
                                       student_number=f"N{i:04d}", eqf_level=6 if i % 2 else 7)
        if status is S.eligible:
            services.save_scores(application, coordinator, {c.id: 4 + i % 5 for c in call.criteria})
        apps.append(application)
    make_application(call=call, complete=False)
    make_application(call=call, complete=False)
    db.session.commit()
    return call, apps


def names(page):
    """The students listed, in order (each row names the student twice: the link and the checkbox label)."""
    return list(dict.fromkeys(re.findall(r"Student \d\d", page)))


def test_pipeline_counts_filters_and_pagination(client, login, crowd):
    call, apps = crowd
    login(Role.coordinator)
    url = f"/applications/manage/calls/{call.id}"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<span class="value">20</span><span class="label">Needs action', page)
    assert re.search(r'<span class="value">30</span><span class="label">All sent in', page)
    assert re.search(r'<span class="value">2</span><span class="label">Draft', page)
    assert len(set(names(page))) == 25 and "30 results" in page
    page2 = client.get(url + "?page=2").get_data(as_text=True)
    assert len(set(names(page2))) == 5
    assert len(set(names(client.get(url + "?status=needs_action").get_data(as_text=True)))) == 20
    assert len(set(names(client.get(url + "?status=eligible").get_data(as_text=True)))) == 6
    assert names(client.get(url + "?q=N0007").get_data(as_text=True)) == ["Student 07"]
    assert set(names(client.get(url + "?q=student 1").get_data(as_text=True))) == {f"Student 1{i}" for i in range(10)}
    assert len(set(names(client.get(url + "?level=6").get_data(as_text=True)))) == 15
    assert len(set(names(client.get(url + "?field=06").get_data(as_text=True)))) == 25  # first page of 30
    assert names(client.get(url + "?field=04").get_data(as_text=True)) == []
    scored = client.get(url + "?score_min=60&score_max=100&sort=-score").get_data(as_text=True)
    listed = names(scored)
    expected = sorted((a for a in apps if a.score is not None and a.score >= 60), key=lambda a: (-a.score, a.id))
    assert listed == [a.full_name for a in expected]
    place = apps[0].choices[0].place_id
    assert len(set(names(client.get(url + f"?place={place}").get_data(as_text=True)))) == 25
    by_name = names(client.get(url + "?sort=-name").get_data(as_text=True))
    assert by_name[0] == "Student 29"


def test_pipeline_filter_form_follows_the_query_the_language_and_the_destinations(client, db, login, crowd,
                                                                                      make_condition):
    """The filter form's HTML is kept per language, call version and query (views_staff.filters_html): each of
    them changes what it shows."""
    from exchange.applications.models import CallPlace
    call, _apps = crowd
    login(Role.coordinator)
    url = f"/applications/manage/calls/{call.id}"

    def form_of(page):
        return page[page.index('<form class="filters"'):page.index("</form>", page.index('<form class="filters"'))]

    first = form_of(client.get(url + "?q=Ana").get_data(as_text=True))
    assert 'value="Ana"' in first
    assert form_of(client.get(url + "?q=Ana").get_data(as_text=True)) == first
    other = form_of(client.get(url + "?q=Bob&status=eligible").get_data(as_text=True))
    assert 'value="Bob"' in other and 'selected value="eligible"' in other and 'value="Ana"' not in other
    assert 'name="sort" value="-score"' in form_of(client.get(url + "?q=Ana&sort=-score").get_data(as_text=True))
    client.post("/language", data={"lang": "fr"})
    french_page = client.get(url + "?q=Ana").get_data(as_text=True)
    french = form_of(french_page)
    assert 'value="Ana"' in french and "Toutes les destinations" in french and french != first
    assert "Actions groupées" in french_page and "Bulk actions" not in french_page
    client.post("/language", data={"lang": "en"})
    # A destination added to the call shows at once (the call's places_version is part of the key).
    condition = make_condition()
    condition.agreement.partner.name = "Universidade Nova Destino"
    db.session.add(CallPlace(call=call, condition=condition, seats=2))
    db.session.commit()
    assert "Universidade Nova Destino" in form_of(client.get(url + "?q=Ana").get_data(as_text=True))


def test_pipeline_bad_filters(client, login, crowd):
    call, _apps = crowd
    login(Role.coordinator)
    response = client.get(f"/applications/manage/calls/{call.id}?score_min=abc&sort=drop table")
    assert response.status_code == 422 and "Not a valid decimal" in response.get_data(as_text=True)
    response = client.get(f"/applications/manage/calls/{call.id}?status=bogus")
    assert response.status_code == 422


def test_bulk_actions(client, login, crowd, outbox):
    call, apps = crowd
    login(Role.coordinator)
    submitted = [a for a in apps if a.status is S.submitted][:3]
    withdrawn = next(a for a in apps if a.status is S.withdrawn)
    ids = [str(a.id) for a in submitted] + [str(withdrawn.id)]
    response = client.post(f"/applications/manage/calls/{call.id}/bulk",
                           data={"ids": ids, "action": "under_review"})
    assert response.status_code == 302
    for application in submitted:
        assert _db.session.get(Application, application.id).status is S.under_review
    assert _db.session.get(Application, withdrawn.id).status is S.withdrawn
    assert len(outbox) == 3
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 applications changed to Under review" in page and "cannot be changed to Under review" in page
    # Requesting changes needs a message; nothing selected is refused too.
    response = client.post(f"/applications/manage/calls/{call.id}/bulk",
                           data={"ids": ids[:1], "action": "changes_requested"})
    assert response.status_code == 422 and "Tell the students why" in response.get_data(as_text=True)
    assert 'selected value="changes_requested"' in response.get_data(as_text=True)  # what was chosen stays
    # The blank bar of the next page view is the kept one again, without the error.
    page = client.get(f"/applications/manage/calls/{call.id}").get_data(as_text=True)
    assert "Tell the students why" not in page and 'selected value="changes_requested"' not in page
    response = client.post(f"/applications/manage/calls/{call.id}/bulk", data={"action": "eligible"})
    assert response.status_code == 422 and "Select at least one application" in response.get_data(as_text=True)
    assert client.post(f"/applications/manage/calls/{call.id}/bulk",
                       data={"ids": ["1 OR 1=1"], "action": "eligible"}).status_code == 400



@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999", str(2**31)])
def test_bulk_ids_are_ascii_ids(client, login, crowd, raw):
    """An id the database cannot hold, or not in ASCII digits, is a 400 (int("²") was a 500, a huge one too)."""
    call, apps = crowd
    login(Role.coordinator)
    response = client.post(f"/applications/manage/calls/{call.id}/bulk", data={"ids": [raw], "action": "eligible"})
    assert response.status_code == 400


def test_bulk_goes_back_to_the_pipeline_with_its_filters_only(client, login, crowd):
    """The redirect after the commit carries the filters and the page, no other query argument: call_id or
    _scheme reached url_for itself, a 500 after the change had been saved."""
    call, apps = crowd
    login(Role.coordinator)
    submitted = next(a for a in apps if a.status is S.submitted)
    response = client.post(f"/applications/manage/calls/{call.id}/bulk?status=submitted&call_id=1&page=2"
                           "&_scheme=javascript&_external=1&fmt=pdf",
                           data={"ids": [submitted.id], "action": "under_review"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/applications/manage/calls/{call.id}?status=submitted&page=2"
    assert _db.session.get(Application, submitted.id).status is S.under_review


def test_pipeline_links_carry_its_filters_only(client, login, crowd):
    call, apps = crowd
    login(Role.coordinator)
    response = client.get(f"/applications/manage/calls/{call.id}?status=submitted&call_id=1&fmt=pdf&_scheme=x"
                          "&_anchor=top&_method=POST")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/applications/manage/calls/{call.id}/export.csv?status=submitted"' in page
    assert f'action="/applications/manage/calls/{call.id}/bulk?status=submitted"' in page


# --- The review page, decisions and the conflict -------------------------------------------------

def test_review_page_shows_everything(client, login, reviewed, db):
    application = reviewed.alice_app
    application.support_needs = "Needs an accessible room"
    db.session.commit()
    login(Role.coordinator)
    page = client.get(f"/applications/manage/applications/{application.id}").get_data(as_text=True)
    for text in (application.full_name, application.student.email, "0613 – Software", "English", "C1",
                 "Needs an accessible room", "Transcript of records", "Eligibility checks", "Complete",
                 "Meets the call rules", "70.0", "Under review"):
        assert text in page, text
    assert f"/applications/{application.id}/documents/{application.documents[0].id}" in page


def test_decision_changes_status_and_emails_the_student(client, login, reviewed, outbox):
    application = reviewed.bob_app
    login(Role.coordinator)
    url = f"/applications/manage/applications/{application.id}/decision"
    response = client.post(url, data={"to_status": "under_review", "comment": "",
                                      "version": application.version_id})
    assert response.status_code == 302
    application = _db.session.get(Application, application.id)
    assert application.status is S.under_review
    response = client.post(url, data={"to_status": "changes_requested", "comment": "",
                                      "version": application.version_id})
    assert response.status_code == 422 and "Tell the student why" in response.get_data(as_text=True)
    response = client.post(url, data={"to_status": "changes_requested", "comment": "Add your CV, please.",
                                      "version": application.version_id})
    assert response.status_code == 302
    assert "Changes requested" in outbox.last()["Subject"] and "Add your CV, please." in text_of(outbox.last())
    assert outbox.last()["To"] == reviewed.bob.email


def test_refused_transition_is_a_clear_422(client, login, reviewed):
    application = reviewed.bob_app  # submitted
    login(Role.coordinator)
    for target in ("eligible", "placed", "accepted", "draft", "submitted", "nonsense"):
        response = client.post(f"/applications/manage/applications/{application.id}/decision",
                               data={"to_status": target, "comment": "Kept text", "version": application.version_id})
        assert response.status_code == 422, (target, response.status_code)
        page = response.get_data(as_text=True)
        assert "Kept text" in page
        if target != "nonsense":
            assert "cannot be changed to" in page or "already" in page
    assert _db.session.get(Application, application.id).status is S.submitted


def test_two_coordinators_editing_at_once(client, app, reviewed, auth, make_user):
    application = reviewed.alice_app  # under review
    first, second = make_user(Role.coordinator), make_user(Role.coordinator)
    version = application.version_id
    url = f"/applications/manage/applications/{application.id}/decision"
    auth.login(first)
    assert client.post(url, data={"to_status": "eligible", "comment": "Good", "version": version}).status_code == 302
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = second.session_token
    response = other.post(url, data={"to_status": "changes_requested", "comment": "Please fix the transcript",
                                     "version": version})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this application" in page
    assert "Please fix the transcript" in page  # nothing the second coordinator typed is lost
    assert _db.session.get(Application, application.id).status is S.eligible
    # The form now carries the current version: sending it again applies the second decision.
    new_version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = other.post(url, data={"to_status": "under_review", "comment": "Reopening",
                                     "version": new_version})
    assert response.status_code == 302
    assert _db.session.get(Application, application.id).status is S.under_review


def test_scores_form(client, login, reviewed):
    application = reviewed.alice_app
    coordinator = login(Role.coordinator)
    criteria = application.call.criteria
    url = f"/applications/manage/applications/{application.id}/scores"
    bad = {f"c{criteria[0].id}": "11", f"c{criteria[1].id}": "-1", f"c{criteria[2].id}": "abc"}
    response = client.post(url, data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "A score must be a number from 0 to 10." in page and 'value="11"' in page
    response = client.post(url, data={f"c{c.id}": "9" for c in criteria})
    assert response.status_code == 302
    application = _db.session.get(Application, application.id)
    # The fixture's coordinator gave 7 everywhere (70), this one 9 (90): the mean is 80.
    assert application.score == Decimal("80.00")
    assert {r.reviewer_id for r in application.reviews} >= {coordinator.id}
    page = client.get(f"/applications/manage/applications/{application.id}").get_data(as_text=True)
    assert "80.0" in page and "90.0" in page and "70.0" in page


def test_gpa_criterion_is_suggested(client, login, reviewed):
    application = reviewed.bob_app
    login(Role.coordinator)
    page = client.get(f"/applications/manage/applications/{application.id}").get_data(as_text=True)
    gpa = application.call.criteria[0]
    assert re.search(rf'name="c{gpa.id}"[^>]*value="8.00"|value="8.00"[^>]*name="c{gpa.id}"', page)


def test_comments_internal_and_to_the_student(client, login, reviewed, outbox, auth):
    application = reviewed.bob_app
    login(Role.coordinator)
    url = f"/applications/manage/applications/{application.id}/comments"
    assert client.post(url, data={"body": "", "visibility": "internal"}).status_code == 422
    assert client.post(url, data={"body": "Check the <b>GPA</b>", "visibility": "internal"}).status_code == 302
    assert len(outbox) == 0
    assert client.post(url, data={"body": "Your transcript is unreadable.", "visibility": "student"}).status_code == 302
    assert "Your transcript is unreadable." in text_of(outbox.last())
    page = client.get(f"/applications/manage/applications/{application.id}").get_data(as_text=True)
    assert "Check the &lt;b&gt;GPA&lt;/b&gt;" in page
    auth.login(reviewed.bob)
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Your transcript is unreadable." in detail and "Check the" not in detail


def test_assign_and_remove_reviewers(client, login, reviewed, make_user):
    application = reviewed.bob_app
    login(Role.coordinator)
    colleague = make_user(Role.coordinator, name="Jonas Weber")
    student = make_user(Role.student)
    url = f"/applications/manage/applications/{application.id}/reviewers"
    assert client.post(url, data={"reviewer_id": str(student.id)}).status_code == 422
    assert client.post(url, data={"reviewer_id": str(colleague.id)}).status_code == 302
    application = _db.session.get(Application, application.id)
    review = application.reviews[0]
    assert review.reviewer_id == colleague.id and review.total is None
    assert client.post(url, data={"reviewer_id": str(colleague.id)}).status_code == 422
    remove = f"/applications/manage/applications/{application.id}/reviewers/{review.id}/remove"
    assert client.post(remove).status_code == 302
    assert _db.session.get(Application, application.id).reviews == []


# --- Exports ----------------------------------------------------------------------------------

def test_csv_and_xlsx_exports(client, login, reviewed, db):
    application = reviewed.alice_app
    application.full_name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    login(Role.coordinator)
    response = client.get(f"/applications/manage/calls/{reviewed.call.id}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["Id", "Name", "Email address"]
    assert len(data) == 2
    by_id = {int(row[0]): dict(zip(header, row)) for row in data}
    alice = by_id[application.id]
    assert alice["Name"].startswith("'=")  # no formula runs in a spreadsheet
    assert alice["Status"] == "Under review" and alice["Score"] == "70.0" and alice["GPA (0–10)"] == "8.0"
    assert "1." in alice["Choices"]
    response = client.get(f"/applications/manage/calls/{reviewed.call.id}/export.xlsx?status=under_review")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0][:2] == ("Id", "Name") and len(values) == 2  # the filter applies to the export
    assert values[1][0] == application.id and values[1][1].startswith("'=")


def test_staff_post_without_csrf_token_is_rejected(app, client, login, reviewed):
    login(Role.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/applications/manage/applications/{reviewed.bob_app.id}/decision",
                               data={"to_status": "under_review", "version": reviewed.bob_app.version_id})
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _db.session.get(Application, reviewed.bob_app.id).status is S.submitted


def test_pages_run_a_fixed_number_of_queries(client, login, crowd, db):
    """No query per row: the pipeline, the export and the review page load what they show up front."""
    from sqlalchemy import event
    call, apps = crowd
    login(Role.coordinator)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for url in (f"/applications/manage/calls/{call.id}", f"/applications/manage/calls/{call.id}/export.csv",
                    f"/applications/manage/applications/{apps[0].id}", "/applications/manage", "/"):
            statements.clear()
            assert client.get(url).status_code == 200
            assert len(statements) <= 25, (url, len(statements))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
