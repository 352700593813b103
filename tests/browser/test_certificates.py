"""Certificates through the real pages (journey 5): a coordinator checks the demo student in at a past event they
had registered for but missed, issues their certificate of participation from the certificates pages, then issues
the rest of the event's certificates at once (a background job: in-process without Redis) and downloads the merged
PDF and the ZIP; the student finds the certificate on their home page and in My certificates, downloads the PDF
(their name and the verification link are printed on it) and opens that link as an anonymous visitor: "Valid".
The coordinator revokes it with a reason; the public page now says revoked, without the reason; the student sees
it revoked and can no longer download it.

The event, the people and the numbers are read from the live server's database, never hard-coded.
"""
import io
import re
import zipfile
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

from pypdf import PdfReader

from tests.fixtures.browser import check_accessibility, field, follow, follow_confirming, log_in, log_out, squash

STUDENT = "student@demo.test"
COORDINATOR = "coordinator@demo.test"
REASON = "Checked in by mistake: the student did not come to the event."


def flash_text(page) -> str:
    return squash(page.locator(".flashes").inner_text())


def text_of(locator) -> str:
    return squash(locator.inner_text())


def nav(page, name):
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True))


def pdf_text(data: bytes) -> str:
    return squash(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))


def printed_verification_url(text: str) -> str | None:
    """The /verify/<code> link printed on a certificate. The PDF wraps it where it likes (even inside the code),
    so white space is taken out first; a new code is 22 characters long (exchange.certificates.models)."""
    found = re.search(r"https?://[\w.:-]+/verify/[\w-]{22}", re.sub(r"\s+", "", text))
    return found.group(0) if found else None


# --- The live database ---------------------------------------------------------------------------------------

def missed_event(app):
    """A past event the demo student registered for (a seat) but was not checked in at, with no certificate yet;
    the number of people checked in there."""
    from sqlalchemy import func, select

    from exchange.auth.models import User
    from exchange.certificates.models import Certificate
    from exchange.core.types import utcnow
    from exchange.events.models import Event, EventStatus, Registration, RegistrationStatus, attended_clause
    from exchange.extensions import db
    with app.app_context():
        student = db.session.scalar(select(User).where(User.email == STUDENT))
        event = db.session.scalar(
            select(Event).join(Registration, Registration.event_id == Event.id)
            .where(Registration.user_id == student.id, Registration.status == RegistrationStatus.confirmed,
                   Registration.checked_in_at.is_(None), Event.starts_at < utcnow(),
                   Event.status == EventStatus.published,
                   ~Event.id.in_(select(Certificate.event_id).where(Certificate.event_id.is_not(None))))
            .order_by(Event.starts_at.desc()))
        assert event is not None, "the demo student is expected to have missed a past event (Excursion to Toledo)"
        attendees = db.session.scalar(select(func.count(Registration.id))
                                      .where(Registration.event_id == event.id, attended_clause()))
        return SimpleNamespace(id=event.id, title=event.title, attendees=attendees,
                               student=SimpleNamespace(id=student.id, name=student.name))


def certificate_of(app, event_id, user_id):
    """The student's certificate of participation for the event (the newest), as the pages should show it."""
    from sqlalchemy import select

    from exchange.certificates.models import Certificate
    from exchange.extensions import db
    with app.app_context():
        certificate = db.session.scalar(select(Certificate).where(Certificate.event_id == event_id,
                                                                  Certificate.recipient_id == user_id)
                                        .order_by(Certificate.id.desc()))
        assert certificate is not None, "no certificate was issued"
        return SimpleNamespace(id=certificate.id, number=certificate.number, code=certificate.code,
                               revoked=certificate.revoked_at is not None, reason=certificate.revocation_reason)


def valid_numbers(app, event_id) -> list[str]:
    from sqlalchemy import select

    from exchange.certificates.models import Certificate
    from exchange.extensions import db
    with app.app_context():
        return list(db.session.scalars(select(Certificate.number).where(Certificate.event_id == event_id,
                                                                        Certificate.revoked_at.is_(None))))


# --- The journey -----------------------------------------------------------------------------------------------

def download(page, href):
    """GET a link with the page's cookies (a file download): the response."""
    response = page.request.get(urljoin(page.url, href))
    assert response.status == 200, f"{href} answered {response.status}"
    return response


def test_participation_certificate_issued_downloaded_verified_and_revoked(page, live_server, browser):
    app = live_server
    event = missed_event(app)
    student = event.student

    # --- The coordinator checks the student in at the past event, from the attendee list. ---
    log_in(page, COORDINATOR)
    nav(page, "Events")
    field(page, "When").select_option("past")
    follow(page, page.get_by_role("search").get_by_role("button", name="Filter"))
    follow(page, page.get_by_role("link", name=event.title, exact=True))
    follow(page, page.get_by_role("navigation", name="Organiser tools").get_by_role("link", name="Check-in"))
    row = page.locator("ul.attendees li").filter(has=page.locator(".attendee-name", has_text=student.name))
    follow(page, row.get_by_role("button", name="Check in"))
    assert f"{student.name} has checked in." in flash_text(page)

    # --- Their certificate, from the certificates pages: the event's attendees, one "Issue" button each. ---
    nav(page, "Certificates")
    tabs = page.get_by_role("navigation", name="Certificates")
    follow(page, tabs.get_by_role("link", name="Events", exact=True))
    assert page.get_by_role("heading", name="Certificates of participation", level=1).is_visible()
    listed = page.locator("tbody tr").filter(has=page.get_by_role("link", name=event.title, exact=True))
    assert text_of(listed.locator("td").nth(2)) == str(event.attendees + 1)
    follow(page, listed.get_by_role("link", name=event.title, exact=True))
    assert page.get_by_role("heading", name=event.title, level=1).is_visible()
    assert f"{event.attendees + 1} people were checked in. 0 certificates have been issued." in text_of(
        page.locator("main"))
    mine = page.locator("tbody tr").filter(has_text=student.name)
    follow(page, mine.get_by_role("button", name="Issue", exact=True))
    certificate = certificate_of(app, event.id, student.id)
    assert flash_text(page) == f"Certificate {certificate.number} has been issued to {student.name}."
    assert page.url.endswith(f"/certificates/{certificate.id}")
    assert text_of(page.get_by_role("heading", level=1)) == f"Certificate of participation {certificate.number}"
    assert page.locator(".page-head .badge").inner_text() == "Valid"
    facts = text_of(page.locator("dl.facts"))
    assert student.name in facts and event.title in facts

    # --- Everyone else at once: a background job, then one merged PDF and a ZIP of them all. ---
    follow(page, tabs.get_by_role("link", name="Events", exact=True))
    follow(page, page.get_by_role("link", name=event.title, exact=True))
    assert f"{event.attendees + 1} people were checked in. 1 certificate has been issued." in text_of(
        page.locator("main"))
    assert mine.get_by_role("link", name=certificate.number).is_visible()
    field(page, "Tell the recipients of new certificates by e-mail").uncheck()
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Issue and download all").click()
    assert re.search(r"/jobs/[^/]+$", urlsplit(page.url).path), page.url
    assert page.get_by_role("heading", name=f"Certificates of participation: {event.title}", level=1).is_visible()
    total = event.attendees + 1
    assert squash(page.locator(".job .flash-success").inner_text()) == (
        f"Done. {event.attendees} new certificates issued. {total} certificates in the files.")
    check_accessibility(page, "finished job page")
    numbers = valid_numbers(app, event.id)
    assert len(numbers) == total and certificate.number in numbers

    links = page.locator(".job .actions a", has_text="Download")
    assert links.count() == 2
    merged = download(page, links.filter(has_text=".pdf").get_attribute("href"))
    assert merged.headers["content-type"] == "application/pdf"
    assert merged.headers["content-disposition"].startswith("attachment")
    assert merged.body().startswith(b"%PDF-")
    merged_text = pdf_text(merged.body())
    assert all(number in merged_text for number in numbers)
    assert student.name in merged_text
    archive = download(page, links.filter(has_text=".zip").get_attribute("href"))
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.body())) as zipped:
        names = zipped.namelist()
        assert len(names) == total and all(name.endswith(".pdf") for name in names)
        own = next(name for name in names if name.startswith(certificate.number))
        assert zipped.read(own).startswith(b"%PDF-")

    follow(page, page.locator(".job").get_by_role("link", name="Back"))
    assert f"{total} certificates have been issued." in text_of(page.locator("main"))
    assert page.locator("tbody").get_by_role("button", name="Issue", exact=True).count() == 0
    log_out(page)

    # --- The student: the certificate on the home page and in My certificates; the PDF. ---
    log_in(page, STUDENT)
    panel = page.get_by_role("region", name="Your certificates")
    assert panel.locator("li").filter(has_text=event.title).get_by_role(
        "link", name="Certificate of participation").is_visible()
    follow(page, panel.get_by_role("link", name="My certificates"))
    assert page.get_by_role("heading", name="My certificates", level=1).is_visible()
    item = page.locator("li.cert-item").filter(has_text=certificate.number)
    assert event.title in text_of(item) and text_of(item.locator(".badge")) == "Valid"
    verification_href = item.get_by_role("link", name="Verification page").get_attribute("href")
    pdf_href = item.get_by_role("link", name="Download PDF").get_attribute("href")
    assert verification_href == f"/verify/{certificate.code}"
    with page.expect_download() as downloaded:
        item.get_by_role("link", name="Download PDF").click()
    with open(downloaded.value.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF-")
    assert downloaded.value.suggested_filename.endswith(".pdf")
    text = pdf_text(data)
    assert student.name in text and certificate.number in text and event.title in text
    verify_url = printed_verification_url(text)
    assert verify_url, f"no verification link printed on the certificate: {text!r}"
    assert verify_url == app.live_url + verification_href

    # --- Anyone who is shown the PDF opens the printed link: valid, with the student's name. ---
    visitor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        visitor.set_default_timeout(10_000)
        public = visitor.new_page()
        assert public.goto(verify_url).ok
        assert public.get_by_role("heading", name="Certificate verification", level=1).is_visible()
        assert text_of(public.locator(".verify-verdict")) == "Valid"
        public_facts = text_of(public.locator("dl.facts"))
        assert student.name in public_facts and certificate.number in public_facts and event.title in public_facts
        assert public.get_by_role("button", name="Log out").count() == 0  # nobody is logged in here
        log_out(page)

        # --- The coordinator revokes it, saying why. ---
        log_in(page, COORDINATOR)
        nav(page, "Certificates")
        field(page, "Search").fill(certificate.number)
        follow(page, page.get_by_role("search").get_by_role("button", name="Filter"))
        follow(page, page.locator("tbody").get_by_role("link", name=certificate.number, exact=True))
        field(page, "Reason (kept in the records, not shown on the public verification page)").fill(REASON)
        question = follow_confirming(page, page.get_by_role("button", name="Revoke", exact=True))
        assert question == "Revoke this certificate?"
        assert flash_text(page) == f"Certificate {certificate.number} has been revoked."
        assert page.locator(".page-head .badge").inner_text() == "Revoked"
        assert REASON in text_of(page.locator("dl.facts"))
        revoked = certificate_of(app, event.id, student.id)
        assert revoked.id == certificate.id and revoked.revoked and revoked.reason == REASON

        # --- The public page now says revoked, and keeps the reason to itself. ---
        assert public.reload().ok
        assert text_of(public.locator(".verify-verdict")) == "Revoked"
        assert "It is no longer valid." in text_of(public.locator(".verify-status"))
        assert student.name in text_of(public.locator("dl.facts"))
        content = public.content()
        assert REASON not in content and "mistake" not in content
    finally:
        visitor.close()

    # --- The student sees it revoked; its PDF can no longer be downloaded. ---
    log_out(page)
    log_in(page, STUDENT)
    assert page.get_by_role("region", name="Your certificates").get_by_text(event.title).count() == 0
    follow(page, page.get_by_role("region", name="Your certificates").get_by_role("link", name="My certificates"))
    item = page.locator("li.cert-item").filter(has_text=certificate.number)
    assert text_of(item.locator(".badge")) == "Revoked"
    assert "can no longer be downloaded" in text_of(item)
    assert item.get_by_role("link", name="Download PDF").count() == 0
    assert page.request.get(urljoin(page.url, pdf_href)).status == 404
