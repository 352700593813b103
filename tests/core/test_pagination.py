"""Page numbers from the query string: every paginated list takes any ?page= without an error."""
import pytest

from exchange.auth.models import Role
from exchange.core.pagination import MAX_PAGE, requested_page
from exchange.placements import runs

HUGE = "99999999999999999999"

#: (role, url): every paginated page, as each role that sees it. {call} and {run} are filled in by the test.
PAGES = [
    (Role.coordinator, "/applications/manage/calls/{call}"),
    (Role.coordinator, "/applications/manage/calls/{call}?status=submitted"),
    (Role.coordinator, "/certificates/"),
    (Role.coordinator, "/certificates/events"),
    (Role.coordinator, "/certificates/calls"),
    (Role.coordinator, "/partners/institutions/"),
    (Role.coordinator, "/partners/agreements/"),
    (Role.coordinator, "/partners/balance"),
    (Role.coordinator, "/placements/runs/{run}"),
    (Role.coordinator, "/placements/runs/{run}?tab=placed"),
    (Role.coordinator, "/placements/runs/{run}?tab=unplaced"),
    (Role.coordinator, "/placements/calls/{call}/offers"),
    (Role.coordinator, "/placements/calls/{call}/nominations"),
    (Role.coordinator, "/events/"),
    (Role.admin, "/admin/users"),
    (Role.admin, "/admin/audit"),
    (Role.admin, "/certificates/"),
    (Role.admin, "/applications/manage/calls/{call}"),
    (Role.partner, "/placements/incoming"),
    (Role.partner, "/certificates/nominees"),
    (Role.partner, "/partners/agreements/"),
    (Role.partner, "/events/"),
    (Role.student, "/events/"),
]


@pytest.mark.parametrize("page", [HUGE, "9" * 5000, "²"])
@pytest.mark.parametrize(("role", "url"), PAGES)
def test_any_page_number_is_answered(client, login, placing, role, url, page):
    world = placing(scores=(90, 80), seats=(1,))
    run = runs.run_matching(world.call, by=world.coordinator)
    login(role)
    url = url.format(call=world.call.id, run=run.id)
    response = client.get(url + ("&" if "?" in url else "?") + "page=" + page)
    assert response.status_code == 200, response.status_code


def test_requested_page_reads_ascii_digits_and_clamps(app):
    for query, page in [("", 1), ("page=3", 3), ("page=0", 1), ("page=-2", 1), ("page=²", 1), ("page=٣", 1),
                        ("page=+3", 1), ("page=3_0", 1), ("page= 3", 1), ("page=" + HUGE, MAX_PAGE),
                        ("page=" + "0" * 50 + "7", 7), ("page=" + "9" * 5000, MAX_PAGE)]:
        with app.test_request_context("/?" + query):
            assert requested_page() == page, query
