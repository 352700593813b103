"""Exports of a call's applications: small ones are the response, large ones a background job."""
import csv
import io

import pytest
from openpyxl import load_workbook

from exchange.applications import exports, pipeline
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role
from exchange.jobs.models import Job, JobStatus

from .test_views_staff import crowd, reviewed  # noqa: F401 (fixtures)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


def test_export_rows_follow_the_pipeline_filters_and_order(app, db, crowd):
    call, apps = crowd
    with app.test_request_context():
        filters = pipeline.Filters(status="eligible", sort="-score")
        found = exports.records(call, filters)
        shown = db.session.execute(pipeline.rows_query(call, filters)).all()
        assert [r.base.id for r in found] == [a.id for a in shown] and len(found) == 6
        assert exports.count(call, filters) == 6
        everything = exports.records(call, pipeline.Filters())
        assert len(everything) == 30  # sent in: the two drafts are not exported
        first = everything[0]
        assert first.choices and all(len(choice) == 3 for choice in first.choices)


def test_a_large_export_runs_as_a_job_and_gives_the_same_file(app, client, login, db, crowd, monkeypatch):
    call, apps = crowd
    login(Role.coordinator)
    url = f"/applications/manage/calls/{call.id}/export.csv?status=under_review&sort=name"
    inline = client.get(url)
    assert inline.status_code == 200 and inline.mimetype == "text/csv"
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 5)  # 8 applications under review: too many now
    response = client.get(url)
    assert response.status_code == 303 and "/jobs/" in response.headers["Location"]
    job = db.session.scalars(db.select(Job).where(Job.kind == "applications.export")).one()
    assert job.status is JobStatus.finished and (job.done, job.total) == (8, 8)  # no Redis: ran in-process
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert exports.filename(call, "csv") in page and "8 applications in the file." in page
    assert f"/applications/manage/calls/{call.id}?status=under_review" in page  # the way back keeps the filters
    download = client.get(f"/jobs/{job.id}/files/csv")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert csv_rows(download.data) == csv_rows(inline.data) and len(csv_rows(download.data)) == 9


def test_the_export_jobs_way_back_carries_the_filters_only(app, client, login, db, crowd, monkeypatch):
    """Other query arguments (call_id, _scheme…) reached url_for, a 500."""
    call, apps = crowd
    login(Role.coordinator)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 0)
    response = client.get(f"/applications/manage/calls/{call.id}/export.csv?status=eligible&call_id=1&fmt=pdf"
                          "&_scheme=javascript&_anchor=x")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'href="/applications/manage/calls/{call.id}?status=eligible"' in page


def test_the_xlsx_export_job_writes_a_workbook_in_the_coordinators_language(app, client, login, db, crowd,
                                                                               monkeypatch):
    call, apps = crowd
    user = login(Role.coordinator)
    user.locale = "fr"
    db.session.commit()
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 0)
    response = client.get(f"/applications/manage/calls/{call.id}/export.xlsx?status=eligible")
    job = db.session.scalars(db.select(Job).where(Job.kind == "applications.export")).one()
    download = client.get(f"/jobs/{job.id}/files/xlsx")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.data)).active
    values = list(sheet.values)
    assert len(values) == 7 and values[0][1:3] == ("Nom", "Adresse e-mail")  # French headings
    assert {row[15] for row in values[1:]} == {"Éligible"}
    assert sheet.freeze_panes == "A2"


def test_students_and_partners_cannot_export_or_see_the_job(app, client, login, db, crowd, monkeypatch):
    call, apps = crowd
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 0)
    login(Role.coordinator)
    location = client.get(f"/applications/manage/calls/{call.id}/export.csv").headers["Location"]
    job = db.session.scalars(db.select(Job).where(Job.kind == "applications.export")).one()
    for role in (Role.student, Role.partner):
        login(role)
        assert client.get(f"/applications/manage/calls/{call.id}/export.csv").status_code == 403
        assert client.get(location).status_code == 404
        assert client.get(f"/jobs/{job.id}/files/csv").status_code == 404
