"""axe-core finds no serious or critical WCAG 2.1 AA violation on the main pages of each role."""
import pytest

from tests.browser.conftest import check_accessibility, go, log_in

PAGES = {
    None: ["/", "/auth/login", "/auth/signup", "/auth/forgot"],
    "student": ["/", "/auth/account"],
    "coordinator": ["/", "/auth/account"],
    "partner": ["/", "/auth/account"],
    "admin": ["/", "/admin/users", "/admin/users/invite", "/admin/audit"],
}


@pytest.mark.parametrize("role", list(PAGES))
def test_main_pages_have_no_serious_accessibility_problems(page, role):
    if role:
        log_in(page, f"{role}@demo.test")
    for path in PAGES[role]:
        go(page, path)
        check_accessibility(page, f"{role or 'visitor'} {path}")
