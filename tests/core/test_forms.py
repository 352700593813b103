"""The shared validators: single-line fields refuse line breaks and tabs, text areas keep them."""
import re

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import StringField, TextAreaField

from exchange.applications import services
from exchange.auth.models import Role
from exchange.core.forms import AppForm, NoControlCharacters

ONE_LINE = "Please write this on one line, without line breaks or tabs."


class NoteForm(AppForm):
    class Meta:
        csrf = False

    title = StringField("Title", validators=[NoControlCharacters()])
    body = TextAreaField("Body", validators=[NoControlCharacters()])


@pytest.mark.parametrize("value", ["Ana\r\nPérez", "Ana\nPérez", "Ana\rPérez", "Ana\tPérez", "Ana\u2028Pérez",
                                   "Ana\x85Pérez"])
def test_a_single_line_field_refuses_line_breaks_and_tabs(app, value):
    with app.test_request_context(method="POST"):
        form = NoteForm(MultiDict({"title": value, "body": value}))
        assert not form.validate()
        assert form.title.errors == [ONE_LINE]
        assert form.body.errors == []  # a text area keeps its lines


def test_control_characters_are_refused_everywhere(app):
    with app.test_request_context(method="POST"):
        form = NoteForm(MultiDict({"title": "Ana\x00", "body": "Line\r\nNext\x07"}))
        assert not form.validate()
        assert form.title.errors == form.body.errors == ["Please remove invisible control characters."]
        assert NoteForm(MultiDict({"title": "Ana Pérez", "body": "Line\r\n\tNext"})).validate()


def test_a_name_with_a_line_break_is_refused_beside_the_field_and_kept(client, db, login, make_empty_call):
    from datetime import timedelta

    from exchange.core.types import utcnow
    student = login(Role.student)
    call = make_empty_call(closes_at=utcnow() + timedelta(days=5))
    application = services.start_application(call, student)
    db.session.commit()
    response = client.post(f"/applications/{application.id}/edit/personal",
                           data={"full_name": "Ana\r\nPérez", "go": "stay"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="full_name-error">' + re.escape(ONE_LINE), page)
    assert "Ana" in page and "Pérez" in page  # what was typed is shown again
    assert application.full_name != "Ana\r\nPérez"

    response = client.post("/auth/account", data={"profile-name": "Ana\r\nPérez", "profile-locale": "en",
                                                  "profile-timezone": "", "profile-submit": "Save"})
    assert response.status_code == 422 and ONE_LINE in response.get_data(as_text=True)
    db.session.refresh(student)
    assert "\n" not in student.name
