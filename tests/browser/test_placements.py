"""Placements through the real pages (journey 3): a coordinator runs matching on the demo's closed call, reads the
run (seats filled, cut-offs) and publishes it with a deadline; a placed student sees the offer and accepts it,
sharing some documents; the coordinator nominates them; the receiving partner accepts the nomination; the student
and the coordinator see the partner's answer. A student left out sees why (the cut-off of the choices they missed).

The ids, names and expected numbers are read from the live server's database, never hard-coded.
"""
import re
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from tests.fixtures.browser import (check_accessibility, field, follow, follow_confirming, log_in, log_out,
                                    squash)

CLOSED_CALL = "Full-year exchange %"  # the applications demo's closed call, its eligible applications scored


def flash_text(page) -> str:
    return squash(page.locator(".flashes").inner_text())


def text_of(locator) -> str:
    return squash(locator.inner_text())


def nav(page, name):
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True))


def score(value) -> str:
    return f"{value:.2f}"


# --- The live database ---------------------------------------------------------------------------------------

def closed_call(app):
    from sqlalchemy import func, select

    from exchange.applications.models import Application, Call
    from exchange.applications.workflow import ApplicationStatus
    from exchange.extensions import db
    from exchange.placements import runs
    with app.app_context():
        call = db.session.scalar(select(Call).where(Call.title.like(CLOSED_CALL)))
        eligible = db.session.scalar(select(func.count(Application.id)).where(
            Application.call_id == call.id, Application.status == ApplicationStatus.eligible))
        return SimpleNamespace(id=call.id, title=call.title, eligible=eligible, next_round=runs.next_round(call))


def latest_run(app, call_id):
    """The call's latest run: its counts, destinations and the students placed or not."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from exchange.extensions import db
    from exchange.placements import runs
    from exchange.placements.models import MatchingRun, RunPlacement
    with app.app_context():
        run = db.session.scalar(select(MatchingRun).where(MatchingRun.call_id == call_id)
                                .order_by(MatchingRun.id.desc()))
        places = [SimpleNamespace(place_id=rp.place_id, partner=rp.place.partner.name,
                                  institution_id=rp.place.partner.id, isced=rp.place.condition.isced_code,
                                  filled=rp.filled, capacity=rp.capacity,
                                  cutoff=rp.cutoff_score if rp.capacity and rp.is_full else None)
                  for rp in runs.run_places(run)]
        rows = db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == run.id)
                                  .options(joinedload(RunPlacement.application)).order_by(RunPlacement.id)).all()
        students = [SimpleNamespace(application_id=p.application_id, email=p.application.student.email,
                                    name=p.application.full_name or p.application.student.name, score=p.score,
                                    place_id=p.place_id, documents=[d.kind.value for d in p.application.documents])
                    for p in rows]
        return SimpleNamespace(id=run.id, round=run.round, applications=run.applications_count,
                               placed=run.placed_count, unplaced=run.unplaced_count, seats=run.seats_count,
                               destinations=run.places_count, places=places, students=students)


def partner_user_for(app, institution_id) -> str:
    """The email of a partner user of the institution: the demo's partner@demo.test for Bologna, else a new one."""
    import uuid

    from sqlalchemy import select

    from exchange.auth.models import Role, User
    from exchange.demo import demo_user
    from exchange.extensions import db
    with app.app_context():
        user = db.session.scalar(select(User).where(User.role == Role.partner, User.institution_id == institution_id,
                                                    User.is_active_account.is_(True)).order_by(User.id))
        if user is None:
            user = demo_user(f"partner-{uuid.uuid4().hex[:6]}@example.org", "Incoming Officer", Role.partner,
                             institution_id=institution_id)
            db.session.commit()
        return user.email


def left_out_reasons(app, application_id) -> list[tuple[int, str, str]]:
    """[(rank, partner, cut-off)] of the choices the student missed because the place was full."""
    from exchange.applications.models import Application
    from exchange.extensions import db
    from exchange.placements import student as student_services
    with app.app_context():
        outcome = student_services.student_outcome(db.session.get(Application, application_id))
        return [(row.rank, row.place.partner.name, score(row.cutoff_score)) for row in outcome.rows
                if row.status == "full" and row.cutoff_score is not None and row.place is not None]


def formatted(app, when: datetime, fmt: str) -> str:
    """`when` as the pages show it (the |datetime filter) to the demo users: English, the default time zone."""
    with app.test_request_context(headers={"Accept-Language": "en-GB"}):
        return squash(app.jinja_env.filters["datetime"](when, fmt))


# --- The journey -----------------------------------------------------------------------------------------------

def place_row(page, place):
    """The row of a destination in the run's table (a partner may offer several subject areas)."""
    return (page.locator("table tbody tr").filter(has_text=place.partner)
            .filter(has_text=re.compile(rf"(^|\s){re.escape(place.isced)} –")))


def test_matching_offer_nomination_and_the_partners_answer(page, live_server):
    app = live_server
    call = closed_call(app)
    assert call.next_round == 1, "the demo's closed call is expected to have no run yet"
    assert call.eligible >= 2

    # --- The coordinator runs matching on the closed call. ---
    log_in(page, "coordinator@demo.test")
    nav(page, "Matching")
    assert page.get_by_role("heading", name="Matching", level=1).is_visible()
    follow(page, page.get_by_role("link", name=call.title, exact=True))
    assert page.get_by_role("heading", name=call.title, level=1).is_visible()
    assert page.get_by_role("heading", name="Place the students").is_visible()
    eligible_tile = page.locator(".tile").filter(has_text="Eligible, to place")
    assert text_of(eligible_tile.locator(".value")) == str(call.eligible)
    follow(page, page.get_by_role("button", name="Start a matching run"))
    assert "The run is ready. Review it, adjust it if needed, then publish it." in flash_text(page)

    # The run page: how many were placed, the seats filled and the cut-offs of the full destinations.
    run = latest_run(app, call.id)
    assert page.url.endswith(f"/placements/runs/{run.id}")
    heading = page.get_by_role("heading", level=1)
    assert text_of(heading) == f"Run {run.id} · round 1 Draft"
    tiles = {text_of(tile.locator(".label")): text_of(tile.locator(".value")) for tile in page.locator(".tile").all()}
    assert tiles == {"Eligible students": str(run.applications), "Placed": str(run.placed),
                     "Not placed": str(run.unplaced), f"Seats at {run.destinations} destinations": str(run.seats)}
    assert run.applications == call.eligible and run.placed >= 1
    full = [p for p in run.places if p.cutoff is not None]
    assert full, "the demo's scarce seats leave at least one destination full"
    for place in run.places:
        row = place_row(page, place)
        assert row.count() == 1, (place.partner, place.isced)
        assert text_of(row.locator(".seats-text")) == f"{place.filled} of {place.capacity}"
        cutoff = text_of(row.locator("td.num"))
        assert cutoff == (score(place.cutoff) if place.cutoff is not None
                          else "seats left" if place.capacity else "no seat"), (place.partner, cutoff)
    assert page.get_by_text("The cut-off is the score of the last student placed at a full destination: students "
                            "who chose it and scored lower did not get it.").is_visible()
    page.get_by_text("How students are ranked").first.click()
    assert page.get_by_text("Equal scores: the earlier submission comes first, then the lower application "
                            "number.").is_visible()

    # The student of the journey: placed at Bologna (the demo partner user's university) if anyone is.
    by_place = {p.place_id: p for p in run.places}
    placed = [s for s in run.students if s.place_id is not None]
    placed.sort(key=lambda s: (by_place[s.place_id].partner != "Università di Bologna",
                               by_place[s.place_id].cutoff is None, s.application_id))
    student, place = placed[0], by_place[placed[0].place_id]

    # "Students" of that destination: the placed tab, narrowed to it.
    follow(page, place_row(page, place).get_by_role("link", name=re.compile("^Students")))
    assert page.get_by_text(f"Only the students placed at {place.partner} – {place.isced}.").is_visible()
    student_row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=student.name, exact=True))
    assert text_of(student_row.locator("td.num")) == score(student.score)
    assert student_row.get_by_role("link", name=f"Move {student.name}").is_visible()
    check_accessibility(page, "draft run, placed students")

    left_out = [s for s in run.students if s.place_id is None]
    tabs = page.get_by_role("navigation", name="Parts of the run")
    follow(page, tabs.get_by_role("link", name=re.compile(r"^Not placed")))
    rows = page.locator("table tbody tr")
    assert rows.count() == max(len(left_out), 1)
    for somebody in left_out:
        assert rows.filter(has=page.get_by_role("link", name=somebody.name, exact=True)).count() == 1

    # Publish, with the students' deadline typed in the coordinator's time zone.
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    deadline = (datetime.now(zone) + timedelta(days=10)).replace(hour=17, minute=30, second=0, microsecond=0)
    field(page, "Students answer by").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    question = follow_confirming(page, page.get_by_role("button", name="Publish and send the offers"))
    assert question == "Publish this run and email the students? This cannot be undone."
    offered = "1 student has" if run.placed == 1 else f"{run.placed} students have"
    assert f"The results are published: {offered} been offered a place." in flash_text(page)
    assert page.get_by_role("heading", name=call.title, level=1).is_visible()
    assert page.get_by_role("heading", name="Round 2: the waiting list").is_visible()
    runs_row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=f"Run {run.id} · round 1",
                                                                          exact=True))
    assert text_of(runs_row.locator(".badge")) == "Published"
    assert f"answer by {formatted(app, deadline, 'short')}" in text_of(runs_row)
    follow(page, runs_row.get_by_role("link", name=f"Run {run.id} · round 1", exact=True))
    answer_by = formatted(app, deadline, "medium")
    assert f"Students answer by {answer_by}." in text_of(page.locator("section[aria-labelledby=publish-heading]"))
    assert page.get_by_role("link", name=f"Move {student.name}").count() == 0
    log_out(page)

    # --- The placed student sees the offer on their home page, reads why, and accepts it. ---
    log_in(page, student.email)
    panel = page.locator("section[aria-labelledby=panel-offers]")
    assert panel.get_by_role("heading", name="You are offered a place").is_visible()
    assert f"Answer by {answer_by}" in text_of(panel)
    assert place.partner in text_of(panel)
    follow(page, panel.get_by_role("link", name="Details and why"))
    assert page.get_by_role("heading", name="Your placement", level=1).is_visible()
    assert text_of(page.locator(".page-head .badge")) == "Placed"
    offer_card = page.locator("section.offer-card")
    assert offer_card.get_by_role("heading", name="You are offered a place").is_visible()
    assert place.partner in text_of(offer_card)
    assert text_of(offer_card.locator(".deadline")) == f"Answer by {answer_by}"
    why = page.locator("section[aria-labelledby=why-heading]")
    assert f"Your score: {score(student.score)}" in text_of(why)
    obtained = why.locator("ol.outcome li.obtained")
    assert obtained.count() == 1 and place.partner in text_of(obtained)
    assert "You got this place." in text_of(obtained)
    for rank, partner, cutoff in left_out_reasons(app, student.application_id):
        row = why.locator("ol.outcome li").nth(rank - 1)
        assert f"Full: the last student admitted had {cutoff}; you had {score(student.score)}." in text_of(row)

    # Tick the documents to share: one with the mouse, one with the keyboard.
    documents = page.get_by_role("group", name="Documents the partner university may see")
    assert {"transcript", "cv"} <= set(student.documents)
    documents.get_by_role("checkbox", name=re.compile(r"^Transcript of records")).click()
    cv = documents.get_by_role("checkbox", name=re.compile(r"^CV"))
    cv.focus()
    page.keyboard.press("Space")
    assert cv.is_checked()
    follow(page, page.get_by_role("button", name="Accept the place"))
    assert "You have accepted the place. The office will nominate you to the partner university." in flash_text(page)
    assert text_of(page.locator(".page-head .badge")) == "Accepted"
    offer_card = page.locator("section.offer-card")
    assert text_of(offer_card.get_by_role("heading", level=2)) == "Your offer Accepted"
    assert "The international office will nominate you to the partner university." in text_of(offer_card)
    assert text_of(offer_card.locator("summary")) == "Documents shared with the partner: Transcript of records, CV"
    check_accessibility(page, "the student's accepted offer")
    log_out(page)

    # --- The coordinator nominates the student to the partner. ---
    log_in(page, "coordinator@demo.test")
    nav(page, "Matching")
    follow(page, page.get_by_role("link", name=call.title, exact=True))
    follow(page, page.get_by_role("link", name="Nominations", exact=True))
    assert page.get_by_role("heading", name="Nominations", level=1).is_visible()
    row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=student.name, exact=True))
    assert text_of(row.locator("td").nth(4)) == "not nominated"
    follow(page, row.get_by_role("link", name=f"Nominate {student.name}"))
    assert page.get_by_role("heading", name=f"Nominate {student.name}", level=1).is_visible()
    facts = text_of(page.locator("dl.facts"))
    assert place.partner in facts and "Documents shared Transcript of records, CV" in facts
    assert field(page, "Planned arrival").input_value() and field(page, "Planned departure").input_value()
    check_accessibility(page, "nomination form")
    field(page, "Planned departure").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits with the form's only button, "Nominate"
    assert f"{student.name} has been nominated to {place.partner}." in flash_text(page)
    row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=student.name, exact=True))
    assert text_of(row.locator("td").nth(4).locator(".badge")) == "Nominated"
    log_out(page)

    # --- The partner university sees the nominee and accepts them. ---
    log_in(page, partner_user_for(app, place.institution_id))
    incoming = page.locator("section[aria-labelledby=panel-incoming]")
    assert re.search(r"\d+ nominations? waits? for your decision\.", text_of(incoming))
    nav(page, "Incoming students")
    assert page.get_by_role("heading", name="Incoming students", level=1).is_visible()
    tiles = page.get_by_role("navigation", name="Nominations by status")
    follow(page, tiles.get_by_role("link", name=re.compile(r"Pending")))
    assert tiles.locator("[aria-current=page]").get_by_text("Pending").is_visible()
    row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=student.name, exact=True))
    assert text_of(row.locator(".badge")) == "Pending"
    follow(page, row.get_by_role("link", name=student.name, exact=True))
    assert page.get_by_role("heading", name=student.name, level=1).is_visible()
    assert text_of(page.locator(".page-head .badge")) == "Pending"
    shared = page.locator("section[aria-labelledby=stay-heading] ul li")
    assert sorted(text_of(li).split(":")[0] for li in shared.all()) == ["CV", "Transcript of records"]
    download = shared.first.get_by_role("link", name=re.compile(r"^Download "))
    response = page.request.get(page.base_url + download.get_attribute("href"))
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    accept = page.get_by_role("button", name="Accept the student")
    accept.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert (f"You have accepted {student.name}. The student and the sending coordinator have been told."
            in flash_text(page))
    decision = page.locator("section[aria-labelledby=decision-heading]")
    assert text_of(decision.locator(".badge")) == "Accepted"
    assert decision.get_by_role("button").count() == 0
    check_accessibility(page, "the partner's decided nomination")
    log_out(page)

    # --- The student sees the partner's answer. ---
    log_in(page, student.email)
    nav(page, "My applications")
    card = page.locator("section.application-card").filter(has=page.get_by_role("heading", name=call.title))
    follow(page, card.get_by_role("link", name="View application"))
    follow(page, page.get_by_role("link", name="Your placement: offer, documents shared and why"))
    offer_card = page.locator("section.offer-card")
    assert "Nomination to the partner: Accepted by partner" in text_of(offer_card)
    log_out(page)

    # --- And so does the coordinator. ---
    log_in(page, "coordinator@demo.test")
    nav(page, "Matching")
    follow(page, page.get_by_role("link", name=call.title, exact=True))
    follow(page, page.get_by_role("link", name="Nominations", exact=True))
    row = page.locator("table tbody tr").filter(has=page.get_by_role("link", name=student.name, exact=True))
    assert text_of(row.locator("td").nth(4).locator(".badge")) == "Accepted by partner"
    log_out(page)

    # --- A student left out sees why: the cut-off of each full choice against their own score. ---
    waiting = next((s for s in left_out if left_out_reasons(app, s.application_id)), None)
    if waiting is not None:
        log_in(page, waiting.email)
        follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications"))
        card = page.locator("section.application-card").filter(has=page.get_by_role("heading", name=call.title))
        follow(page, card.get_by_role("link", name="View application"))
        follow(page, page.get_by_role("link", name="Your placement: offer, documents shared and why"))
        assert page.get_by_role("heading", name="You are on the waiting list").is_visible()
        why = page.locator("section[aria-labelledby=why-heading]")
        for rank, partner, cutoff in left_out_reasons(app, waiting.application_id):
            row = why.locator("ol.outcome li").nth(rank - 1)
            assert partner in text_of(row)
            assert f"Full: the last student admitted had {cutoff}; you had {score(waiting.score)}." in text_of(row)
        check_accessibility(page, "waiting list, with the cut-offs")
