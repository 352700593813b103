"""axe-core finds no serious or critical WCAG 2.1 AA violation on the main pages of each role.

Paths may name demo records as {key}: the keys of the `demo_ids` fixture (looked up in the live database).
Every page of a role is checked, and all the problems found are reported together.
"""
import pytest

from tests.fixtures.browser import check_accessibility, go, log_in

APPLICATION_STEPS = ["personal", "study", "languages", "motivation", "destinations", "documents", "review"]
RUN_TABS = ["places", "placed", "unplaced", "adjustments"]

PAGES = {
    None: ["/", "/auth/login", "/auth/signup", "/auth/forgot", "/applications/calls",
           "/verify/demo-valid-certificate", "/verify/demo-revoked-certificate"],
    "student": [
        "/", "/auth/account",
        "/applications/calls", "/applications/",
        *[f"/applications/{{my_application}}/edit/{step}" for step in APPLICATION_STEPS],
        "/applications/{my_application}",
        "/events/", "/events/calendar", "/events/{event}", "/events/{full_event}", "/events/{past_event}",
        "/events/mine",
        "/placements/my/{offer_application}", "/placements/partners/{institution}",
        "/placements/calls/{open_call}/destinations",
        "/certificates/mine",
    ],
    "coordinator": [
        "/", "/auth/account",
        "/partners/institutions/", "/partners/institutions/{institution}", "/partners/institutions/new",
        "/partners/agreements/", "/partners/agreements/{agreement}", "/partners/agreements/new",
        "/partners/balance",
        "/partners/institutions/{institution}/edit", "/partners/agreements/{agreement}/edit",
        "/partners/institutions/import",
        "/applications/manage", "/applications/manage/calls/{open_call}", "/applications/manage/calls/{closed_call}",
        "/applications/manage/applications/{submitted_application}",
        "/applications/manage/calls/new", "/applications/manage/calls/{open_call}/edit",
        "/applications/manage/calls/{open_call}/places",
        "/events/", "/events/calendar", "/events/{event}", "/events/{event}/registrations",
        "/events/{event}/checkin", "/events/new", "/events/{event}/edit", "/events/{event}/questions",
        "/events/{event}/message",
        "/placements/", "/placements/calls/{placement_call}", "/placements/calls/{closed_call}",
        *[f"/placements/runs/{{published_run}}?tab={tab}" for tab in RUN_TABS],
        *[f"/placements/runs/{{draft_run}}?tab={tab}" for tab in RUN_TABS],
        "/placements/runs/{draft_run}/placements/{draft_placement}/move",
        "/placements/calls/{placement_call}/compare?a={published_run}&b={draft_run}",
        "/placements/calls/{placement_call}/offers", "/placements/calls/{placement_call}/nominations",
        "/placements/applications/{nominated_application}/nominate",
        "/placements/nominations/{pending_nomination}/cancel",
        "/placements/partners/{institution}", "/placements/partners/{institution}/factsheet",
        "/certificates/", "/certificates/{certificate}", "/certificates/{revoked_certificate}",
        "/certificates/events", "/certificates/events/{certificate_event}",
        "/certificates/calls", "/certificates/calls/{certificate_call}",
        "/certificates/applications/{placed_application}/completion",
    ],
    "partner": [
        "/", "/auth/account",
        "/partners/agreements/", "/partners/agreements/{agreement}", "/partners/institutions/{institution}",
        "/events/", "/events/{event}",
        "/placements/incoming", "/placements/incoming?status=nominated", "/placements/incoming/{pending_nomination}",
        "/placements/factsheet", "/placements/partners/{institution}",
        "/certificates/nominees",
    ],
    "admin": ["/", "/admin/users", "/admin/users/invite", "/admin/users/{student}", "/admin/audit",
              "/certificates/settings"],
}


@pytest.mark.parametrize("role", list(PAGES))
def test_main_pages_have_no_serious_accessibility_problems(page, role, demo_ids):
    if role:
        log_in(page, f"{role}@demo.test")
    problems = []
    for path in PAGES[role]:
        url = path.format(**demo_ids)
        response = go(page, url)
        if not response.ok:
            problems.append(f"{role or 'visitor'} {path} ({url}) answered {response.status}")
            continue
        try:
            check_accessibility(page, f"{role or 'visitor'} {path} ({url})")
        except AssertionError as exc:
            problems.append(str(exc).split("\nassert")[0])
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
