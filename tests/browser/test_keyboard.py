"""Keyboard use of the page header: moving through the language list does not reload the page in another
language (WCAG 3.2.2, On Input); Enter or the "Change" button does."""
from tests.fixtures.browser import go, tab_until


def test_language_list_with_the_keyboard_changes_the_language_only_when_asked(page):
    go(page, "/auth/login")
    assert not page.get_by_role("button", name="Change").is_visible()  # the mouse needs no button
    tab_until(page, "el => el.id === 'lang-select'", limit=15)
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.keyboard.press("ArrowDown")  # moves to the next language …
    page.wait_for_timeout(500)
    assert navigations == []  # … without leaving the page
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#lang-select").input_value() != "en"
    assert page.get_by_role("button", name="Change").is_visible()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("html").get_attribute("lang") != "en"

    # Back to English with the button that appeared.
    page.locator("#lang-select").focus()
    page.keyboard.type("English")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # on the button
    assert page.locator("html").get_attribute("lang") == "en"
