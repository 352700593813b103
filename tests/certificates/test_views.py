"""Pages: access matrix, downloads for recipients and partners, verification, revoke/reissue, bulk, forms."""
import io
import re

import pytest
from sqlalchemy import select

from exchange.applications.workflow import ApplicationStatus
from exchange.auth.models import Role
from exchange.certificates import services
from exchange.certificates.models import Certificate, CertificateKind, CompletionRecord
from exchange.jobs.models import Job
from exchange.partners.models import HomeInstitution
from tests.fixtures.files import FAKE_PNG, TRUNCATED_PNG, huge_png, page_count, pdf_text, png_bytes

P = CertificateKind.participation


@pytest.fixture
def cert(db, home, make_past_event, attend):
    """cert(user=None, **user_kw): a participation certificate."""
    def _make(user=None, **kw):
        registration = attend(make_past_event(), user=user, **kw)
        certificate = services.issue_certificate(P, registration.id, None)
        db.session.commit()
        return certificate
    return _make


@pytest.mark.parametrize(("role", "url", "status"), [
    (None, "/certificates/", 302),
    (None, "/certificates/mine", 302),
    (None, "/certificates/1/pdf", 302),
    (Role.student, "/certificates/", 403),
    (Role.student, "/certificates/events", 403),
    (Role.student, "/certificates/settings", 403),
    (Role.student, "/certificates/nominees", 403),
    (Role.partner, "/certificates/calls", 403),
    (Role.coordinator, "/certificates/settings", 403),
    (Role.coordinator, "/certificates/events/999", 404),
    (Role.coordinator, "/certificates/calls/999", 404),
    (Role.coordinator, "/certificates/999", 404),
    (Role.coordinator, "/certificates/applications/999/completion", 404),
    (Role.student, "/certificates/999/pdf", 404),
    (Role.student, "/certificates/mine", 200),
    (Role.partner, "/certificates/nominees", 200),
    (Role.partner, "/certificates/mine", 200),
    (Role.coordinator, "/certificates/", 200),
    (Role.coordinator, "/certificates/events", 200),
    (Role.coordinator, "/certificates/calls", 200),
    (Role.admin, "/certificates/settings", 200),
    (None, "/verify/unknown-code-123456", 404),
])
def test_access_matrix(client, login, db, role, url, status):
    if role:
        login(role)
    response = client.get(url)
    assert response.status_code == status
    if status == 302:
        assert "/auth/login" in response.headers["Location"]


def test_a_student_downloads_their_own_valid_certificates_only(client, login, db, cert, make_user):
    student = make_user(Role.student)
    own = cert(user=student)
    other = cert()
    login(student)
    response = client.get(f"/certificates/{own.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"{own.number}.pdf" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    assert page_count(response.data) == 1
    assert client.get(f"/certificates/{other.id}/pdf").status_code == 404
    assert client.get(f"/certificates/{own.id}").status_code == 403  # the staff page
    services.revoke_certificate(own, None, "Mistake")
    db.session.commit()
    assert client.get(f"/certificates/{own.id}/pdf").status_code == 404
    page = client.get("/certificates/mine").get_data(as_text=True)
    assert own.number in page and "Revoked" in page and f"/certificates/{own.id}/pdf" not in page


def test_the_second_download_is_not_rendered_again(client, login, cert, make_user, renders):
    student = make_user(Role.student)
    certificate = cert(user=student)
    login(student)
    first = client.get(f"/certificates/{certificate.id}/pdf").data
    second = client.get(f"/certificates/{certificate.id}/pdf").data
    assert first == second and renders.count == 1


def test_partners_download_placement_letters_of_their_nominees_only(client, login, db, home, placed, make_user,
                                                                   cert):
    partner_user = make_user(Role.partner)
    institution = partner_user.institution
    nominee = placed()
    nominee.placed_institution_id = institution.id
    not_nominated = placed(nominated=False)
    not_nominated.placed_institution_id = institution.id
    elsewhere = placed()
    letters = {name: services.issue_certificate(CertificateKind.placement, app.id, None)
               for name, app in (("nominee", nominee), ("not_nominated", not_nominated), ("elsewhere", elsewhere))}
    participation = cert(user=nominee.student)
    db.session.commit()
    login(partner_user)
    assert client.get(f"/certificates/{letters['nominee'].id}/pdf").status_code == 200
    assert client.get(f"/certificates/{letters['not_nominated'].id}/pdf").status_code == 404
    assert client.get(f"/certificates/{letters['elsewhere'].id}/pdf").status_code == 404
    assert client.get(f"/certificates/{participation.id}/pdf").status_code == 404
    page = client.get("/certificates/nominees").get_data(as_text=True)
    assert letters["nominee"].number in page and letters["elsewhere"].number not in page
    assert letters["not_nominated"].number not in page
    assert "Placement letters of your nominees" in client.get("/").get_data(as_text=True)
    services.revoke_certificate(letters["nominee"], None, "Withdrawn")
    db.session.commit()
    assert client.get(f"/certificates/{letters['nominee'].id}/pdf").status_code == 404


def test_verification_of_a_valid_certificate(client, db, cert):
    certificate = cert(name="Ana <script>alert(1)</script>")
    response = client.get(f"/verify/{certificate.code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Valid" in page and "has not been revoked" in page
    assert "Ana &lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "International Food Fair" in page and certificate.number in page and "Universidad de Valdemora" in page
    assert "noindex" in response.headers["X-Robots-Tag"]
    # Not kept by browsers or proxies, and the code in the address is not passed on to linked sites.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "@" not in re.sub(r"<[^>]+>", "", page.split("<main", 1)[1].split("</main>")[0])  # no e-mail


def test_verification_of_a_revoked_certificate_does_not_show_the_reason(client, db, cert):
    certificate = cert()
    services.revoke_certificate(certificate, None, "Secret internal reason")
    db.session.commit()
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Revoked" in page and "no longer valid" in page and "Secret internal reason" not in page
    assert "has not been revoked" not in page


@pytest.mark.parametrize("code", ["x", "nope-nope-nope-nope-nope", "a" * 200, "%27%20OR%201=1"])
def test_unknown_codes_are_404(client, db, cert, code):
    cert()
    assert client.get(f"/verify/{code}").status_code == 404


def test_staff_revoke_and_reissue(client, login, db, cert, outbox):
    certificate = cert()
    login(Role.coordinator)
    page = client.get(f"/certificates/{certificate.id}")
    assert page.status_code == 200 and certificate.number in page.get_data(as_text=True)
    response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": ""})
    assert response.status_code == 422 and "Please say why" in response.get_data(as_text=True)
    response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "x" * 10000})
    assert response.status_code == 422 and "at most 500" in response.get_data(as_text=True)
    response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "<b>Wrong person</b>"})
    assert response.status_code == 303
    db.session.refresh(certificate)
    assert certificate.is_revoked and "revoked" in outbox.last()["Subject"]
    page = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "&lt;b&gt;Wrong person&lt;/b&gt;" in page
    response = client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "Fixed", "language": "es"})
    assert response.status_code == 303
    new = db.session.scalar(select(Certificate).where(Certificate.replaces_id == certificate.id))
    assert new.is_valid and new.language == "es" and response.headers["Location"].endswith(f"/certificates/{new.id}")
    response = client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "Again", "language": "xx"})
    assert response.status_code == 422 and "Choose a value from the list" in response.get_data(as_text=True)
    response = client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "Again"})
    assert response.status_code == 422 and "already been issued" in response.get_data(as_text=True)


def test_issue_one_from_the_event_page(client, login, db, home, make_past_event, attend, outbox):
    event = make_past_event(title="Tandem <i>night</i>")
    came = attend(event, name="Came Along")
    stayed_home = attend(event, name="Stayed Home", checked_in=False)
    db.session.commit()
    login(Role.coordinator)
    page = client.get(f"/certificates/events/{event.id}").get_data(as_text=True)
    assert "Came Along" in page and "Stayed Home" not in page and "Tandem &lt;i&gt;night&lt;/i&gt;" in page
    response = client.post("/certificates/issue", data={"kind": "participation", "subject_id": came.id,
                                                         "language": "fr"})
    assert response.status_code == 303
    certificate = db.session.scalar(select(Certificate))
    assert certificate.language == "fr" and certificate.recipient_name == "Came Along"
    assert "Your certificate is ready" in outbox.last()["Subject"]
    response = client.post("/certificates/issue", data={"kind": "participation", "subject_id": stayed_home.id},
                           headers={"Referer": f"http://localhost/certificates/events/{event.id}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/certificates/events/{event.id}")
    assert "checked in" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post("/certificates/issue", data={"kind": "participation", "subject_id": 99999}).status_code == 404
    response = client.post("/certificates/issue", data={"kind": "diploma", "subject_id": came.id})
    assert response.status_code == 303 and db.session.scalar(select(Certificate.id).where(Certificate.id > certificate.id)) is None
    response = client.post("/certificates/issue", data={"kind": "participation", "subject_id": "1 OR 1=1"})
    assert response.status_code == 303


@pytest.mark.parametrize("subject_id", ["²", "٣", "99999999999", "99999999999999999999", "+1", " 1"])
def test_issue_refuses_a_subject_id_not_in_ascii_digits_or_past_the_ids(client, login, db, home, subject_id):
    """"²" passed str.isdigit() (int() then failed: a 500), and a 12-digit id PostgreSQL's INTEGER (a 500)."""
    login(Role.coordinator)
    response = client.post("/certificates/issue", data={"kind": "participation", "subject_id": subject_id},
                           headers={"Referer": "http://localhost/certificates/events"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/certificates/events")
    assert "Unknown subject." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(Certificate.id)) is None


def test_bulk_from_the_event_page_goes_to_the_job(client, login, db, home, make_past_event, attend):
    event = make_past_event()
    for _ in range(3):
        attend(event)
    db.session.commit()
    login(Role.coordinator)
    response = client.post(f"/certificates/events/{event.id}/bulk", data={"kind": "participation", "notify": "y"})
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job = db.session.scalar(select(Job))
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "certificates-participation-event" in page and f"/certificates/events/{event.id}" in page
    merged = client.get(f"/jobs/{job.id}/files/pdf")
    assert merged.status_code == 200 and page_count(merged.data) == 3
    archive = client.get(f"/jobs/{job.id}/files/zip")
    assert archive.status_code == 200 and archive.data.startswith(b"PK")


def test_bulk_with_nobody_checked_in(client, login, db, home, make_past_event, attend):
    event = make_past_event()
    attend(event, checked_in=False)
    db.session.commit()
    login(Role.coordinator)
    response = client.post(f"/certificates/events/{event.id}/bulk", data={"kind": "participation"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/certificates/events/{event.id}")
    assert db.session.scalar(select(Job)) is None


def test_call_page_and_completion_form(client, login, db, home, placed, make_empty_call, make_place):
    call = make_empty_call(title="Erasmus <b>2026</b>")
    place = make_place(call)
    application = placed(call=call, place=place, full_name="Sofia Martins")
    other = placed(status=ApplicationStatus.placed)
    db.session.commit()
    login(Role.coordinator)
    page = client.get(f"/certificates/calls/{call.id}").get_data(as_text=True)
    assert "Sofia Martins" in page and "Erasmus &lt;b&gt;2026&lt;/b&gt;" in page
    url = f"/certificates/applications/{application.id}/completion"
    assert client.get(url).status_code == 200
    assert client.get(f"/certificates/applications/{other.id}/completion").status_code == 404
    response = client.post(url, data={"started_on": "2026-09-10", "ended_on": "2026-09-01", "ects_credits": "30"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "cannot end before it starts" in page and 'value="2026-09-10"' in page
    for bad in ({"started_on": "", "ended_on": ""}, {"started_on": "10/09/2026", "ended_on": "2027-01-01"},
                {"started_on": "2026-09-01", "ended_on": "2027-01-01", "ects_credits": "lots"},
                {"started_on": "2026-09-01", "ended_on": "2027-01-01", "ects_credits": "500"},
                {"started_on": "2026-09-01", "ended_on": "2999-01-01"}):
        assert client.post(url, data=bad).status_code == 422
    assert db.session.scalar(select(CompletionRecord)) is None
    response = client.post(url, data={"started_on": "2025-09-10", "ended_on": "2026-01-31", "ects_credits": "28.5"})
    assert response.status_code == 303
    record = db.session.scalar(select(CompletionRecord))
    assert str(record.ects_credits) == "28.5"
    page = client.get(f"/certificates/calls/{call.id}").get_data(as_text=True)
    assert "28.5" in page


def test_bulk_completion_needs_records(client, login, db, home, placed, make_empty_call, make_place):
    call = make_empty_call()
    placed(call=call, place=make_place(call))
    db.session.commit()
    login(Role.coordinator)
    response = client.post(f"/certificates/calls/{call.id}/bulk", data={"kind": "completion"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/certificates/calls/{call.id}")
    assert client.post(f"/certificates/calls/{call.id}/bulk", data={"kind": "participation"}).status_code == 400
    response = client.post(f"/certificates/calls/{call.id}/bulk", data={"kind": "placement"})
    assert "/jobs/" in response.headers["Location"]


def _upload(data, name):
    return (io.BytesIO(data), name)


def test_settings_upload_logo_and_signature(client, login, db, home):
    login(Role.admin)
    data = {"institution_name": "Universidad de Valdemora", "country": "ES", "city": "Valdemora",
            "signatory_name": "Dr. <b>Ruiz</b>", "signatory_title": "Rector",
            "logo": _upload(png_bytes(8, 4), "logo.png"), "signature": _upload(png_bytes(6, 2), "sig.png")}
    response = client.post("/certificates/settings", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    home = db.session.scalar(select(HomeInstitution))
    assert home.logo_path and home.signature_path and home.signatory_name == "Dr. <b>Ruiz</b>"
    page = client.get("/certificates/settings").get_data(as_text=True)
    assert f"/certificates/settings/image/{home.logo_path}" in page and "Dr. &lt;b&gt;Ruiz&lt;/b&gt;" in page
    image = client.get(f"/certificates/settings/image/{home.logo_path}")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert client.get("/certificates/settings/image/other.png").status_code == 404
    specimen = client.get("/certificates/settings/specimen/participation.pdf?lang=es")
    assert specimen.status_code == 200 and "SPECIMEN" in pdf_text(specimen.data).upper()
    assert specimen.data.count(b"/Subtype /Image") >= 2
    old_logo = home.logo_path
    response = client.post("/certificates/settings", data={
        "institution_name": "Universidad de Valdemora", "country": "ES", "remove_logo": "y"},
        content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.refresh(home)
    assert home.logo_path is None and home.signature_path
    assert client.get(f"/certificates/settings/image/{old_logo}").status_code == 404


@pytest.mark.parametrize("data, field_text", [
    ({"institution_name": "", "country": "ES"}, "Enter the name of the institution"),
    ({"institution_name": "U" * 10000, "country": "ES"}, "at most 200"),
    ({"institution_name": "U", "country": "XX"}, "Choose"),
    ({"institution_name": "U", "country": "ES", "signatory_name": "x" * 121}, "at most 120"),
    ({"institution_name": "U", "country": "ES", "logo": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
     "not a real"),
    ({"institution_name": "U", "country": "ES", "signature": (io.BytesIO(b"%PDF-1.4 fake"), "s.pdf")}, "not a real"),
])
def test_settings_bad_input(client, login, db, home, data, field_text):
    login(Role.admin)
    response = client.post("/certificates/settings", data=data, content_type="multipart/form-data")
    assert response.status_code in (415, 422)
    assert field_text in response.get_data(as_text=True)
    db.session.refresh(home)
    assert home.name == "Universidad de Valdemora" and home.logo_path is None


@pytest.mark.parametrize(("field", "data", "status", "message"), [
    ("logo", huge_png(), 422, "This image is too large: at most 16 million pixels"),
    ("signature", huge_png(), 422, "This image is too large: at most 16 million pixels"),
    ("logo", FAKE_PNG, 415, "This file is not a real JPEG, PNG file"),
    ("signature", TRUNCATED_PNG, 415, "This file is not a real JPEG, PNG file"),
])
def test_settings_refuse_a_picture_pillow_cannot_read_or_of_too_many_pixels(client, login, db, home, field, data,
                                                                             status, message):
    """A 12000 × 12000 PNG (17 KiB) made every certificate render take 414 MiB; a PNG header on anything else
    passed the type detection."""
    login(Role.admin)
    response = client.post("/certificates/settings", data={
        "institution_name": "Universidad Nueva", "country": "ES", field: (io.BytesIO(data), f"{field}.png")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert f'<p class="error" id="{field}-error">{message}' in page  # beside its field
    assert 'value="Universidad Nueva"' in page  # what was typed stays
    db.session.refresh(home)
    assert home.name == "Universidad de Valdemora" and home.logo_path is None and home.signature_path is None


def test_student_dashboard_panel_and_mine(client, login, db, cert, make_user):
    student = make_user(Role.student)
    certificate = cert(user=student)
    login(student)
    page = client.get("/").get_data(as_text=True)
    assert "Your certificates" in page and f"/certificates/{certificate.id}/pdf" in page
    page = client.get("/certificates/mine").get_data(as_text=True)
    assert certificate.number in page and f"/verify/{certificate.code}" in page


def test_staff_register_filters(client, login, db, cert):
    a = cert(name="Alpha Person")
    b = cert(name="Beta Person")
    services.revoke_certificate(b, None, "x")
    db.session.commit()
    login(Role.coordinator)
    page = client.get("/certificates/?q=alpha").get_data(as_text=True)
    assert a.number in page and b.number not in page
    page = client.get("/certificates/?status=revoked").get_data(as_text=True)
    assert b.number in page and a.number not in page
    page = client.get("/certificates/?kind=placement").get_data(as_text=True)
    assert a.number not in page
    assert client.get("/certificates/?kind=nonsense&status=bogus&q=" + "x" * 300).status_code == 200


def test_register_search_finds_percent_and_underscore_as_typed(client, login, db, cert):
    """% and _ are LIKE's wildcards: "50%" found every name with "50", "a_b" any "a?b"."""
    from urllib.parse import quote
    made = {name: cert(name=name) for name in ("Grade 50% Person", "Grade 500 Person", "Ana_Bel Person",
                                               "Anaxbel Person", "Slash a/b Person")}
    login(Role.coordinator)
    for typed, found in [("50%", {"Grade 50% Person"}), ("a_b", {"Ana_Bel Person"}), ("a/b", {"Slash a/b Person"}),
                         ("%", {"Grade 50% Person"}), ("_", {"Ana_Bel Person"})]:
        page = client.get("/certificates/?q=" + quote(typed)).get_data(as_text=True)
        assert {name for name, c in made.items() if c.number in page} == found, typed


def test_post_without_csrf_token_is_refused(app, client, login, db, cert):
    certificate = cert()
    login(Role.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/certificates/{certificate.id}/revoke", data={"reason": "x"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    db.session.refresh(certificate)
    assert certificate.is_valid


def test_event_and_call_overviews_count_in_sql(client, login, db, home, make_past_event, attend, placed,
                                               make_empty_call, make_place):
    from datetime import timedelta

    from exchange.core.types import utcnow
    from exchange.events.models import EventStatus
    event = make_past_event(title="Past fair")
    registrations = [attend(event, checked_in=n < 2) for n in range(3)]
    services.issue_certificate(P, registrations[0].id, None)
    make_past_event(title="Future fair", starts_at=utcnow() + timedelta(days=3))
    make_past_event(title="Cancelled fair", status=EventStatus.cancelled)
    call = make_empty_call(title="Call with places")
    place = make_place(call)
    services.issue_certificate(CertificateKind.placement, placed(call=call, place=place).id, None)
    placed(call=call, place=place)
    db.session.commit()
    login(Role.coordinator)
    page = client.get("/certificates/events").get_data(as_text=True)
    assert "Past fair" in page and "Future fair" not in page and "Cancelled fair" not in page
    assert "1 to issue" in page
    page = client.get("/certificates/calls").get_data(as_text=True)
    row = page.split("Call with places")[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "1", "0"]


def test_verification_is_rate_limited(app, client, db, cert, monkeypatch):
    from exchange.extensions import limiter
    certificate = cert()
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    limiter.reset()
    statuses = [client.get(f"/verify/{certificate.code}", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limiter.reset()


# --- Issued certificates do not change ---------------------------------------------------------------------

def _text(response) -> str:
    return response.get_data(as_text=True)


def _main(response) -> str:
    """The page's own content (the header shows who is signed in)."""
    return _text(response).split("<main", 1)[1].split("</main>")[0]


def test_renaming_changes_no_issued_certificate_until_it_is_reissued(client, login, db, home, make_past_event, attend,
                                                                     make_user, renders):
    from exchange.auth.models import User
    student = make_user(Role.student, name="Ana Perez")
    event = make_past_event(title="International Food Fair")
    certificate = services.issue_certificate(P, attend(event, user=student).id, None)
    db.session.commit()
    login(student)
    first = client.get(f"/certificates/{certificate.id}/pdf").data
    assert "Ana Perez" in pdf_text(first)
    response = client.post("/auth/account", data={"profile-name": "Ana Renamed", "profile-locale": "en",
                                                   "profile-timezone": "", "profile-submit": "Save"})
    assert response.status_code == 302 and db.session.get(User, student.id).name == "Ana Renamed"
    event.title = "Renamed Fair"
    db.session.commit()
    login(Role.admin)
    response = client.post("/certificates/settings", data={
        "institution_name": "Renamed University", "country": "ES", "signatory_name": "Prof. New Signatory",
        "logo": (io.BytesIO(png_bytes(8, 4)), "logo.png")}, content_type="multipart/form-data")
    assert response.status_code == 303
    login(student)
    assert client.get(f"/certificates/{certificate.id}/pdf").data == first and renders.count == 1
    page = _main(client.get(f"/verify/{certificate.code}"))
    assert "Ana Perez" in page and "International Food Fair" in page and "Universidad de Valdemora" in page
    assert "Ana Renamed" not in page and "Renamed Fair" not in page and "Renamed University" not in page

    # Reissuing is the way to state the new facts; the history links the two.
    login(Role.coordinator)
    response = client.post(f"/certificates/{certificate.id}/reissue", data={"reason": "The student's new name"})
    assert response.status_code == 303
    new = db.session.scalar(select(Certificate).where(Certificate.replaces_id == certificate.id))
    page = _main(client.get(f"/verify/{new.code}"))
    assert "Ana Renamed" in page and "Renamed Fair" in page and "Renamed University" in page and "Valid" in page
    page = _main(client.get(f"/verify/{certificate.code}"))
    assert "Ana Perez" in page and "no longer valid" in page and "Ana Renamed" not in page
    page = _text(client.get(f"/certificates/{new.id}"))
    assert page.count(f'href="/certificates/{certificate.id}"') == 2  # its row in the history, and "Replaces"
    assert certificate.number in page and "The student&#39;s new name" in page
    page = _text(client.get(f"/certificates/{certificate.id}"))
    assert "has been replaced by a newer one" in page and f'href="/certificates/{new.id}"' in page
    login(student)
    text = pdf_text(client.get(f"/certificates/{new.id}/pdf").data)
    assert "Ana Renamed" in text and "Renamed Fair" in text and "Prof. New Signatory" in text


# --- Attendance behind certificates ---------------------------------------------------------------------------

def test_the_organiser_cannot_undo_a_check_in_behind_a_certificate(client, login, db, cert, make_user):
    from exchange.events.models import Registration
    certificate = cert()
    registration = db.session.get(Registration, certificate.registration_id)
    login(Role.coordinator)
    url = f"/events/{registration.event_id}/checkin/{registration.id}/undo"
    page = _text(client.get(url))
    assert f"Certificate of participation {certificate.number} rests on this check-in" in page
    assert 'name="reason"' not in page
    response = client.post(url, data={"reason": "Mistake"})
    assert response.status_code == 409 and "Revoke the certificate first" in _text(response)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).checked_in_at is not None


def test_no_certificates_of_participation_before_the_event_starts(client, login, db, home, make_past_event, attend):
    from datetime import timedelta
    from exchange.core.types import utcnow
    event = make_past_event(starts_at=utcnow() + timedelta(hours=1))
    registration = attend(event, name="Early Bird")
    db.session.commit()
    login(Role.coordinator)
    page = _text(client.get(f"/certificates/events/{event.id}"))
    assert "Early Bird" in page and "can only be issued once the event has started" in page
    assert "/certificates/issue" not in page and f"/certificates/events/{event.id}/bulk" not in page
    refusal = '<div class="flash flash-error">Certificates of participation can only be issued once the event has started.'
    response = client.post(f"/certificates/events/{event.id}/bulk", data={"kind": "participation"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/certificates/events/{event.id}")
    assert refusal in _text(client.get(response.headers["Location"]))
    response = client.post("/certificates/issue", data={"kind": "participation", "subject_id": registration.id})
    assert response.status_code == 303
    assert refusal in _text(client.get(response.headers["Location"]))
    assert db.session.scalar(select(Job)) is None and db.session.scalar(select(Certificate)) is None
