"""The pages: access, finding events, registering, the organiser's tools, check-in, bad input."""
import io
import re
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.core.types import utcnow
from exchange.events import services
from exchange.events.models import Audience, Event, EventStatus, Registration, RegistrationStatus
from tests.fixtures.files import FAKE_PNG, TRUNCATED_PNG, huge_png
from tests.fixtures.mail import text_of

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0\xa0\x00\x00\x00\x00IEND\xaeB`\x82")


def html_of(response) -> str:
    return response.get_data(as_text=True)


def register_via_service(db, event, user):
    db.session.commit()
    return services.commit_with_retry(lambda: services.register(event.id, user))


def event_form(**overrides):
    start = datetime(2031, 5, 14, 18, 0)
    data = {"title": "Tapas night", "description": "Bring **friends**.", "category": "cultural_evening",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "venue": "Student café", "online_url": "", "capacity": "30", "registration_opens_at": "",
            "registration_closes_at": "", "audience": "everyone", "call_id": "", "partner_institution_id": "",
            "country": ""}
    data.update(overrides)
    return data


# --- Access ------------------------------------------------------------------------------------------------

STAFF_ROUTES = [
    ("GET", "/events/new"), ("GET", "/events/{id}/edit"), ("POST", "/events/{id}/publish"),
    ("GET", "/events/{id}/cancel"), ("GET", "/events/{id}/registrations"), ("GET", "/events/{id}/registrations.csv"),
    ("GET", "/events/{id}/questions"), ("GET", "/events/{id}/message"), ("GET", "/events/{id}/checkin"),
    ("POST", "/events/{id}/checkin"), ("POST", "/events/{id}/checkin/1"), ("POST", "/events/{id}/questions/1/delete"),
]
USER_ROUTES = [
    ("GET", "/events/"), ("GET", "/events/calendar"), ("GET", "/events/calendar.ics"), ("GET", "/events/mine"),
    ("GET", "/events/{id}"), ("GET", "/events/{id}.ics"), ("GET", "/events/{id}/cover"),
    ("POST", "/events/{id}/register"), ("POST", "/events/{id}/cancel-registration"),
    ("GET", "/events/subscribe"), ("POST", "/events/subscribe"),
]


@pytest.mark.parametrize(("method", "url"), STAFF_ROUTES + USER_ROUTES)
def test_anonymous_visitors_are_sent_to_login(client, make_event, method, url):
    event = make_event()
    response = client.open(url.format(id=event.id), method=method)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.student, Role.partner])
@pytest.mark.parametrize(("method", "url"), STAFF_ROUTES)
def test_organiser_pages_refuse_students_and_partners(client, login, make_event, role, method, url):
    event = make_event()
    login(role)
    assert client.open(url.format(id=event.id), method=method).status_code == 403


@pytest.mark.parametrize(("role", "audience", "status"), [
    (Role.student, Audience.partners, EventStatus.published),
    (Role.partner, Audience.students, EventStatus.published),
    (Role.student, Audience.everyone, EventStatus.draft),
    (Role.student, Audience.call, EventStatus.published),
])
def test_events_outside_your_audience_answer_404(client, login, make_event, make_empty_call, role, audience, status):
    event = make_event(audience=audience, status=status,
                       call_id=make_empty_call().id if audience is Audience.call else None)
    login(role)
    for url in (f"/events/{event.id}", f"/events/{event.id}.ics", f"/events/{event.id}/cover"):
        assert client.get(url).status_code == 404
    assert client.post(f"/events/{event.id}/register").status_code == 404
    assert event.title not in html_of(client.get("/events/"))


def test_missing_event_is_404_for_staff_too(client, login):
    login(Role.coordinator)
    for url in ("/events/999999", "/events/999999/edit", "/events/999999/registrations", "/events/999999/checkin"):
        assert client.get(url).status_code == 404


def test_checkin_of_a_registration_of_another_event_is_404(client, login, make_event, make_user, db):
    event, other = make_event(), make_event(title="Other")
    registration = register_via_service(db, other, make_user())
    login(Role.coordinator)
    response = client.post(f"/events/{event.id}/checkin/{registration.id}")
    assert response.status_code == 404
    assert db.session.get(Registration, registration.id).checked_in_at is None


def test_post_without_csrf_token_is_rejected(app, client, login, make_event, db):
    event = make_event()
    login(Role.student)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/events/{event.id}/register")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Registration.id))) == 0


# --- Finding events ----------------------------------------------------------------------------------------

def test_list_shows_upcoming_events_with_seats_and_filters(client, login, make_event, students, db):
    full = make_event(title="Potluck", capacity=2)
    make_event(title="Flamenco workshop", category="workshop", capacity=None)
    make_event(title="Old tour", starts_at=utcnow() - timedelta(days=3))
    for user in students(3):
        register_via_service(db, full, user)
    login(Role.student)
    html = html_of(client.get("/events/"))
    assert "Potluck" in html and "Flamenco workshop" in html and "Old tour" not in html
    assert "Full" in html and "1 on the waitlist" in html and "Unlimited places" in html
    html = html_of(client.get("/events/?category=workshop"))
    assert "Flamenco workshop" in html and "Potluck" not in html
    assert "Old tour" in html_of(client.get("/events/?when=past"))
    assert "Potluck" not in html_of(client.get("/events/?audience=partners"))
    assert client.get("/events/?category=<script>&audience=nonsense&page=abc").status_code == 200


def test_month_calendar(client, login, make_event):
    start = datetime(2031, 3, 10, 17, 0, tzinfo=timezone.utc)
    make_event(title="Tandem in March", starts_at=start)
    make_event(title="Three-day fair", starts_at=start + timedelta(days=5), ends_at=start + timedelta(days=7))
    login(Role.student)
    html = html_of(client.get("/events/calendar?month=2031-03"))
    assert "March 2031" in html
    assert html.count("Tandem in March") == 1
    assert html.count("Three-day fair") == 3  # on each day it covers
    assert "18:00" in html or "6:00" in html  # shown in the viewer's zone (Madrid, UTC+1 in March)
    assert "month=2031-02" in html and "month=2031-04" in html
    for bad in ("2031-13", "abc", "99999-01", "<script>"):
        assert client.get(f"/events/calendar?month={bad}").status_code == 200


def test_month_title_in_sentence_case(client, login):
    login(Role.student)
    html = html_of(client.get("/events/calendar?month=2031-03", headers={"Accept-Language": "es"}))
    assert '<h2 class="month-title" id="month-title">Marzo de 2031</h2>' in html


def test_calendar_file_of_the_programme(client, login, make_event):
    make_event(title="Visible")
    make_event(title="Draft one", status=EventStatus.draft)
    make_event(title="For partners", audience=Audience.partners)
    login(Role.student)
    response = client.get("/events/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    titles = {str(v["SUMMARY"]) for v in icalendar.Calendar.from_ical(response.data).walk("VEVENT")}
    assert titles == {"Visible"}


def test_private_calendar_link(client, db, login, make_event, auth):
    """A calendar app follows the programme through a secret link: what its owner may see, nothing more; a new
    link replaces the old one; removing it or deactivating the account ends it."""
    make_event(title="Visible")
    make_event(title="Draft one", status=EventStatus.draft)
    make_event(title="For partners", audience=Audience.partners)
    student = login(Role.student)
    page = client.get("/events/subscribe").get_data(as_text=True)
    assert "Make my calendar link" in page and "/events/feed/" not in page
    assert client.post("/events/subscribe", data={"action": "bogus"}).status_code == 400
    assert db.session.get(type(student), student.id).calendar_token is None
    response = client.post("/events/subscribe", data={"action": "new"}, follow_redirects=True)
    assert response.status_code == 200 and "Your calendar link is ready" in response.get_data(as_text=True)
    token = db.session.get(type(student), student.id).calendar_token
    assert token and f"http://exchange.test/events/feed/{token}.ics" in response.get_data(as_text=True)

    auth.logout()  # calendar apps have no session
    feed = client.get(f"/events/feed/{token}.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    titles = {str(v["SUMMARY"]) for v in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")}
    assert titles == {"Visible"}
    assert client.get("/events/feed/not-a-token.ics").status_code == 404
    assert client.get(f"/events/feed/{token[:-1]}.ics").status_code == 404

    login(student)
    client.post("/events/subscribe", data={"action": "new"})
    new_token = db.session.get(type(student), student.id).calendar_token
    assert new_token != token
    assert client.get(f"/events/feed/{token}.ics").status_code == 404
    assert client.get(f"/events/feed/{new_token}.ics").status_code == 200
    response = client.post("/events/subscribe", data={"action": "remove"}, follow_redirects=True)
    assert "Your calendar link has been removed" in response.get_data(as_text=True)
    assert client.get(f"/events/feed/{new_token}.ics").status_code == 404

    client.post("/events/subscribe", data={"action": "new"})
    user = db.session.get(type(student), student.id)
    last = user.calendar_token
    user.is_active_account = False
    db.session.commit()
    assert client.get(f"/events/feed/{last}.ics").status_code == 404


def test_calendar_feed_in_its_owners_language(client, db, login, make_event):
    make_event(title="Visible")
    student = login(Role.student)
    student.locale = "fr"
    client.post("/events/subscribe", data={"action": "new"})
    token = db.session.get(type(student), student.id).calendar_token
    calendar = icalendar.Calendar.from_ical(client.get(f"/events/feed/{token}.ics").data)
    assert str(calendar["X-WR-CALNAME"]) == "Programme culturel"


def test_event_calendar_file(client, login, make_event):
    event = make_event(title="Excursion")
    login(Role.student)
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200
    assert f'filename="event-{event.id}.ics"' in response.headers["Content-Disposition"]
    assert str(icalendar.Calendar.from_ical(response.data).walk("VEVENT")[0]["SUMMARY"]) == "Excursion"


@pytest.mark.parametrize(("zone", "locale", "expected"), [
    ("America/New_York", "en", ["Tue, Jul 1, 2031, 12:00 – 2:00 PM", "America/New_York"]),
    ("Asia/Tokyo", "fr", ["mer. 2 juil. 2031, 01:00 – 03:00", "Asia/Tokyo"]),
    (None, "es", ["mar, 1 jul 2031, 18:00–20:00", "Europe/Madrid"]),  # the office's zone by default
])
def test_times_are_shown_in_the_viewers_zone(client, login, make_event, zone, locale, expected):
    # One request per test: the suite keeps one app context, where Flask-Babel caches the zone.
    event = make_event(starts_at=datetime(2031, 7, 1, 16, 0, tzinfo=timezone.utc),
                       ends_at=datetime(2031, 7, 1, 18, 0, tzinfo=timezone.utc))
    login(Role.student, timezone=zone, locale=locale)
    html = re.sub(r"[\u00a0\u2009\u202f]", " ", html_of(client.get(f"/events/{event.id}")))
    for text in expected:
        assert text in html


def test_description_is_rendered_and_sanitised(client, login, make_event):
    event = make_event(description="**Bold** <script>alert(1)</script> [x](javascript:alert(1))")
    login(Role.student)
    html = html_of(client.get(f"/events/{event.id}"))
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html


# --- Registering through the pages ---------------------------------------------------------------------------

def test_register_then_see_the_ticket_with_qr_code(client, login, make_event, db, outbox):
    event = make_event(title="Tandem")
    user = login(Role.student)
    response = client.post(f"/events/{event.id}/register")
    assert response.status_code == 303
    registration = services.registration_of(event.id, user.id)
    assert registration.status is RegistrationStatus.confirmed
    assert "You are registered: Tandem" in outbox.last()["Subject"]
    html = html_of(client.get(f"/events/{event.id}"))
    assert "You are registered" in html
    assert f"{registration.checkin_code[:5]}-{registration.checkin_code[5:]}" in html
    assert 'src="data:image/svg+xml' in html  # the QR code, allowed by the CSP (img-src data:)
    assert "Cancel my registration" in html


def test_register_twice_through_the_page_is_a_409(client, login, make_event, db):
    event = make_event()
    login(Role.student)
    client.post(f"/events/{event.id}/register")
    response = client.post(f"/events/{event.id}/register")
    assert response.status_code == 409
    assert "already registered" in html_of(response)
    assert db.session.scalar(select(func.count(Registration.id))) == 1


def test_full_event_offers_the_waitlist_and_promotes_on_cancel(client, login, make_event, make_user, db, outbox):
    event = make_event(capacity=1, title="Potluck")
    first = make_user()
    register_via_service(db, event, first)
    waiting = login(Role.student)
    assert "Join the waitlist" in html_of(client.get(f"/events/{event.id}"))
    client.post(f"/events/{event.id}/register")
    assert "Position 1 on the waitlist" in html_of(client.get(f"/events/{event.id}"))
    home = html_of(client.get("/"))
    assert "Your events" in home and "Potluck" in home and "Waitlist position 1" in home
    login(first)
    assert client.post(f"/events/{event.id}/cancel-registration").status_code == 303
    assert services.registration_of(event.id, waiting.id).status is RegistrationStatus.confirmed
    assert outbox.last()["To"] == waiting.email and "A seat is yours" in outbox.last()["Subject"]


@pytest.mark.parametrize(("setup", "status", "message"), [
    ("deadline", 409, "Registration for this event has closed."),
    ("cancelled", 409, "This event has been cancelled."),
    ("audience", 403, "This event is for Students only."),
])
def test_refused_registrations_through_the_page(client, login, make_event, make_user, db, setup, status, message):
    event = make_event(audience=Audience.students if setup == "audience" else Audience.everyone)
    if setup == "deadline":
        event.registration_closes_at = utcnow() - timedelta(minutes=1)
    if setup == "cancelled":
        event.status = EventStatus.cancelled
    login(Role.coordinator if setup == "audience" else Role.student)
    response = client.post(f"/events/{event.id}/register")
    assert response.status_code == status
    assert message in html_of(response)
    assert db.session.scalar(select(func.count(Registration.id))) == 0


def test_required_questions_are_asked_and_checked(client, login, make_event, db):
    event = make_event(questions=[("T-shirt size", "choice", "S\nM\nL", True), ("Dietary needs", "text", None, False)])
    size, diet = event.questions
    login(Role.student)
    html = html_of(client.get(f"/events/{event.id}"))
    assert "T-shirt size" in html and "Dietary needs" in html
    response = client.post(f"/events/{event.id}/register", data={f"q_{diet.id}": "Vegan"})
    assert response.status_code == 422
    assert "This field is required." in html_of(response) and 'value="Vegan"' in html_of(response)
    response = client.post(f"/events/{event.id}/register", data={f"q_{size.id}": "XXL"})
    assert response.status_code == 422
    response = client.post(f"/events/{event.id}/register", data={f"q_{size.id}": "M", f"q_{diet.id}": "x" * 10_000})
    assert response.status_code == 422 and "at most 500 characters" in html_of(response)
    assert db.session.scalar(select(func.count(Registration.id))) == 0
    assert client.post(f"/events/{event.id}/register", data={f"q_{size.id}": "M"}).status_code == 303


def test_my_events_page(client, login, make_event, make_user, db):
    upcoming = make_event(title="Coming tandem")
    past = make_event(title="Old tour", starts_at=utcnow() - timedelta(days=10))
    user = login(Role.student)
    register_via_service(db, upcoming, user)
    db.session.add(Registration(event_id=past.id, user_id=user.id, status=RegistrationStatus.confirmed,
                                queued_at=utcnow() - timedelta(days=20), checked_in_at=past.starts_at))
    db.session.commit()
    html = html_of(client.get("/events/mine"))
    assert "Coming tandem" in html and "Old tour" in html and "Attended" in html


# --- Creating and editing --------------------------------------------------------------------------------------

def test_create_event_in_the_coordinators_zone(client, login, db):
    login(Role.coordinator, timezone="America/New_York")
    response = client.post("/events/new", data=event_form(title="Tapas night"))
    assert response.status_code == 303
    event = db.session.scalar(select(Event))
    assert event.status is EventStatus.draft
    assert event.starts_at == datetime(2031, 5, 14, 22, 0, tzinfo=timezone.utc)  # 18:00 in New York (EDT)
    assert event.capacity == 30
    page = html_of(client.get(f"/events/{event.id}/edit"))
    assert 'value="2031-05-14T18:00"' in page  # shown back in the same zone


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "This field is required."),
    ({"title": "x" * 10_000}, "at most 200 characters"),
    ({"starts_at": ""}, "This field is required."),
    ({"starts_at": "14/05/2031 18:00"}, "Not a valid datetime value"),
    ({"ends_at": "2031-05-14T17:00"}, "The end must be after the start."),
    ({"venue": "", "online_url": ""}, "Give a venue, an online link, or both."),
    ({"online_url": "javascript:alert(1)"}, "starting with https://"),
    ({"capacity": "abc"}, "Not a valid integer value"),
    ({"capacity": "0"}, "from 1 to 100000"),
    ({"category": "party"}, "Not a valid choice"),
    ({"audience": "call", "call_id": ""}, "Choose the call"),
    ({"country": "XX"}, "Choose a value from the list"),
    ({"registration_opens_at": "2031-05-10T10:00", "registration_closes_at": "2031-05-09T10:00"},
     "Registration must close after it opens."),
    ({"registration_closes_at": "2031-05-20T10:00"}, "cannot close after the event has ended"),
    ({"description": "x" * 20_001}, "at most 20000 characters"),
])
def test_bad_event_input_is_refused_and_kept(client, login, db, overrides, message):
    login(Role.coordinator)
    response = client.post("/events/new", data=event_form(**overrides))
    assert response.status_code == 422
    html = html_of(response)
    assert message in html
    assert db.session.scalar(select(func.count(Event.id))) == 0
    if "title" not in overrides:
        assert 'value="Tapas night"' in html  # what was typed survives


def test_script_in_title_is_escaped(client, login, db):
    login(Role.coordinator)
    client.post("/events/new", data=event_form(title="<script>alert(1)</script>"))
    event = db.session.scalar(select(Event))
    html = html_of(client.get(f"/events/{event.id}"))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_edit_capacity_below_registered_is_refused(client, login, make_event, students, db):
    event = make_event(capacity=5, starts_at=datetime(2031, 5, 14, 16, 0, tzinfo=timezone.utc))
    for user in students(3):
        register_via_service(db, event, user)
    login(Role.coordinator)
    response = client.post(f"/events/{event.id}/edit", data=event_form(capacity="2"))
    assert response.status_code == 422
    assert "3 people are already confirmed" in html_of(response)
    db.session.expire_all()
    assert db.session.get(Event, event.id).capacity == 5
    assert db.session.get(Event, event.id).title == "Tapas and tandem night"


def test_cover_image_upload_is_checked(client, login, db):
    login(Role.coordinator)
    bad = event_form(cover=(io.BytesIO(b"<html>not an image</html>"), "cover.png"))
    response = client.post("/events/new", data=bad, content_type="multipart/form-data")
    assert response.status_code == 415 and "not a real" in html_of(response)
    assert db.session.scalar(select(func.count(Event.id))) == 0
    good = event_form(cover=(io.BytesIO(PNG), "cover.png"))
    assert client.post("/events/new", data=good, content_type="multipart/form-data").status_code == 303
    event = db.session.scalar(select(Event))
    assert event.cover_image and event.cover_mimetype == "image/png"
    cover = client.get(f"/events/{event.id}/cover")
    assert cover.status_code == 200 and cover.data == PNG
    assert client.post(f"/events/{event.id}/edit", data=event_form(remove_cover="y")).status_code == 303
    db.session.expire_all()
    assert db.session.get(Event, event.id).cover_image is None


@pytest.mark.parametrize(("data", "status", "message"), [
    (huge_png(), 422, "This image is too large: at most 16 million pixels"),
    (FAKE_PNG, 415, "This file is not a real JPEG, PNG file"),
    (TRUNCATED_PNG, 415, "This file is not a real JPEG, PNG file"),
])
def test_a_cover_pillow_cannot_read_or_of_too_many_pixels_is_refused(client, login, db, make_event, data, status,
                                                                     message):
    login(Role.coordinator)
    response = client.post("/events/new", data=event_form(title="Cover test", cover=(io.BytesIO(data), "cover.png")),
                           content_type="multipart/form-data")
    assert response.status_code == status
    assert f'<p class="error" id="cover-error">{message}' in html_of(response)
    assert 'value="Cover test"' in html_of(response)
    assert db.session.scalar(select(func.count(Event.id))) == 0
    event = make_event()
    db.session.commit()
    response = client.post(f"/events/{event.id}/edit", data=event_form(cover=(io.BytesIO(data), "cover.png")),
                           content_type="multipart/form-data")
    assert response.status_code == status and message in html_of(response)
    db.session.expire_all()
    assert db.session.get(Event, event.id).cover_image is None


def test_publish_and_cancel_an_event(client, login, make_event, make_user, db, outbox):
    event = make_event(status=EventStatus.draft)
    login(Role.coordinator)
    assert client.post(f"/events/{event.id}/publish").status_code == 303
    assert client.post(f"/events/{event.id}/publish").status_code == 409
    attendee = make_user()
    register_via_service(db, event, attendee)
    assert client.get(f"/events/{event.id}/cancel").status_code == 200
    response = client.post(f"/events/{event.id}/cancel", data={"reason": "Storm warning"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Event, event.id).status is EventStatus.cancelled
    assert outbox.last()["To"] == attendee.email and "Storm warning" in text_of(outbox.last())
    assert "This event has been cancelled." in html_of(client.get(f"/events/{event.id}"))
    response = client.post(f"/events/{event.id}/cancel", data={"reason": "again"})
    assert response.status_code == 409


# --- Organiser's tools -------------------------------------------------------------------------------------------

def test_registrations_page_and_csv(client, login, make_event, make_user, db):
    event = make_event(capacity=1, questions=[("Dietary needs", "text", None, False)])
    question = event.questions[0]
    a = make_user(name="Ana Pérez")
    b = make_user(name="=HYPERLINK(evil)")
    db.session.commit()
    services.commit_with_retry(lambda: services.register(event.id, a, {question.id: "Vegan"}))
    services.commit_with_retry(lambda: services.register(event.id, b, {question.id: "-2+3"}))
    login(Role.coordinator)
    html = html_of(client.get(f"/events/{event.id}/registrations"))
    assert "Ana Pérez" in html and "Vegan" in html and "Waitlist" in html
    response = client.get(f"/events/{event.id}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "Ana Pérez" in text and "Confirmed" in text and "On the waitlist" in text
    assert "'=HYPERLINK(evil)" in text and "'-2+3" in text  # no formulas in spreadsheets


def test_registrations_csv_header_has_no_formulas(client, login, make_event, make_user, db):
    """The questions' labels, written by organisers, head columns of the file: they are escaped like the cells."""
    import csv
    event = make_event(questions=[("=HYPERLINK(\"http://evil\",\"x\")", "text", None, False),
                                  ("@SUM(A1)", "text", None, False), ("Dietary needs", "text", None, False)])
    db.session.commit()
    services.commit_with_retry(lambda: services.register(event.id, make_user(name="Ana"), {}))
    login(Role.coordinator)
    text = html_of(client.get(f"/events/{event.id}/registrations.csv")).lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(text)))
    assert header[-3:] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(A1)", "Dietary needs"]


def test_questions_page(client, login, make_event, db):
    event = make_event()
    login(Role.coordinator)
    response = client.post(f"/events/{event.id}/questions", data={"label": "T-shirt size", "kind": "choice",
                                                                  "options": "S\nM", "is_required": "y"})
    assert response.status_code == 303
    response = client.post(f"/events/{event.id}/questions", data={"label": "Size", "kind": "choice", "options": "S"})
    assert response.status_code == 422 and "at least two options" in html_of(response)
    response = client.post(f"/events/{event.id}/questions", data={"label": "", "kind": "text"})
    assert response.status_code == 422
    db.session.expire_all()
    [question] = db.session.get(Event, event.id).questions
    assert client.post(f"/events/{event.id}/questions/{question.id}/delete").status_code == 303
    assert client.post(f"/events/{event.id}/questions/999999/delete").status_code == 404


def test_message_to_registrants(client, login, make_event, make_user, db, outbox):
    event = make_event()
    attendee = make_user()
    login(Role.coordinator)
    response = client.post(f"/events/{event.id}/message", data={"subject": "Hi", "body": "Text"})
    assert response.status_code == 409  # nobody to write to
    register_via_service(db, event, attendee)
    response = client.post(f"/events/{event.id}/message", data={"subject": "", "body": "x" * 10_000})
    assert response.status_code == 422
    before = len(outbox)
    response = client.post(f"/events/{event.id}/message", data={"subject": "Gate changed", "body": "Gate 3."})
    assert response.status_code == 303
    assert len(outbox) == before + 1 and "Gate changed" in outbox.last()["Subject"]


# --- Check-in ------------------------------------------------------------------------------------------------------

def test_check_in_by_code_link_and_list(client, login, make_event, students, db):
    event = make_event(starts_at=utcnow() + timedelta(hours=1))
    a, b = students(2)
    ra, rb = register_via_service(db, event, a), register_via_service(db, event, b)
    login(Role.coordinator)
    page = html_of(client.get(f"/events/{event.id}/checkin"))
    assert a.name in page and "0</span><span class=\"of\"> / 2" in page
    # The QR code opens this page with the code: it asks to confirm, nothing changes on GET.
    page = html_of(client.get(f"/events/{event.id}/checkin?code={ra.checkin_code}"))
    assert f"Check in {a.name}" in page
    assert db.session.get(Registration, ra.id).checked_in_at is None
    response = client.post(f"/events/{event.id}/checkin", data={"code": ra.checkin_code.lower()})
    assert response.status_code == 303
    response = client.post(f"/events/{event.id}/checkin/{rb.id}")
    assert response.status_code == 303
    db.session.expire_all()
    assert services.registration_of(event.id, a.id).has_attended and services.registration_of(event.id, b.id).has_attended
    page = html_of(client.get(f"/events/{event.id}/checkin"))
    assert "2</span><span class=\"of\"> / 2" in page and "Arrived" in page
    response = client.post(f"/events/{event.id}/checkin", data={"code": ra.checkin_code})
    assert response.status_code == 409 and "already checked in" in html_of(response)
    assert f'href="/events/{event.id}/checkin/{rb.id}/undo"' in html_of(client.get(f"/events/{event.id}/checkin"))
    response = client.post(f"/events/{event.id}/checkin/{rb.id}/undo", data={"reason": "Scanned the wrong ticket"})
    assert response.status_code == 303
    db.session.expire_all()
    assert not services.registration_of(event.id, b.id).has_attended


def test_check_in_code_from_another_event_changes_nothing(client, login, make_event, make_user, db):
    event, other = make_event(starts_at=utcnow() + timedelta(hours=1)), make_event(title="Flamenco")
    registration = register_via_service(db, other, make_user())
    login(Role.coordinator)
    response = client.post(f"/events/{event.id}/checkin", data={"code": registration.checkin_code})
    assert response.status_code == 422
    assert "This code is for another event (Flamenco)" in html_of(response)
    response = client.get(f"/events/{event.id}/checkin?code={registration.checkin_code}")
    assert response.status_code == 422
    for bad in ("", "x" * 10_000, "<script>alert(1)</script>"):
        response = client.post(f"/events/{event.id}/checkin", data={"code": bad})
        assert response.status_code in (404, 422)
        assert "<script>alert(1)</script>" not in html_of(response)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is None


def test_check_in_is_refused_before_it_opens(client, login, make_event, students, db):
    event = make_event(starts_at=utcnow() + timedelta(hours=2, minutes=5))
    a, = students(1)
    registration = register_via_service(db, event, a)
    login(Role.coordinator)
    page = html_of(client.get(f"/events/{event.id}/checkin"))
    assert "Check-in has not opened yet" in page
    assert 'name="code"' not in page and f"/checkin/{registration.id}" not in page  # nothing offered
    response = client.post(f"/events/{event.id}/checkin", data={"code": registration.checkin_code})
    assert response.status_code == 409 and "Check-in has not opened yet" in html_of(response)
    response = client.post(f"/events/{event.id}/checkin/{registration.id}")
    assert response.status_code == 409 and "Check-in has not opened yet" in html_of(response)
    response = client.get(f"/events/{event.id}/checkin?code={registration.checkin_code}")
    assert response.status_code == 409 and f"Check in {a.name}" not in html_of(response)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is None


def test_check_in_opens_as_configured(app, client, login, make_event, students, db, monkeypatch):
    monkeypatch.setitem(app.config, "CHECKIN_OPENS_BEFORE_MINUTES", 24 * 60)
    event = make_event(starts_at=utcnow() + timedelta(hours=23))
    registration = register_via_service(db, event, students(1)[0])
    login(Role.coordinator)
    assert client.post(f"/events/{event.id}/checkin/{registration.id}").status_code == 303
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is not None


def test_a_checked_in_student_cannot_cancel(client, login, make_event, make_user, db):
    event = make_event(starts_at=utcnow() + timedelta(hours=1))
    student = login(Role.student)
    client.post(f"/events/{event.id}/register")
    registration = services.registration_of(event.id, student.id)
    assert "Cancel my registration" in html_of(client.get(f"/events/{event.id}"))
    services.check_in(event, registration, by=make_user(Role.coordinator))
    db.session.commit()
    page = html_of(client.get(f"/events/{event.id}"))
    assert "Cancel my registration" not in page and "/cancel-registration" not in page
    assert "You have checked in at this event, so your registration can no longer be cancelled." in page
    response = client.post(f"/events/{event.id}/cancel-registration")
    assert response.status_code == 409
    assert "You have checked in at this event, so your registration can no longer be cancelled." in html_of(response)
    db.session.expire_all()
    registration = db.session.get(Registration, registration.id)
    assert registration.status is RegistrationStatus.confirmed and registration.checked_in_at is not None


def test_undoing_a_check_in_asks_why_and_is_audited(client, login, make_event, make_user, db):
    from exchange.core.audit import AuditEvent
    event = make_event(starts_at=utcnow() + timedelta(hours=1))
    registration = register_via_service(db, event, make_user(name="Ana Pérez"))
    coordinator = login(Role.coordinator)
    services.check_in(event, registration, by=coordinator)
    db.session.commit()
    url = f"/events/{event.id}/checkin/{registration.id}/undo"
    page = html_of(client.get(url))
    assert "Undo the check-in of Ana Pérez?" in page and 'name="reason"' in page
    for reason, error in (("", "This field is required."), ("x" * 501, "Use at most 500 characters.")):
        response = client.post(url, data={"reason": reason})
        assert response.status_code == 422 and error in html_of(response)
        assert 'aria-invalid="true"' in html_of(response)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is not None
    response = client.post(url, data={"reason": "Scanned the wrong ticket"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/events/{event.id}/checkin")
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is None
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "event_checkin_undone"))
    assert entry.user_id == coordinator.id and "Scanned the wrong ticket" in entry.detail
    assert client.post(url, data={"reason": "again"}).status_code == 409


def test_qr_code_encodes_the_check_in_link(client, login, make_event, db):
    event = make_event()
    user = login(Role.student)
    client.post(f"/events/{event.id}/register")
    registration = services.registration_of(event.id, user.id)
    html = html_of(client.get(f"/events/{event.id}"))
    uri = re.search(r'src="(data:image/svg\+xml[^"]+)"', html).group(1)
    assert "<svg" in __import__("urllib.parse").parse.unquote(uri)
    link = f"http://exchange.test/events/{event.id}/checkin?code={registration.checkin_code}"
    assert services.normalise_code(link) == registration.checkin_code


def test_navigation_has_events(client, login):
    login(Role.partner)
    assert 'href="/events/"' in html_of(client.get("/"))


def test_call_audience_through_the_pages(client, login, make_event, make_empty_call, apply_to, make_user, db):
    call = make_empty_call(title="Erasmus+ study")
    event = make_event(title="Pre-departure briefing", audience=Audience.call, call_id=call.id)
    placed = make_user(Role.student)
    apply_to(call, placed, "placed")
    login(Role.coordinator)
    assert "Erasmus+ study" in html_of(client.get("/events/new"))  # offered as an audience
    response = client.post("/events/new", data=event_form(audience="call", call_id=str(call.id)))
    assert response.status_code == 303
    response = client.post("/events/new", data=event_form(audience="call", call_id="424242"))
    assert response.status_code == 422
    login(placed)
    html = html_of(client.get(f"/events/{event.id}"))
    assert "Pre-departure briefing" in html and "Exchange students of a call: Erasmus+ study" in html
    assert client.post(f"/events/{event.id}/register").status_code == 303
