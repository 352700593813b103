"""The summaries the database keeps for the pipeline (triggers.py): status counters and calls.places_version,
and the per-process cache of destination options they key."""

import pytest
from sqlalchemy import func, insert, select

from exchange.applications import pipeline, services
from exchange.applications.models import Application, ApplicationStatusCount, Call
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.types import utcnow


def counters(call) -> dict:
    rows = select(ApplicationStatusCount.status, ApplicationStatusCount.n).where(ApplicationStatusCount.call_id == call.id)
    return {status: n for status, n in db_session().execute(rows) if n}


def counted(call) -> dict:
    rows = select(Application.status, func.count()).where(Application.call_id == call.id).group_by(Application.status)
    return dict(db_session().execute(rows).all())


def db_session():
    from exchange.extensions import db
    return db.session


def assert_exact(*calls):
    db_session().commit()  # PostgreSQL applies the counters at commit (a deferred trigger)
    for call in calls:
        assert counters(call) == counted(call)


def test_counters_follow_every_status_change(db, make_application, make_call_with_places, make_user):
    call = make_call_with_places()
    drafts = [make_application(call=call) for _ in range(3)]
    assert_exact(call)
    assert counters(call) == {S.draft: 3}
    submitted = make_application(call=call, status=S.submitted)
    eligible = make_application(call=call, status=S.eligible)
    assert_exact(call)
    assert counters(call) == {S.draft: 3, S.submitted: 1, S.eligible: 1}
    coordinator = make_user(Role.coordinator)
    services.transition(submitted, S.under_review, by=coordinator)
    services.withdraw_application(drafts[0], by=drafts[0].student)
    assert_exact(call)
    result = services.bulk_transition(call, [submitted.id, eligible.id, drafts[1].id], S.eligible, by=coordinator)
    assert [a.id for a in result.done] == [submitted.id]  # the others are refused and stay as they are
    assert_exact(call)
    assert counters(call) == {S.draft: 2, S.withdrawn: 1, S.eligible: 2}


def test_counters_follow_deletes_moves_and_bulk_inserts(db, make_application, make_call_with_places, make_user):
    first, second = make_call_with_places(), make_call_with_places()
    application = make_application(call=first, status=S.submitted)
    other = make_application(call=first)
    assert_exact(first, second)
    application.call_id = second.id  # a move between calls (no page does it; the counters follow anyway)
    db.session.flush()
    db.session.delete(other)
    student = make_user(Role.student)
    db.session.execute(insert(Application).values(call_id=second.id, student_id=student.id, status=S.eligible,
                                                  version_id=1, created_at=utcnow(), updated_at=utcnow(),
                                                  status_changed_at=utcnow()))
    assert_exact(first, second)
    assert counters(first) == {}
    assert counters(second) == {S.submitted: 1, S.eligible: 1}


def test_a_rolled_back_change_leaves_the_counters(db, make_application, make_user):
    application = make_application(status=S.submitted)
    call = application.call
    assert_exact(call)
    services.transition(application, S.under_review, by=make_user(Role.coordinator))
    db.session.rollback()
    assert_exact(call)
    assert counters(call) == {S.submitted: 1}


def test_pipeline_tiles_show_the_users_own_change(app, db, client, login, make_application, make_call_with_places,
                                                  make_user):
    call = make_call_with_places()
    applications = [make_application(call=call, status=S.submitted) for _ in range(3)]
    coordinator = make_user(Role.coordinator)
    db.session.commit()
    login(coordinator)
    html = client.get(f"/applications/manage/calls/{call.id}").get_data(as_text=True)
    tiles = tile_values(html)
    assert tiles["Submitted"] == 3 and tiles["Needs action"] == 3
    response = client.post(f"/applications/manage/calls/{call.id}/bulk",
                           data={"ids": [a.id for a in applications[:2]], "action": S.under_review.value})
    assert response.status_code == 302
    tiles = tile_values(client.get(f"/applications/manage/calls/{call.id}").get_data(as_text=True))
    assert tiles["Submitted"] == 1 and tiles["Under review"] == 2 and tiles["All sent in"] == 3
    tiles = tile_values(client.get("/applications/manage/calls/%d?status=under_review" % call.id)
                        .get_data(as_text=True))
    assert tiles["Under review"] == 2


def tile_values(html) -> dict:
    import re
    return {label: int(value) for value, label in
            re.findall(r'<span class="value">(\d+)</span><span class="label">([^<]+)</span>', html)}


# --- The destinations: calls.places_version and the options cache ------------------------------------

def version(call) -> int:
    db_session().flush()
    return db_session().scalar(select(Call.places_version).where(Call.id == call.id))


def test_places_version_rises_with_what_the_destination_list_shows(db, make_call_with_places, make_condition,
                                                                   coordinator):
    call, other = make_call_with_places(), make_call_with_places()
    place = call.places[0]
    condition = place.condition
    seen, other_start = [version(call)], version(other)

    def rose():
        seen.append(version(call))
        return seen[-1] > seen[-2]

    place.seats += 1
    assert rose()
    condition.agreement.partner.name = "Universidade Nova"
    assert rose()
    condition.isced_code = "0413"
    assert rose()
    condition.agreement.partner_id = make_condition().agreement.partner.id
    assert rose()
    condition.agreement.partner.city = "Lisboa"  # not shown in the list: no change
    condition.places_per_year = 9
    assert not rose()
    services.set_call_places(call, {place.condition_id: 1}, by=coordinator)
    assert rose()
    assert version(other) == other_start


def test_the_filter_lists_a_renamed_partner_at_once(app, db, client, login, make_call_with_places, make_user):
    call = make_call_with_places()
    partner = call.places[0].condition.agreement.partner
    db.session.commit()
    login(make_user(Role.coordinator))
    first = client.get(f"/applications/manage/calls/{call.id}").get_data(as_text=True)
    assert f">{partner.name} – 0613</option>" in first
    partner.name = "Universidade Nova de Lisboa"
    db.session.commit()
    html = client.get(f"/applications/manage/calls/{call.id}").get_data(as_text=True)
    assert ">Universidade Nova de Lisboa – 0613</option>" in html


def test_destinations_are_cached_per_version(db, make_call_with_places):
    call = make_call_with_places()
    db.session.commit()
    pipeline._destinations.clear()
    found = pipeline.destinations(call)
    assert pipeline.destinations(call) is found
    assert found.seats == sum(p.seats for p in call.places)
    call.places[0].seats = 7
    db.session.commit()
    refreshed = pipeline.destinations(db.session.get(Call, call.id))
    assert refreshed is not found and refreshed.seats == found.seats - 2 + 7


@pytest.mark.parametrize("data", [None, "", "abc"])
def test_the_prerendered_destination_select_is_the_plain_one(app, db, make_call_with_places, data):
    from werkzeug.datastructures import MultiDict

    from exchange.applications.forms import PipelineFilterForm
    call = make_call_with_places()
    places = pipeline.destinations(call)
    for value in (data, str(places.choices[1][0])):
        args = MultiDict({} if value is None else {"place": value})
        with app.test_request_context():
            fast = PipelineFilterForm(args, places=places.choices, places_html=places.options)
            plain = PipelineFilterForm(args, places=places.choices)
            fast.validate(), plain.validate()
            assert str(fast.place()) == str(plain.place())
            assert str(fast.place()).count("<option selected ") <= 1
