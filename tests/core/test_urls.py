"""core.urls: the cheap link builders give the same URLs as url_for."""
import re

from flask import url_for

from exchange.core.urls import known_args, list_url, url_pattern


def test_url_pattern_gives_url_for_of_each_value(app):
    with app.test_request_context("/"):
        review = url_pattern("applications.review", "application_id")
        for value in (1, 42, 123456789):
            assert review(value) == url_for("applications.review", application_id=value)
        export = url_pattern("applications.export", "call_id", fmt="csv", status="eligible")
        assert export(7) == url_for("applications.export", call_id=7, fmt="csv", status="eligible")


def test_url_pattern_with_the_value_in_the_query_string(app):
    with app.test_request_context("/"):
        pattern = url_pattern("applications.pipeline", "page", call_id=3)
        assert pattern(2) == url_for("applications.pipeline", call_id=3, page=2)


def test_list_url_keeps_the_query_and_view_arguments(app):
    with app.test_request_context("/applications/manage/calls/5?status=eligible&q=Ana+Mar%C3%ADa&page=3"):
        expected = url_for("applications.pipeline", call_id=5, status="eligible", q="Ana María", page=4)
        assert list_url("applications.pipeline", page=4) == expected
        assert list_url("applications.pipeline", sort="-score", page=1) == url_for(
            "applications.pipeline", call_id=5, status="eligible", q="Ana María", page=1, sort="-score")
        assert list_url("applications.pipeline", q=None, status=None, page=None) == url_for(
            "applications.pipeline", call_id=5)


def test_list_url_for_another_page_of_the_same_endpoint(app):
    """Two requests in one app context (as in tests): each page's links point to its own call."""
    with app.app_context():
        with app.test_request_context("/applications/manage/calls/5?page=2"):
            assert list_url("applications.pipeline", page=3) == "/applications/manage/calls/5?page=3"
        with app.test_request_context("/applications/manage/calls/6?page=2"):
            assert list_url("applications.pipeline", page=3) == "/applications/manage/calls/6?page=3"


def test_an_id_past_the_database_integers_is_not_found(app, client, login):
    """Every route's <int:…> refuses 2**31 and up (404; 405 where a route of another method has the same path)
    before a view hands it to the database (a 500 there)."""
    from exchange.auth.models import Role
    login(Role.admin)
    checked = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        for huge in ("99999999999999999999", str(2**31)):
            url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: huge if m.group(1) == "int" else "x", rule.rule)
            for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
                checked.append(url)
                assert client.open(url, method=method).status_code in (404, 405), (method, url)
    assert len(checked) > 50


def test_an_id_within_the_integers_reaches_the_view(app):
    with app.test_request_context("/"):
        adapter = app.url_map.bind("localhost")
        assert adapter.match("/certificates/2147483647") == ("certificates.detail", {"certificate_id": 2**31 - 1})


def test_known_args_are_the_forms_fields_and_the_extra_names(app):
    from exchange.applications.forms import PipelineFilterForm
    with app.test_request_context("/?status=eligible&q=Ana&page=2&call_id=1&_external=1&_scheme=x&fmt=pdf"):
        form = PipelineFilterForm(formdata=None)
        assert known_args(form) == {"status": "eligible", "q": "Ana"}
        assert known_args(form, "page") == {"status": "eligible", "q": "Ana", "page": "2"}
