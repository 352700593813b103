"""Every route of every blueprint enforces who may use it.

- A view is either marked @public or sends anonymous visitors to the login page (GET and POST).
- A view restricted with role_required answers 403 to every other role, before it looks anything up.
Row-level denials (another person's record answers 404) are tested in each domain's tests.
"""
import re

import pytest

from exchange.auth.models import Role

PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def concrete(rule) -> str:
    def fill(match):
        converter = match.group(1) or "string"
        return "999999" if converter in ("int", "path", "string", "default") else "x"
    return PLACEHOLDER.sub(fill, rule.rule)


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("_"):
            continue
        view = app.view_functions[rule.endpoint]
        methods = sorted(m for m in rule.methods if m in ("GET", "POST"))
        yield rule, view, methods


def test_every_route_is_public_or_needs_login(app, client, db):
    problems = []
    for rule, view, methods in routes(app):
        if getattr(view, "is_public", False):
            continue
        for method in methods:
            response = client.open(concrete(rule), method=method)
            if response.status_code != 302 or "/auth/login" not in response.headers.get("Location", ""):
                problems.append(f"{method} {rule.rule} -> {response.status_code}")
    assert not problems, "routes open to anonymous visitors without @public:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", list(Role))
def test_role_restricted_routes_refuse_other_roles(app, client, login, role):
    login(role)
    problems = []
    checked = 0
    for rule, view, methods in routes(app):
        allowed = getattr(view, "allowed_roles", None)
        if allowed is None or role in allowed:
            continue
        for method in methods:
            checked += 1
            response = client.open(concrete(rule), method=method)
            if response.status_code != 403:
                problems.append(f"{method} {rule.rule} -> {response.status_code}")
    assert not problems, f"routes not refused to {role.value}:\n" + "\n".join(problems)
    if role is not Role.admin:
        assert checked > 0
