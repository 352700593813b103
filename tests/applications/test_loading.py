"""loading.py sets the same collections, in the same order, as the relationships load lazily, and nothing is
left for a page to load row by row."""
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from exchange.applications import loading, services
from exchange.applications.models import Application
from exchange.applications.views_staff import get_for_review
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.core.audit import AuditEvent
from exchange.partners.models import LanguageRequirement


def describe(application, reviews=True):
    """Everything the review page (the dashboard: all but the reviews) reads of an application, as ids."""
    described = {
        "call": application.call.id, "student": application.student.id,
        "criteria": [c.id for c in application.call.criteria],
        "languages": [s.id for s in application.languages],
        "documents": [d.id for d in application.documents],
        "choices": [(c.id, c.rank, c.place.id, c.place.condition.id, c.place.condition.agreement.id,
                     c.place.partner.id, [r.id for r in c.place.condition.languages]) for c in application.choices],
    }
    if reviews:
        described["reviews"] = [(r.id, r.reviewer.id, sorted(s.id for s in r.scores)) for r in application.reviews]
    return described


def notes(application):
    """The history and the comments as the review page shows them, read through the relationships."""
    return ([(h.to_status, h.actor, h.at, h.comment, h.by.name if h.by else None) for h in application.history],
            [(c.created_at, c.is_internal, c.body, c.author.name if c.author else None) for c in application.comments])


@contextmanager
def statements(db):
    seen = []

    def count(*_args):
        seen.append(1)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def load_all(application_ids, requirements=True, together=False):
    applications = [loading.application_with_criteria(application_id) for application_id in application_ids]
    if together:  # the review page's loader
        loading.load_collections(applications)
    else:  # the dashboard's
        loading.load_choices(applications, requirements=requirements)
        loading.load_languages(applications)
        loading.load_documents(applications)
    return applications


@pytest.fixture
def busy(db, make_call_with_places, make_condition, make_application, make_user, coordinator):
    """Two applications to one call: three ranked choices (one condition asks for two languages), a scored and
    an unscored review, a history with automatic and staff steps, comments with and without an author; and an
    application with nothing but a draft."""
    conditions = [make_condition("0613", languages=[("fr", "B1"), ("en", "B2")]), make_condition("0613"),
                  make_condition("0613", languages=[])]
    call = make_call_with_places(conditions=conditions)
    place_of = {place.condition_id: place.id for place in services.load_places(call)}
    busy_app = make_application(call=call, status=S.under_review, staff=coordinator,
                                choices=[place_of[condition.id] for condition in conditions])
    other = make_application(call=call, status=S.submitted, choices=[place_of[conditions[0].id]])
    empty = make_application(call=call, complete=False)
    services.save_scores(busy_app, coordinator, {c.id: 6 for c in call.criteria})
    services.assign_reviewer(busy_app, make_user(Role.admin, name="Zoe Admin"), by=coordinator)
    services.add_comment(busy_app, coordinator, "Looks good.", internal=True)
    orphan = services.add_comment(busy_app, coordinator, "From someone since deleted.", internal=True)
    db.session.flush()
    orphan.author_id = None
    db.session.commit()
    assert len(conditions[0].languages) == 2 and isinstance(conditions[0].languages[0], LanguageRequirement)
    return [busy_app.id, other.id, empty.id]


@pytest.mark.parametrize("together", [False, True])
def test_loaded_collections_read_as_the_relationships(db, busy, together):
    db.session.expunge_all()
    expected = [describe(db.session.get(Application, application_id)) for application_id in busy]
    assert expected[0]["choices"][0][-1] and len(expected[0]["reviews"]) == 2
    assert len(expected[0]["languages"]) > 1 and len(expected[0]["documents"]) > 1
    assert expected[0]["reviews"][0][2] and expected[0]["reviews"][1][2] == []  # scored, not scored
    assert expected[2]["choices"] == [] and expected[2]["reviews"] == [] and expected[2]["documents"] == []
    db.session.expunge_all()

    with statements(db) as loaded:
        applications = load_all(busy, together=together)
    assert len(loaded) == len(busy) + (1 if together else 3)  # the applications one by one, then the collections
    with statements(db) as seen:
        got = [describe(application, reviews=together) for application in applications]
    assert got == [{key: ids for key, ids in item.items() if together or key != "reviews"} for item in expected]
    assert seen == []


def test_one_application_and_the_review_page_loader(app, db, busy):
    db.session.expunge_all()
    expected = describe(db.session.get(Application, busy[0]))
    db.session.expunge_all()
    with app.test_request_context("/"):
        with statements(db) as seen:
            application = get_for_review(busy[0])
        loaded = len(seen)
        with statements(db) as seen:
            assert describe(application) == expected
        assert seen == []
    # The application with its call, criteria and student; its choices, languages, documents and reviews.
    assert loaded == 2


def test_review_rows_as_the_relationships_and_staff_users(db, busy, coordinator, make_user):
    """The same items, in the same order (ties included), with the same values as the relationships; a deleted
    author or an automatic change reads as None. The staff who may review, as services.staff_users."""
    make_user(Role.coordinator, name="Aaron Inactive", is_active_account=False)
    make_user(Role.admin, name="Abel Admin")
    first, name = db.session.get(Application, busy[0]), coordinator.name
    services.transition(first, S.changes_requested, by=coordinator, comment="Please add your transcript.",
                        notify=False)
    services.add_comment(first, coordinator, "To the student.", internal=False)
    db.session.flush()
    first.history[-1].at = first.history[-2].at  # a tie: the ids decide, as in the relationship's order
    first.history[-1].by_id = None
    db.session.commit()
    db.session.expunge_all()
    for application_id in busy:
        expected = notes(db.session.get(Application, application_id))
        db.session.expunge_all()
        with statements(db) as seen:
            history, comments, staff = loading.review_rows(application_id)
        assert len(seen) == 1
        assert staff == [tuple(row) for row in services.staff_users()]
        assert ([tuple(h[:4]) + (h.by.name if h.by else None,) for h in history],
                [tuple(c[:3]) + (c.author.name if c.author else None,) for c in comments]) == expected
    history, comments, staff = loading.review_rows(busy[0])
    assert staff[0].name == "Abel Admin" and "Aaron Inactive" not in [row.name for row in staff]
    assert {row.name for row in staff} >= {"Zoe Admin", name}
    assert history[-1].by is None and history[-1].comment == "Please add your transcript."
    assert [c.author for c in comments][-2:] == [None, loading.Person(name)]
    assert [c.is_internal for c in comments] == [True, True, False]
    assert type(history[0].to_status) is S and all(type(c.is_internal) is bool for c in comments)
    assert loading.review_rows(busy[2])[1] == [] and loading.review_rows(max(busy) + 1000)[:2] == ([], [])


def test_a_call_without_criteria_and_a_missing_application(db, busy):
    db.session.expunge_all()
    application = loading.application_with_criteria(busy[0])
    application.call.criteria.clear()
    db.session.commit()
    db.session.expunge_all()
    application = loading.application_with_criteria(busy[0])
    assert application.call.criteria == [] and application.student.role is Role.student
    assert loading.application_with_criteria(max(busy) + 1000) is None


def test_choices_without_requirements_load_them_when_read(db, busy):
    db.session.expunge_all()
    expected = describe(db.session.get(Application, busy[0]))["choices"]
    db.session.expunge_all()
    applications = [db.session.get(Application, application_id) for application_id in busy]
    loading.load_choices(applications, requirements=False)
    with statements(db) as seen:
        partners = [choice.place.partner.id for choice in applications[0].choices]
    assert seen == [] and partners == [choice[5] for choice in expected]
    assert describe(applications[0])["choices"] == expected


def test_a_new_comment_joins_the_loaded_collection(db, busy, coordinator):
    db.session.expunge_all()
    [application] = load_all([busy[0]])
    before = [comment.id for comment in application.comments]
    comment = services.add_comment(application, db.session.merge(coordinator), "One more.", internal=False)
    assert application.comments[-1] is comment
    db.session.commit()
    comment_id = comment.id
    db.session.expunge_all()
    assert [c.id for c in db.session.get(Application, busy[0]).comments] == before + [comment_id]


def test_the_review_page_of_a_missing_application_is_an_audited_404(client, login, db, busy):
    login(Role.coordinator)
    assert client.get(f"/applications/manage/applications/{max(busy) + 1000}").status_code == 404
    assert db.session.scalars(select(AuditEvent.action)).all()[-1] == "not_found_or_denied"


def test_latest_messages_are_the_student_messages(db, busy, coordinator, make_user):
    """Comments to the student and commented status changes by staff or the system, oldest first, the last
    three of each application; same items, same order (ties included) as student_messages."""
    first, second, empty = (db.session.get(Application, application_id) for application_id in busy)
    services.transition(first, S.changes_requested, by=coordinator, comment="Please add your transcript.",
                        notify=False)
    services.transition(first, S.submitted, by=first.student, notify=False)
    message = services.add_comment(first, coordinator, "Thanks, received.", internal=False)
    anonymous = services.add_comment(first, coordinator, "From someone since deleted.", internal=False)
    services.add_comment(second, coordinator, "Internal only.", internal=True)
    services.transition(second, S.withdrawn, by=second.student, comment="I am going elsewhere.", notify=False)
    db.session.flush()
    anonymous.author_id = None
    anonymous.created_at = message.created_at  # ties: comments keep their own order, then the changes
    requested = next(change for change in first.history if change.to_status is S.changes_requested)
    requested.at, requested.by_id = message.created_at, None
    db.session.commit()
    db.session.expunge_all()

    def plain(messages):
        return [dict(m, author=m["author"].name if m["author"] else None) for m in messages]

    applications = [db.session.get(Application, application_id) for application_id in busy]
    for n in (3, 10):
        got = services.latest_messages(busy, n=n)
        assert list(got) == busy
        for application in applications:
            expected = services.student_messages(application)[-n:]
            assert plain(got[application.id]) == plain(expected)
            assert [type(m["status"]) for m in got[application.id]] == [type(m["status"]) for m in expected]
    assert [m["body"] for m in got[busy[0]]] == ["Thanks, received.", "From someone since deleted.",
                                                 "Please add your transcript."]
    assert got[busy[0]][1]["author"] is None and got[busy[0]][2]["author"] is None
    assert got[busy[1]] == [] and got[busy[2]] == []
    assert services.latest_messages([]) == {}
