"""The suite's configuration: its command-line options, and its fixtures registered once from tests/fixtures/.

Per-directory conftest.py files hold only what is local to their directory (the browser tests' live server,
the scale tests' data set, autouse settings of one domain).
"""
pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.users",
    "tests.fixtures.mail",
    "tests.fixtures.queues",
    "tests.fixtures.partners",
    "tests.fixtures.calls",
    "tests.fixtures.applications",
    "tests.fixtures.placements",
    "tests.fixtures.events",
    "tests.fixtures.certificates",
    "tests.fixtures.queries",
    "tests.fixtures.migrations",
]


def pytest_addoption(parser):
    parser.addoption("--require-browser", action="store_true", default=False,
                     help="fail (instead of skipping) the browser tests when Chromium is missing")
    parser.addoption("--require-redis", action="store_true", default=False,
                     help="fail (instead of skipping) the tests that need Redis when it does not answer")
