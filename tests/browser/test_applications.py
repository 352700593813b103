"""Applications through the real pages: a new student applies over several visits and submits; a coordinator
finds an application in the pipeline, reviews, scores and decides; the student sees the decision.
The application form works with the keyboard alone, and every control on it has a name."""
import re
import uuid

import pytest

from tests.fixtures.browser import (accessible_names, check_accessibility, field, fields_before_focus, follow, go,
                                    log_in, log_out, open_call_place, submit_application_for, tab_until)

MOTIVATION = ("I would like to spend a semester abroad to follow courses that my faculty does not offer, to "
              "practise the language every day and to meet students from other countries. The destinations I "
              "chose have strong research groups in my field.")
STEPS_WITH_FORMS = ["personal", "study", "languages", "motivation", "destinations"]


def tiny_pdf(title: str = "Test document") -> bytes:
    """A minimal valid one-page PDF."""
    stream = f"BT /F1 18 Tf 72 760 Td ({title}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def flash_text(page) -> str:
    return page.locator(".flashes").inner_text()


def save_and_continue(page, expected_step: str):
    follow(page, page.get_by_role("button", name="Save and continue"))
    assert "Saved." in flash_text(page)
    assert page.url.endswith(f"/edit/{expected_step}")


def open_my_application(page):
    """From anywhere: the navigation's "My applications", then "Continue my application"."""
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications"))
    follow(page, page.get_by_role("link", name="Continue my application"))


def test_new_student_applies_over_several_visits_and_submits(page, live_server):
    place = open_call_place(live_server)
    name = f"Nadia Keller {uuid.uuid4().hex[:4].upper()}"
    email = f"nadia-{uuid.uuid4().hex[:6]}@example.org"

    # Sign up.
    go(page, "/")
    follow(page, page.get_by_role("link", name="Create a student account").first)
    field(page, "Full name").fill(name)
    field(page, "Email address").fill(email)
    field(page, "Password").fill("Green-Valley-2027")
    field(page, "Repeat the password").fill("Green-Valley-2027")
    follow(page, page.get_by_role("button", name="Create account"))
    field(page, "Password").fill("Green-Valley-2027")  # on the login page, the address filled in
    follow(page, page.get_by_role("button", name="Log in"))
    assert page.get_by_role("heading", name=f"Hello, {name}").is_visible()

    # Apply to the open call from "My applications".
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications"))
    call_card = page.locator("section.card").filter(has=page.get_by_role("heading", name=place.call_title))
    follow(page, call_card.get_by_role("button", name="Apply"))
    assert "Your application has been started" in flash_text(page)
    assert page.get_by_role("heading", name="Personal details").is_visible()

    # Visit 1: personal details. A mistake is shown beside its field and what was typed stays.
    assert field(page, "Full name").input_value() == name
    field(page, "Date of birth").fill("2004-03-14")
    field(page, "Nationality").select_option("PT")
    field(page, "Student number").fill("no spaces allowed")
    follow(page, page.get_by_role("button", name="Save and continue"))
    assert page.get_by_text("Use 3 to 32 letters, digits, dots, dashes or slashes.").is_visible()
    assert field(page, "Student number").get_attribute("aria-invalid") == "true"
    assert field(page, "Nationality").input_value() == "PT"
    check_accessibility(page, "personal details step with an error")
    field(page, "Student number").fill("UV2027-118")
    save_and_continue(page, "study")
    log_out(page)

    # Visit 2: the draft kept the personal details; fill in the studies and languages.
    log_in(page, email, "Green-Valley-2027")
    open_my_application(page)
    assert field(page, "Student number").input_value() == "UV2027-118"
    assert field(page, "Date of birth").input_value() == "2004-03-14"
    assert field(page, "Nationality").input_value() == "PT"
    steps = page.get_by_role("navigation", name="Sections of the application")
    follow(page, steps.get_by_role("link", name=re.compile("Studies")))
    field(page, "Study programme").fill("Bachelor in Testing")
    field(page, "Subject area (ISCED-F)").select_option(place.isced_code)
    field(page, "Study level (EQF)").select_option(str(place.eqf_level))
    field(page, "Year of study").fill("3")
    field(page, "Grade point average").fill("8.2")
    field(page, "Grading scale").select_option("0-10")
    save_and_continue(page, "languages")
    wanted = dict(place.languages[:3])
    wanted.setdefault("es", "C2")  # the mother tongue
    for n, (code, _level) in enumerate(wanted.items(), start=1):
        row = page.get_by_role("group", name=f"Language {n}", exact=True)
        row.get_by_label("Language").select_option(code)
        row.get_by_label("Level (CEFR)").select_option("C2")
    save_and_continue(page, "motivation")
    page.get_by_role("textbox", name="Motivation", exact=True).fill(MOTIVATION)
    follow(page, page.get_by_role("button", name="Save draft"))
    assert "Saved." in flash_text(page)
    log_out(page)

    # Visit 3: everything is still there; rank a destination, upload the documents, submit.
    log_in(page, email, "Green-Valley-2027")
    open_my_application(page)
    steps = page.get_by_role("navigation", name="Sections of the application")
    for done in ("Personal details", "Studies", "Languages", "Motivation"):
        assert steps.get_by_role("link", name=re.compile(rf"{done}\s+complete")).count() == 1, done
    follow(page, steps.get_by_role("link", name=re.compile("Motivation")))
    assert page.get_by_role("textbox", name="Motivation", exact=True).input_value() == MOTIVATION
    save_and_continue(page, "destinations")
    choice = field(page, "Choice 1")
    choice.select_option(str(place.id))
    assert "do not meet" not in choice.locator("option:checked").inner_text()
    follow(page, page.get_by_role("button", name="Save draft"))
    assert page.get_by_text("You meet the conditions of this destination.").is_visible()
    save_and_continue(page, "documents")
    documents = page.locator(".document-slot")
    titles = documents.get_by_role("heading").all_inner_texts()
    assert titles, "the call asks for documents"
    for title in titles:
        slot = page.get_by_role("group", name=title, exact=True)
        slot.get_by_label("File").set_input_files({"name": f"{title.lower().replace(' ', '-')}.pdf",
                                                   "mimeType": "application/pdf", "buffer": tiny_pdf(title)})
        follow(page, slot.get_by_role("button", name="Upload"))
        assert f"{title} uploaded." in flash_text(page)
        assert page.get_by_role("group", name=title, exact=True).get_by_role("button", name="Replace").is_visible()
    follow(page, page.get_by_role("link", name="Continue", exact=True))
    assert page.get_by_text("Your application is complete and can be submitted.").is_visible()
    assert page.locator("dl.facts").get_by_text(place.partner).first.is_visible()
    follow(page, page.get_by_role("button", name="Submit my application"))

    # The status is shown, on the application and on "My applications".
    assert page.locator(".badge", has_text="Submitted").first.is_visible()
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications"))
    card = page.locator("section.application-card").filter(has=page.get_by_role("heading", name=place.call_title))
    assert card.locator(".call-head .badge").inner_text() == "Submitted"
    assert card.get_by_role("link", name="Continue my application").count() == 0


def test_coordinator_reviews_scores_and_decides_and_the_student_sees_it(page, live_server, make_student):
    student = make_student("Quentin Marchand")
    submit_application_for(live_server, student)

    log_in(page, "coordinator@demo.test")
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Applications", exact=True))
    follow(page, page.get_by_role("link", name=re.compile(r"^Semester exchange")).first)
    field(page, "Search").fill(student.name)
    follow(page, page.get_by_role("button", name="Filter"))
    rows = page.locator("table.pipeline tbody tr")
    assert rows.count() == 1
    assert rows.first.locator(".badge").inner_text() == "Submitted"
    follow(page, rows.first.get_by_role("link", name=student.name))
    assert page.get_by_role("heading", name=student.name, level=1).is_visible()

    # Start the review.
    decision = page.locator("#decision")
    decision.get_by_label("New status").select_option(label="Under review")
    follow(page, decision.get_by_role("button", name="Save decision"))
    assert "The application is now Under review." in flash_text(page)

    # Score each criterion of the demo call (0–10); the weighted total (GPA 50 %, language 20 %, motivation 30 %).
    scores = page.locator("#scores")
    for criterion, score in {"GPA": "9", "Language": "7", "Motivation": "8"}.items():
        field(scores, criterion).fill(score)
    follow(page, scores.get_by_role("button", name="Save my scores"))
    assert "Your scores have been saved" in flash_text(page)
    assert page.locator("#scores .score-total strong").inner_text() == "83.0"

    # Mark it eligible.
    decision = page.locator("#decision")
    decision.get_by_label("New status").select_option(label="Eligible")
    follow(page, decision.get_by_role("button", name="Save decision"))
    assert "The application is now Eligible." in flash_text(page)
    assert page.locator(".page-head .badge").inner_text() == "Eligible"
    check_accessibility(page, "review page after the decision")
    log_out(page)

    # The student sees the new status.
    log_in(page, student.email)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications"))
    card = page.locator("section.application-card").first
    assert card.locator(".call-head .badge").inner_text() == "Eligible"
    follow(page, card.get_by_role("link", name="View application"))
    assert page.locator(".timeline").get_by_text("Eligible").first.is_visible()


@pytest.fixture
def draft_student(live_server, make_student):
    """A new student who has just started an application to the open call."""
    from sqlalchemy import select

    from exchange.applications import services
    from exchange.applications.models import Call
    from exchange.auth.models import User
    from exchange.extensions import db
    student = make_student("Kai Lindholm")
    with live_server.app_context():
        call = db.session.scalar(select(Call).where(Call.title.like("Semester exchange %")))
        student.application_id = services.start_application(call, db.session.get(User, student.id)).id
        db.session.commit()
    return student


def test_application_form_works_with_the_keyboard_and_every_control_has_a_name(page, draft_student):
    log_in(page, draft_student.email)
    base = f"/applications/{draft_student.application_id}/edit"

    # Every step: each control has an accessible name, and Tab reaches every control and the submit button.
    for step in [*STEPS_WITH_FORMS, "documents", "review"]:
        go(page, f"{base}/{step}")
        forms = "section.step-card form"
        controls = accessible_names(page, f"{forms} input, {forms} select, {forms} textarea, {forms} button")
        assert controls, step
        unnamed = [control for control, name in controls if not name]
        assert not unnamed, f"controls without a name on the {step} step: {unnamed}"
        main_button = {"documents": "Upload", "review": "Submit my application"}.get(step, "Save and continue")
        seen = tab_until(page, f"el => el.tagName === 'BUTTON' && el.closest('section.step-card') "
                               f"&& el.textContent.trim() === {main_button!r}")
        before = fields_before_focus(page, "section.step-card")
        missed = [control for control in before if control not in seen]
        assert not missed, f"Tab skipped {missed} on the {step} step"

    # Fill the personal details with the keyboard alone: Tab from the top of the page, type, Enter.
    go(page, f"{base}/personal")
    tab_until(page, "el => el.id === 'full_name'")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("Kai Lindholm")
    page.keyboard.press("Tab")  # date of birth: 7 July, the same typed day-first or month-first
    page.keyboard.type("07072003")
    tab_until(page, "el => el.id === 'nationality'", limit=3)  # past the date picker button
    page.keyboard.type("Finland")  # a closed select picks the option typed
    page.keyboard.press("Tab")
    page.keyboard.type("FI-2023-77")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits with the default button, "Save and continue"
    assert "Saved." in flash_text(page)
    assert page.url.endswith("/edit/study")
    go(page, f"{base}/personal")
    assert field(page, "Full name").input_value() == "Kai Lindholm"
    assert field(page, "Date of birth").input_value() == "2003-07-07"
    assert field(page, "Nationality").input_value() == "FI"
    assert field(page, "Student number").input_value() == "FI-2023-77"

    # The motivation with the keyboard, saved as a draft with the second button.
    go(page, f"{base}/motivation")
    tab_until(page, "el => el.id === 'motivation'")
    page.keyboard.type(MOTIVATION)
    tab_until(page, "el => el.tagName === 'BUTTON' && el.textContent.trim() === 'Save draft'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Saved." in flash_text(page)
    assert page.get_by_role("textbox", name="Motivation", exact=True).input_value() == MOTIVATION
