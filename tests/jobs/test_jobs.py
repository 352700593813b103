"""Background jobs: in-process without Redis, on an RQ worker with Redis."""
import uuid

import pytest

from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import STAFF, Role
from exchange.jobs import services
from exchange.jobs.models import Job, JobStatus


@pytest.fixture(autouse=True)
def sample_kind(monkeypatch):
    """The test jobs' kind, "sample": every role may start one."""
    monkeypatch.setitem(services.STARTED_BY, "sample", tuple(Role))


def sample_job(job_id, count, fail=False):
    """A job as domains write them: reports progress, stores a file, returns the result."""
    for n in range(1, count + 1):
        services.report_progress(job_id, n, count, f"item {n}")
    if fail:
        raise ValueError("broken input")
    return {"files": {"txt": services.store_result_file(b"hello " * count, "result.txt", "text/plain")}}


def test_in_process_job_runs_at_once_and_offers_its_file(client, login, db):
    user = login(Role.coordinator)
    job = services.start_job("sample", "Sample", "tests.jobs.test_jobs:sample_job", 3, user=user)
    assert job.status is JobStatus.finished and (job.done, job.total) == (3, 3)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "result.txt" in page
    assert client.get(f"/jobs/{job.id}/status.json").json["over"] is True
    download = client.get(f"/jobs/{job.id}/files/txt")
    assert download.status_code == 200 and download.data == b"hello " * 3
    assert client.get(f"/jobs/{job.id}/files/nope").status_code == 404


def test_a_failing_job_is_recorded(client, login, db):
    user = login(Role.coordinator)
    job = services.start_job("sample", "Sample", "tests.jobs.test_jobs:sample_job", 2, True, user=user)
    assert job.status is JobStatus.failed and "broken input" in job.error
    assert "This job failed" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_jobs_are_private_to_their_owner_and_staff(app, client, login, make_user, db):
    owner = make_user(Role.student)
    job = services.start_job("sample", "Sample", "tests.jobs.test_jobs:sample_job", 1, user=owner)
    login(Role.student)
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert client.get(f"/jobs/{job.id}/files/txt").status_code == 404
    login(owner)
    assert client.get(f"/jobs/{job.id}").status_code == 200
    login(Role.coordinator)
    assert client.get(f"/jobs/{job.id}").status_code == 200


def test_only_the_kinds_someone_may_start_can_be_started(db):
    assert services.roles_for("applications.export") == STAFF
    assert services.roles_for("certificates.participation") == STAFF and services.roles_for("certificates") == ()
    with pytest.raises(ValueError):
        services.start_job("mystery", "Mystery", "tests.jobs.test_jobs:sample_job", 1)
    assert db.session.scalar(db.select(Job).where(Job.kind == "mystery")) is None


@pytest.mark.parametrize("demoted_to", [Role.student, Role.partner])
def test_a_coordinator_who_lost_the_role_loses_their_export(app, client, login, db, make_call_with_places,
                                                            make_application, make_institution, monkeypatch,
                                                            demoted_to):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_LIMIT", 0)  # every export is a job
    call = make_call_with_places()
    make_application(call=call, status=S.submitted)
    coordinator = login(Role.coordinator)
    location = client.get(f"/applications/manage/calls/{call.id}/export.csv").headers["Location"]
    job = db.session.scalars(db.select(Job).where(Job.kind == "applications.export")).one()
    urls = [location, f"/jobs/{job.id}/status.json", f"/jobs/{job.id}/files/csv"]
    assert job.created_by_id == coordinator.id and all(client.get(url).status_code == 200 for url in urls)

    coordinator.role = demoted_to
    if demoted_to is Role.partner:
        coordinator.institution_id = make_institution().id
    login(coordinator)
    for url in urls:
        assert client.get(url).status_code == 404, url
    login(Role.admin)  # staff still see it
    assert client.get(f"/jobs/{job.id}/files/csv").status_code == 200


def test_with_redis_the_job_waits_for_a_worker(app, client, login, db, redis_queue):
    from rq import SimpleWorker
    user = login(Role.coordinator)
    job = services.start_job("sample", "Sample", "tests.jobs.test_jobs:sample_job", 4, user=user)
    assert job.status is JobStatus.queued
    assert "Waiting for a worker" in client.get(f"/jobs/{job.id}").get_data(as_text=True)
    SimpleWorker([services.queue()], connection=services.redis_connection()).work(burst=True)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status is JobStatus.finished and job.done == 4
    assert client.get(f"/jobs/{job.id}/files/txt").data == b"hello " * 4


def writing_job(job_id):
    """Reports progress while its own transaction has written (as publishing a run does)."""
    from exchange.extensions import db
    db.session.execute(db.text("UPDATE jobs SET title = 'Renamed by the job' WHERE id = :id"), {"id": job_id})
    services.report_progress(job_id, 1, 2, "half way")
    services.report_progress(job_id, 2, 2)
    return {"ok": True}


def test_an_in_process_job_can_report_progress_while_writing_on_a_sqlite_file(tmp_path):
    """SQLite has one writer: progress written on a second connection would wait for the job's own
    transaction until the busy timeout, and the job would fail."""
    import time

    from exchange import create_app
    from exchange.config import TestConfig
    from exchange.extensions import db
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'jobs.db'}", REDIS_URL="")
    with app.app_context():
        db.create_all()
        started = time.monotonic()
        job = services.start_job("sample", "Sample", "tests.jobs.test_jobs:writing_job")
        assert time.monotonic() - started < 5
        assert job.status is JobStatus.finished and (job.done, job.total) == (2, 2)
        assert job.title == "Renamed by the job" and job.result == {"ok": True}
        db.session.remove()
        db.drop_all()
