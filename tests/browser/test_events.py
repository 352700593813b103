"""Events through the real pages: a student registers, joins the waitlist of a full event; the organiser checks
participants in by code and from the attendee list and sees them arrive; the student sees the check-in."""
import re

from tests.fixtures.browser import check_accessibility, field, follow, log_in, log_out

OPEN_EVENT = "Flamenco workshop for beginners"
FULL_EVENT = "Flavours of the world: international potluck"  # the demo's full event, with a waitlist


def flash_text(page) -> str:
    return page.locator(".flashes").inner_text()


def open_event(page, title):
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Events", exact=True))
    follow(page, page.get_by_role("link", name=title, exact=True))
    assert page.get_by_role("heading", name=title, level=1).is_visible()


def attendee(page, name):
    return page.locator("ul.attendees li").filter(has=page.locator(".attendee-name", has_text=name))


def test_student_registers_is_waitlisted_and_the_organiser_checks_people_in(page, make_student):
    student = make_student("Lena Vogel")
    log_in(page, student.email)

    # A seat at an event with room: a ticket with a check-in code.
    open_event(page, OPEN_EVENT)
    follow(page, page.get_by_role("button", name="Register", exact=True))
    assert "You are registered." in flash_text(page)
    assert page.locator(".registration-card").get_by_text("You are registered").is_visible()
    assert page.get_by_role("img", name="QR code for check-in").is_visible()
    code = page.locator(".ticket-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code), code
    check_accessibility(page, "event page with a ticket")

    # The full event: the form offers the waitlist; its required question must be answered.
    open_event(page, FULL_EVENT)
    assert page.get_by_text("The event is full.").is_visible()
    follow(page, page.get_by_role("button", name="Join the waitlist"))
    assert field(page, "What will you bring?").get_attribute("aria-invalid") == "true"
    field(page, "What will you bring?").fill("Kanelbullar")
    follow(page, page.get_by_role("button", name="Join the waitlist"))
    assert "you are on the waitlist" in flash_text(page)
    assert page.locator(".registration-card").get_by_text("You are on the waitlist").is_visible()
    position = page.locator(".waitlist-position").inner_text()
    assert re.fullmatch(r"Position \d+ on the waitlist\.", position), position
    check_accessibility(page, "event page on the waitlist")

    # "My events" lists both.
    follow(page, page.get_by_role("link", name="All events"))
    follow(page, page.get_by_role("navigation", name="Views").get_by_role("link", name="My events"))
    upcoming = page.locator(".event-list")
    assert upcoming.locator("li", has_text=OPEN_EVENT).get_by_text("Registered").is_visible()
    assert upcoming.locator("li", has_text=FULL_EVENT).get_by_text(re.compile(r"Waitlist position \d+")).is_visible()
    log_out(page)

    # The organiser checks the student in by code, and someone else by clicking in the attendee list.
    log_in(page, "coordinator@demo.test")
    open_event(page, OPEN_EVENT)
    follow(page, page.get_by_role("navigation", name="Organiser tools").get_by_role("link", name="Check-in"))
    assert attendee(page, student.name).get_by_role("button", name="Check in").is_visible()
    arrived_before = int(page.locator(".checkin-count .value").inner_text())
    field(page, "Check-in code").fill(code.lower())
    follow(page, page.locator(".checkin-scan").get_by_role("button", name="Check in", exact=True))
    assert f"{student.name} has checked in." in flash_text(page)
    assert attendee(page, student.name).get_by_text(re.compile(r"^Arrived")).is_visible()
    assert page.locator(".arrivals").get_by_text(student.name).is_visible()

    waiting = page.locator("ul.attendees li:not(.is-in)").first
    other = waiting.locator(".attendee-name").inner_text()
    follow(page, waiting.get_by_role("button", name="Check in"))
    assert f"{other} has checked in." in flash_text(page)
    assert attendee(page, other).get_by_text(re.compile(r"^Arrived")).is_visible()
    assert int(page.locator(".checkin-count .value").inner_text()) == arrived_before + 2

    # A code that is not for this event is refused beside the field.
    field(page, "Check-in code").fill("ZZZZZ-ZZZZZ")
    follow(page, page.locator(".checkin-scan").get_by_role("button", name="Check in", exact=True))
    assert page.get_by_text("No registration has this code.").is_visible()
    assert field(page, "Check-in code").get_attribute("aria-invalid") == "true"
    check_accessibility(page, "check-in page with a refused code")
    log_out(page)

    # The student sees that they have checked in.
    log_in(page, student.email)
    open_event(page, OPEN_EVENT)
    assert page.locator(".registration-card").get_by_text(re.compile(r"^Checked in")).is_visible()
