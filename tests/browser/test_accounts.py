"""A visitor signs up, logs out and in again, changes the language; keyboard-only use of the forms."""
import uuid

from tests.fixtures.browser import field, go, log_in, log_out


def test_sign_up_log_out_and_in_again(page):
    email = f"new-{uuid.uuid4().hex[:6]}@example.org"
    go(page, "/")
    page.get_by_role("link", name="Create a student account").first.click()
    field(page, "Full name").fill("Nina Novak")
    field(page, "Email address").fill(email)
    field(page, "Password").fill("Blue-River-2027")
    field(page, "Repeat the password").fill("Blue-River-2026")
    page.get_by_role("button", name="Create account").click()
    # The mistake is shown beside the field and what was typed is kept.
    assert page.get_by_text("The two passwords do not match.").is_visible()
    assert field(page, "Email address").input_value() == email
    field(page, "Password").fill("Blue-River-2027")
    field(page, "Repeat the password").fill("Blue-River-2027")
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()
    # The login page tells them to check their mailbox, with the address filled in: the password is enough.
    assert "Check your mailbox" in page.locator(".flashes").inner_text()
    assert field(page, "Email address").input_value() == email
    field(page, "Password").fill("Blue-River-2027")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Hello, Nina Novak").is_visible()
    log_out(page)
    log_in(page, email, "Blue-River-2027")
    assert page.get_by_role("heading", name="Hello, Nina Novak").is_visible()


def test_language_switcher_changes_the_page(page):
    go(page, "/auth/login")
    with page.expect_navigation():
        page.get_by_label("Language").select_option("fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    with page.expect_navigation():
        page.locator("#lang-select").select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"


def test_login_form_works_with_the_keyboard_only(page):
    go(page, "/auth/login")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to content"
    field(page, "Email address").focus()
    page.keyboard.type("student@demo.test")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Hello," in page.locator("h1").inner_text()
