"""Browser tests: a live server on 127.0.0.1 (fresh SQLite database with demo data) and Debian's Chromium.

Skipped when Chromium is missing, unless pytest runs with --require-browser (as .ci/run does), which
turns a missing browser into a failure. On failure, a screenshot and the page's HTML are saved under
test-results/browser/. The helpers that drive the pages (log_in, field, follow, …) are in
tests/fixtures/browser.py.
"""
import os
import secrets
import shutil
import tempfile
import threading

import pytest
from werkzeug.serving import make_server

from tests.fixtures.network import free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "test-results", "browser")


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


@pytest.fixture(scope="session")
def live_server(browser):
    """The app served on 127.0.0.1 from a fresh SQLite file, migrated and loaded with demo data."""
    from flask_migrate import upgrade

    from exchange import create_app
    from exchange.config import Config
    from exchange.demo import seed_demo
    tmp = tempfile.mkdtemp(prefix="exchange-browser-")
    port = free_port()
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
