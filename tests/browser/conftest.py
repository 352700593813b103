"""Browser tests: a live server on 127.0.0.1 (fresh SQLite database with demo data) and Debian's Chromium.

Skipped when Chromium is missing, unless pytest runs with --require-browser (as .ci/run does), which
turns a missing browser into a failure. On failure, a screenshot and the page's HTML are saved under
test-results/browser/.
"""
import os
import re
import secrets
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
                     BASE_URL=f"http://127.0.0.1:{port}", SECRET_KEY=secrets.token_hex(32), MAIL_SERVER="",
                     REDIS_URL="", RATELIMIT_STORAGE_URI="memory://", AUTH_RATE_LIMIT="10000 per minute",
                     PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
                     CHECKIN_OPENS_BEFORE_MINUTES=14 * 24 * 60)  # the demo's next events are days away
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
    return page.goto(page.base_url + path)


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


@pytest.fixture(scope="session")
def demo_ids(live_server):
    """Ids of demo records the page tests visit, looked up in the live server's database."""
    from sqlalchemy import select

    from exchange.applications.models import Application, Call
    from exchange.applications.workflow import ApplicationStatus
    from exchange.auth.models import User
    from exchange.events.models import Event
    from exchange.extensions import db
    from exchange.partners.models import Agreement
    with live_server.app_context():
        def user(email):
            return db.session.scalar(select(User).where(User.email == email))

        student, partner = user("student@demo.test"), user("partner@demo.test")
        open_call = db.session.scalar(select(Call).where(Call.title.like("Semester exchange %")))
        closed_call = db.session.scalar(select(Call).where(Call.title.like("Full-year exchange %")))
        agreement = db.session.scalar(select(Agreement).where(Agreement.partner_id == partner.institution_id)
                                      .order_by(Agreement.id))
        submitted = db.session.scalar(select(Application).where(Application.call_id == open_call.id,
                                                                Application.status == ApplicationStatus.submitted)
                                      .order_by(Application.id))

        def event(title):
            return db.session.scalar(select(Event.id).where(Event.title == title))

        ids = {
            "student": student.id,
            "institution": partner.institution_id,
            "agreement": agreement.id,
            "open_call": open_call.id,
            "closed_call": closed_call.id,
            "my_application": db.session.scalar(select(Application.id).where(
                Application.call_id == open_call.id, Application.student_id == student.id)),
            "submitted_application": submitted.id,
            "event": event("Flamenco workshop for beginners"),
            "full_event": event("Flavours of the world: international potluck"),
            "past_event": event("Welcome week: campus tour and tapas"),
            **_placement_ids(partner),
            **_certificate_ids(),
        }
    assert all(ids.values()), ids
    return ids


def _placement_ids(partner) -> dict:
    """The demo's finished placements call ("Spring semester …"): its published run, the demo student's offer,
    nominations to the demo partner; and a draft second-round run of that call with one of its placements.

    The demo publishes every run it makes, so the draft run (the only way to see the Move buttons and the
    move form) is made here, once per session, unless an earlier lookup made it. The journey of
    test_placements works on the other closed call ("Full-year exchange …"), which this leaves untouched.
    """
    from sqlalchemy import select

    from exchange.applications.models import Application, Call
    from exchange.auth.models import User
    from exchange.extensions import db
    from exchange.placements import runs
    from exchange.placements.models import MatchingRun, Nomination, NominationStatus, RunPlacement, RunStatus
    call = db.session.scalar(select(Call).where(Call.title.like("Spring semester %")))
    published = db.session.scalar(select(MatchingRun).where(MatchingRun.call_id == call.id,
                                                            MatchingRun.status == RunStatus.published)
                                  .order_by(MatchingRun.round))
    draft = db.session.scalar(select(MatchingRun).where(MatchingRun.call_id == call.id,
                                                        MatchingRun.status == RunStatus.draft)
                              .order_by(MatchingRun.id))
    if draft is None:
        coordinator = db.session.scalar(select(User).where(User.email == "coordinator@demo.test"))
        draft = runs.run_matching(call, by=coordinator)
        db.session.commit()
    placement = db.session.scalar(select(RunPlacement).where(RunPlacement.run_id == draft.id)
                                  .order_by(RunPlacement.place_id.is_(None), RunPlacement.id))
    student = db.session.scalar(select(User).where(User.email == "student@demo.test"))
    nominations = db.session.scalars(select(Nomination).join(Nomination.application)
                                     .where(Application.call_id == call.id,
                                            Nomination.institution_id == partner.institution_id)
                                     .order_by(Nomination.id)).all()
    pending = next(n for n in nominations if n.status is NominationStatus.nominated)
    return {
        "placement_call": call.id,
        "published_run": published.id,
        "draft_run": draft.id,
        "draft_placement": placement.id,
        "offer_application": db.session.scalar(select(Application.id).where(
            Application.call_id == call.id, Application.student_id == student.id)),
        "pending_nomination": pending.id,
        "nominated_application": pending.application_id,
    }


def _certificate_ids() -> dict:
    """The demo's certificates: the demo student's valid certificate of participation (its event too) and the
    revoked one (fixed verification codes, see exchange/certificates/demo.py); a placed application (with a
    completed exchange recorded when the demo has one) and its call, for the placement and completion pages."""
    from sqlalchemy import select

    from exchange.applications.models import Application
    from exchange.certificates.demo import REVOKED_CODE, VALID_CODE
    from exchange.certificates.kinds import PLACED_STATUSES
    from exchange.certificates.models import Certificate, CompletionRecord
    from exchange.extensions import db
    valid = db.session.scalar(select(Certificate).where(Certificate.code == VALID_CODE))
    placed = (select(Application).where(Application.status.in_(PLACED_STATUSES),
                                        Application.placed_place_id.is_not(None)).order_by(Application.id))
    application = (db.session.scalar(placed.where(Application.id.in_(select(CompletionRecord.application_id))))
                   or db.session.scalar(placed))
    return {
        "certificate": valid.id,
        "certificate_event": valid.event_id,
        "revoked_certificate": db.session.scalar(select(Certificate.id).where(Certificate.code == REVOKED_CODE)),
        "certificate_call": application.call_id,
        "placed_application": application.id,
    }


@pytest.fixture
def make_student(live_server):
    """make_student("First Last") → a new student account in the live database (.id, .email, .name).

    A short random tag is added to the name so that a search finds this student only.
    """
    import uuid
    from types import SimpleNamespace

    from exchange.auth.models import Role
    from exchange.demo import demo_user
    from exchange.extensions import db

    def make(name: str):
        tag = uuid.uuid4().hex[:6]
        full_name = f"{name} {tag.upper()}"
        email = f"student-{tag}@example.org"
        with live_server.app_context():
            user = demo_user(email, full_name, Role.student)
            db.session.commit()
            return SimpleNamespace(id=user.id, email=email, name=full_name)
    return make


def submit_application_for(app, student) -> int:
    """A complete application to the open demo call, submitted by `student`; returns its id."""
    import random

    from sqlalchemy import select

    from exchange.applications import demo as applications_demo
    from exchange.applications import services
    from exchange.applications.models import Call
    from exchange.auth.models import User
    from exchange.extensions import db
    with app.app_context():
        user = db.session.get(User, student.id)
        call = db.session.scalar(select(Call).where(Call.title.like("Semester exchange %")))
        application = services.start_application(call, user)
        places = services.load_places(call)
        rng = random.Random(student.id)
        profile = applications_demo._profile(rng, places, 0)
        applications_demo._fill(application, rng, profile, places, student.name, 0, complete=True)
        services.submit_application(application, by=user)
        db.session.commit()
        return application.id


def open_call_place(app):
    """A destination of the open demo call and what a student must declare to meet its conditions."""
    from types import SimpleNamespace

    from sqlalchemy import select

    from exchange.applications import services
    from exchange.applications.models import Call
    from exchange.extensions import db
    with app.app_context():
        call = db.session.scalar(select(Call).where(Call.title.like("Semester exchange %")))
        places = services.load_places(call)
        levels = set(call.eqf_level_list)
        place = next(p for p in places if not levels or levels & set(p.condition.eqf_level_list))
        eqf = next(level for level in place.condition.eqf_level_list if not levels or level in levels)
        return SimpleNamespace(id=place.id, call_id=call.id, call_title=call.title, partner=place.partner.name,
                               isced_code=place.condition.isced_code, eqf_level=eqf,
                               languages=list(place.language_requirements))


# JavaScript: how a control is named in the helpers' messages ('select#nationality[name=nationality]').
DESCRIBE_JS = "el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '')"


def accessible_names(page, selector):
    """[(description of the control, its accessible name)] for the visible controls matched by `selector`.

    The name is computed as browsers do for form controls: aria-labelledby, aria-label, <label>, the text of a
    button, the value of a submit input, the title.
    """
    return page.locator(selector).evaluate_all("""els => { const describe = %s;
      const text = (node) => (node ? node.textContent : '').replace(/\\s+/g, ' ').trim();
      return els.filter(el => el.type !== 'hidden' && !el.hidden && el.getClientRects().length > 0).map(el => {
        let name = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
          .map(id => text(document.getElementById(id))).join(' ');
        name = name || (el.getAttribute('aria-label') || '').trim();
        if (!name && el.labels) name = Array.from(el.labels).map(text).join(' ');
        if (!name && (el.tagName === 'BUTTON' || el.tagName === 'A')) name = text(el);
        if (!name && el.type === 'submit') name = el.value;
        name = name || (el.getAttribute('title') || '').trim();
        return [describe(el), name];
      }); }""" % DESCRIBE_JS)


def tab_until(page, predicate_js, limit=80):
    """Press Tab until the focused element satisfies `predicate_js` (a JS function of the element).

    Returns the elements focused on the way (described as DESCRIBE_JS does); fails after `limit` presses.
    """
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(f"({DESCRIBE_JS})(document.activeElement)"))
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return seen
    raise AssertionError(f"Tab never reached the element; focus went through: {seen}")


def fields_before_focus(page, container_selector):
    """The visible inputs, selects and text areas of the container that come before the focused element."""
    return page.evaluate("""selector => { const focused = document.activeElement; const describe = %s;
        return Array.from(document.querySelector(selector).querySelectorAll('input, select, textarea'))
          .filter(el => el.type !== 'hidden' && el.getClientRects().length > 0
                        && (el.compareDocumentPosition(focused) & Node.DOCUMENT_POSITION_FOLLOWING))
          .map(describe); }""" % DESCRIBE_JS, container_selector)


def follow(page, locator):
    """Click a link or button that loads a page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def follow_confirming(page, locator) -> str:
    """Click a button that asks "are you sure?" first (data-confirm: the browser's confirm dialog), answer OK, and
    wait for the page it loads. Returns the question the dialog asked.

    (Playwright dismisses dialogs nobody handles: without this the click would do nothing.)
    """
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    follow(page, locator)
    assert questions, "the button did not ask for confirmation"
    return questions[0]


def squash(text: str) -> str:
    """Runs of white space (including the narrow no-break spaces of formatted times) as one plain space."""
    return " ".join(text.split())
