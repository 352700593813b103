"""The number of SQL statements of each main page does not grow with the rows it shows.

Every page is requested twice over the same (small) scale data set: once showing a few rows and once a
full page (or, for one record's page, a record with few and one with many children). The two must run the
same number of statements: a query per row would make the second one larger. A correctness test, not a
timing: see bench/bench_pages.py for the timings.
"""
import re
from collections import Counter
from datetime import timezone

import pytest
from flask import g
from sqlalchemy import func, insert, select

from exchange.applications.models import Application, ApplicationChoice, ApplicationComment, Review
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role, User
from exchange.events.models import Audience, Event, EventCategory, EventStatus
from exchange.extensions import db
from exchange.partners.models import Agreement, PartnerInstitution
from tests.fixtures.queries import counting_queries, signed_in_client

#: No main page should need more statements than this, whatever the data.
MAX_QUERIES = 40


def measure(app, user, url):
    client = signed_in_client(app, user)
    client.get(url)  # fills per-process caches (compiled templates, reference data)
    g.pop("_login_user", None)
    with counting_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response.get_data(as_text=True), counter


def assert_same_queries(app, few: tuple, many: tuple, row_pattern: str | None = None):
    """few/many: (user, url). Same statement count; with row_pattern, `many` must show more rows."""
    few_html, few_count = measure(app, *few)
    many_html, many_count = measure(app, *many)
    if row_pattern:
        few_rows = len(set(re.findall(row_pattern, few_html)))
        many_rows = len(set(re.findall(row_pattern, many_html)))
        assert 1 <= few_rows < many_rows, (few_rows, many_rows)
    assert few_count.count == many_count.count, (
        f"{few_count.count} statements for {few[1]} but {many_count.count} for {many[1]}:\n"
        f"--- few\n{few_count.report()}\n--- many\n{many_count.report()}")
    assert many_count.count <= MAX_QUERIES, many_count.report()


# --- Choosing records with few and many rows ------------------------------------------------------

def _no_comments():
    return ~select(ApplicationComment.id).where(ApplicationComment.application_id == Application.id).exists()


def applications_with_choices(call_id):
    """Two eligible applications of the large call without comments: (fewest choices, most choices)."""
    n_choices = (select(func.count(ApplicationChoice.id)).where(ApplicationChoice.application_id == Application.id)
                 .scalar_subquery())
    n_reviews = select(func.count(Review.id)).where(Review.application_id == Application.id).scalar_subquery()
    rows = db.session.execute(
        select(Application, n_choices, n_reviews)
        .where(Application.call_id == call_id, Application.status == S.eligible, _no_comments())
        .order_by(n_choices, n_reviews, Application.id)).all()
    few, many = rows[0], max(rows, key=lambda row: (row[1], row[2]))
    assert (few[1], few[2]) < (many[1], many[2])
    return few[0], many[0]


def students_by_applications():
    """(a student with one application, a student with the most), neither with comments, both with the open
    call still to apply to (the dashboard counts that call's destinations)."""
    from exchange.applications.models import Call
    from exchange.core.types import utcnow
    commented = select(Application.student_id).join(ApplicationComment,
                                                    ApplicationComment.application_id == Application.id)
    in_open_call = select(Application.student_id).join(Call, Call.id == Application.call_id).where(
        Call.closes_at >= utcnow())
    rows = db.session.execute(
        select(Application.student_id, func.count(Application.id))
        .where(Application.student_id.not_in(commented), Application.student_id.not_in(in_open_call))
        .group_by(Application.student_id).order_by(func.count(Application.id), Application.student_id)).all()
    few, many = rows[0], max(rows, key=lambda row: row[1])
    assert few[1] < many[1]
    return db.session.get(User, few[0]), db.session.get(User, many[0])


# --- Coordinators -----------------------------------------------------------------------------------

def test_pipeline_list(app, scale):
    coordinator = scale.login("coordinator")
    call_id = scale.summary.call_id
    scores = db.session.scalars(select(Application.score).where(
        Application.call_id == call_id, Application.status == S.eligible, Application.score.is_not(None))
        .order_by(Application.score.desc())).all()
    threshold = scores[2]
    base = f"/applications/manage/calls/{call_id}?status=eligible&sort=-score"
    # With a filter besides the status (the pagination counts the rows) ...
    assert_same_queries(app, (coordinator, f"{base}&score_min={threshold}"), (coordinator, f"{base}&score_min=0"),
                        r"/applications/manage/applications/(\d+)")
    # ... and by status alone (the total comes from the status tiles): the rarest status against the eligible.
    rare = db.session.execute(select(Application.status, func.count()).where(
        Application.call_id == call_id, Application.status != S.draft).group_by(Application.status)
        .order_by(func.count(), Application.status)).first()[0]
    assert_same_queries(app, (coordinator, f"/applications/manage/calls/{call_id}?status={rare.value}&sort=-score"),
                        (coordinator, base), r"/applications/manage/applications/(\d+)")


def test_pipeline_filtered_by_status_counts_once(app, scale):
    """Filtered by status alone, the page's total comes from the status tiles, which read the counters the
    database keeps (application_status_counts): the call's applications are not counted at all. With another
    filter, the pagination counts the matching ones once."""
    coordinator = scale.login("coordinator")
    call_id = scale.summary.call_id

    def application_counts(counter):
        return [s for s in counter.statements
                if "count(*)" in s.lower() and re.search(r"\bfrom applications\b", s, re.IGNORECASE)]

    for query in ("status=eligible&sort=-score", "status=needs_action", ""):
        html, counter = measure(app, coordinator, f"/applications/manage/calls/{call_id}?{query}")
        assert application_counts(counter) == [], counter.report()
        assert len([s for s in counter.statements if "application_status_counts" in s]) == 1, counter.report()
        assert counter.count <= 6, counter.report()
    html, counter = measure(app, coordinator, f"/applications/manage/calls/{call_id}?status=eligible&q=a")
    assert len(application_counts(counter)) == 1, counter.report()


def test_pipeline_total_matches_the_status_tile(app, scale):
    coordinator = scale.login("coordinator")
    call_id = scale.summary.call_id
    eligible = db.session.scalar(select(func.count()).select_from(Application).where(
        Application.call_id == call_id, Application.status == S.eligible))
    html, _counter = measure(app, coordinator, f"/applications/manage/calls/{call_id}?status=eligible")
    if eligible > 25:
        assert f"{eligible} results" in html


def test_application_review_page(app, scale):
    coordinator = scale.login("coordinator")
    few, many = applications_with_choices(scale.summary.call_id)
    assert_same_queries(app, (coordinator, f"/applications/manage/applications/{few.id}"),
                        (coordinator, f"/applications/manage/applications/{many.id}"))
    # The place → condition → agreement → partner chain of the choices is one query, not four.
    _html, counter = measure(app, coordinator, f"/applications/manage/applications/{many.id}")
    assert counter.count <= 13, counter.report()


def test_application_review_page_with_comments(app, scale):
    """Reviewers are one statement, comments and history (with their authors) one, however many there are."""
    coordinator = scale.login("coordinator")
    few, _many = applications_with_choices(scale.summary.call_id)
    n_comments = (select(func.count(ApplicationComment.id))
                  .where(ApplicationComment.application_id == Application.id).scalar_subquery())
    commented = db.session.scalars(select(Application).where(Application.call_id == scale.summary.call_id,
                                                             n_comments > 0)
                                   .order_by(n_comments.desc(), Application.id).limit(1)).first()
    assert commented is not None
    assert_same_queries(app, (coordinator, f"/applications/manage/applications/{few.id}"),
                        (coordinator, f"/applications/manage/applications/{commented.id}"))


def test_application_page_of_the_student(app, scale):
    few, many = applications_with_choices(scale.summary.call_id)
    assert_same_queries(app, (few.student, f"/applications/{few.id}"), (many.student, f"/applications/{many.id}"))


def test_institutions_list(app, scale):
    coordinator = scale.login("coordinator")
    counts = Counter(db.session.scalars(select(PartnerInstitution.country)))
    rare = min(counts, key=lambda country: (counts[country], country))
    assert_same_queries(app, (coordinator, f"/partners/institutions/?country={rare}"),
                        (coordinator, "/partners/institutions/"), r"/partners/institutions/(\d+)\"")


def test_agreements_list(app, scale):
    coordinator = scale.login("coordinator")
    partner_id = db.session.scalar(select(Agreement.partner_id).group_by(Agreement.partner_id)
                                   .order_by(func.count(Agreement.id), Agreement.partner_id).limit(1))
    assert_same_queries(app, (coordinator, f"/partners/agreements/?partner_id={partner_id}"),
                        (coordinator, "/partners/agreements/"), r"/partners/agreements/(\d+)\"")


def test_agreements_list_of_a_partner(app, scale):
    rows = db.session.execute(select(User, func.count(Agreement.id))
                              .join(Agreement, Agreement.partner_id == User.institution_id)
                              .where(User.role == Role.partner).group_by(User.id)
                              .order_by(func.count(Agreement.id), User.id)).all()
    few, many = rows[0], rows[-1]
    assert few[1] < many[1]
    assert_same_queries(app, (few[0], "/partners/agreements/"), (many[0], "/partners/agreements/"),
                        r"/partners/agreements/(\d+)\"")


def test_coordinator_home(app, scale):
    _html, counter = measure(app, scale.login("coordinator"), "/")
    assert counter.count <= MAX_QUERIES, counter.report()


# --- Students ---------------------------------------------------------------------------------------

def test_student_dashboard(app, scale):
    few, many = students_by_applications()
    assert_same_queries(app, (few, "/applications/"), (many, "/applications/"))


def test_student_home(app, scale):
    few, many = students_by_applications()
    assert_same_queries(app, (few, "/"), (many, "/"))


def _visible_to_students():
    return (Event.status != EventStatus.draft) & Event.audience.in_([Audience.everyone, Audience.students])


def test_events_list(app, scale):
    """National days are the seeded events linked to a partner institution: the few rows shown have every
    relationship the full page has (a many-to-one that is empty everywhere is not loaded at all)."""
    student = scale.login("student")
    from exchange.core.types import utcnow
    upcoming = db.session.execute(select(Event.category, Event.partner_institution_id)
                                  .where(_visible_to_students(), Event.ends_at >= utcnow())).all()
    assert any(category is EventCategory.national_day and partner for category, partner in upcoming)
    assert_same_queries(app, (student, f"/events/?category={EventCategory.national_day.value}"),
                        (student, "/events/"), r"href=\"/events/(\d+)\"")


def test_events_calendar(app, scale):
    student = scale.login("student")
    months = Counter(f"{at.astimezone(timezone.utc):%Y-%m}" for at in
                     db.session.scalars(select(Event.starts_at).where(_visible_to_students())))
    busy = max(months, key=lambda month: (months[month], month))
    quiet = min(months, key=lambda month: (months[month], month))
    assert months[quiet] < months[busy]
    assert_same_queries(app, (student, f"/events/calendar?month={quiet}"),
                        (student, f"/events/calendar?month={busy}"), r"href=\"/events/(\d+)\"")


# --- Partners ---------------------------------------------------------------------------------------

def partners_by_nominations():
    """(partner user with the fewest nominees, partner user with the most); at this small size every partner may
    have one, so all but one institution's nominations are first moved to another institution."""
    from exchange.placements.models import Nomination
    counts = (select(Nomination.institution_id, func.count(Nomination.id)).group_by(Nomination.institution_id)
              .order_by(func.count(Nomination.id), Nomination.institution_id))
    rows = db.session.execute(counts).all()
    if len(rows) > 1 and rows[0][1] == rows[-1][1]:
        keep, target = rows[0][0], rows[-1][0]
        for table, column in ((Nomination.__table__, "institution_id"), (Application.__table__, "placed_institution_id")):
            db.session.execute(table.update().where(table.c[column].is_not(None), table.c[column] != keep)
                               .values({column: target}))
        db.session.commit()
        rows = db.session.execute(counts).all()
    few, many = rows[0], rows[-1]
    assert few[1] < many[1]

    def partner_of(institution_id):
        return db.session.scalar(select(User).where(User.role == Role.partner, User.institution_id == institution_id))
    return partner_of(few[0]), partner_of(many[0])


def test_partner_dashboard(app, scale):
    few, many = partners_by_nominations()
    assert_same_queries(app, (few, "/"), (many, "/"))


def test_partner_incoming_nominations(app, scale):
    few, many = partners_by_nominations()
    assert_same_queries(app, (few, "/placements/incoming"), (many, "/placements/incoming"),
                        r"/placements/incoming/(\d+)\"")


# --- Administrators -----------------------------------------------------------------------------------

def test_admin_users(app, scale):
    admin = scale.login("admin")
    assert_same_queries(app, (admin, "/admin/users?q=student00001"), (admin, "/admin/users?role=student"),
                        r"/admin/users/(\d+)\"")


def test_the_counter_sees_a_query_per_row(app, scale):
    """The fixture itself: lazy loading in a loop is counted, one statement per row."""
    with counting_queries() as counter:
        applications = db.session.scalars(select(Application).limit(5)).all()
        for application in applications:
            application.choices  # noqa: B018  (a lazy load per application)
    assert counter.count == 1 + len(applications)


def test_login_page(app, scale):
    _html, counter = measure(app, None, "/auth/login")
    assert counter.count <= 2, counter.report()


STUDENT_PAGES = ("/events/mine", "/applications/calls", "/certificates/mine")


@pytest.mark.parametrize("url", ["/partners/balance", "/events/mine", "/applications/manage", "/applications/calls",
                                 "/placements/", "/certificates/", "/certificates/events", "/certificates/calls",
                                 "/certificates/mine"])
def test_other_pages_stay_bounded(app, scale, url):
    user = scale.login("student" if url in STUDENT_PAGES else "coordinator")
    _html, counter = measure(app, user, url)
    assert counter.count <= MAX_QUERIES, counter.report()


# --- Matching runs, offers and nominations of a call (coordinators) ---------------------------------

def _published_run():
    from exchange.placements.models import MatchingRun
    return db.session.scalar(select(MatchingRun).order_by(MatchingRun.id))


def test_matching_run_pages(app, scale):
    from exchange.placements.models import RunPlace
    coordinator = scale.login("coordinator")
    run = _published_run()
    base = f"/placements/runs/{run.id}"
    student_link = r"/applications/manage/applications/(\d+)\""
    few, many = sorted([f"{base}?tab=placed", f"{base}?tab=unplaced"],
                       key=lambda url: run.placed_count if url.endswith("=placed") else run.unplaced_count)
    assert_same_queries(app, (coordinator, few), (coordinator, many), student_link)
    # One destination's students: one statement more (the destination's name and number of students).
    place = db.session.scalar(select(RunPlace).where(RunPlace.run_id == run.id, RunPlace.filled > 0)
                              .order_by(RunPlace.filled, RunPlace.id))
    _html, at_place = measure(app, coordinator, f"{base}?tab=placed&place={place.place_id}")
    _html, placed = measure(app, coordinator, f"{base}?tab=placed")
    assert at_place.count == placed.count + 1, at_place.report()
    html, places = measure(app, coordinator, base)
    assert places.count == placed.count, places.report()
    assert len(set(re.findall(r"tab=placed&amp;place=(\d+)", html))) > 1


def test_offers_and_nominations_of_a_call(app, scale):
    from exchange.placements.models import Offer, OfferStatus
    coordinator = scale.login("coordinator")
    run = _published_run()
    student_link = r"/applications/manage/applications/(\d+)\""
    offers = f"/placements/calls/{run.call_id}/offers"
    assert_same_queries(app, (coordinator, f"{offers}?status={OfferStatus.expired.value}"), (coordinator, offers))
    html, _counter = measure(app, coordinator, offers)
    assert len(set(re.findall(student_link, html))) == db.session.scalar(
        select(func.count()).select_from(Offer).join(Application, Application.id == Offer.application_id)
        .where(Application.call_id == run.call_id)) > 1
    html, counter = measure(app, coordinator, f"/placements/calls/{run.call_id}/nominations")
    assert len(set(re.findall(student_link, html))) > 1 and counter.count <= 8, counter.report()
