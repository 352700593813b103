"""Browser tests: a live server on 127.0.0.1 (fresh SQLite database with demo data) and Debian's Chromium.

Skipped when Chromium is missing, unless pytest runs with --require-browser (as .ci/run does), which
turns a missing browser into a failure. On failure, a screenshot and the page's HTML are saved under
test-results/browser/.
"""
import os
import re
import shutil
import socket
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "test-results", "browser")
DEMO_PASSWORD = "demo-password"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _chromium_available() -> bool:
    return os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="session")
def browser(request):
    if not _chromium_available():
        message = f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        if request.config.getoption("--require-browser"):
            pytest.fail(message + " — and --require-browser was given", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(browser):
    """The app served on 127.0.0.1 from a fresh SQLite file, migrated and loaded with demo data."""
    from flask_migrate import upgrade

    from exchange import create_app
    from exchange.config import Config
    from exchange.demo import seed_demo
    tmp = tempfile.mkdtemp(prefix="exchange-browser-")
    port = _free_port()
    app = create_app(Config, SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(tmp, "live.db"),
                     UPLOAD_FOLDER=os.path.join(tmp, "uploads"), MAIL_FOLDER=os.path.join(tmp, "mail"),
                     BASE_URL=f"http://127.0.0.1:{port}", SECRET_KEY="browser-tests", MAIL_SERVER="",
                     REDIS_URL="", RATELIMIT_STORAGE_URI="memory://", AUTH_RATE_LIMIT="10000 per minute",
                     PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    with app.app_context():
        upgrade()
        seed_demo()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.live_url = f"http://127.0.0.1:{port}"
    yield app
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            os.makedirs(RESULTS, exist_ok=True)
            base = os.path.join(RESULTS, item.name.replace("/", "_"))
            try:
                page.screenshot(path=base + ".png", full_page=True)
                with open(base + ".html", "w", encoding="utf-8") as fh:
                    fh.write(page.content())
                report.sections.append(("browser", f"screenshot and HTML saved to {base}.png/.html"))
            except Exception as exc:  # the page may be gone; the failure itself matters more
                report.sections.append(("browser", f"could not save the page: {exc}"))


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context, live_server):
    page = context.new_page()
    page.base_url = live_server.live_url
    return page


def field(page, label):
    """The control labelled exactly `label` (the label may end with the required-field marker)."""
    return page.get_by_label(re.compile(r"^\s*" + re.escape(label) + r"\s*\*?\s*$"))


def go(page, path):
    page.goto(page.base_url + path)


def log_in(page, email, password=DEMO_PASSWORD):
    go(page, "/auth/login")
    field(page, "Email address").fill(email)
    field(page, "Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def log_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()


def check_accessibility(page, path_label=""):
    """axe-core (WCAG 2.1 A/AA rules): no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page, options={"runOnly": {"type": "tag",
                                                   "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    details = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                                                 else str(n["target"]) for n in v["nodes"][:5])
        for v in bad)
    assert not bad, f"accessibility problems on {path_label or page.url}:\n{details}"
