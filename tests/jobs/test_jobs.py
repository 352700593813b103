"""Background jobs: in-process without Redis, on an RQ worker with Redis."""
import uuid

import pytest

from exchange.auth.models import Role
from exchange.jobs import services
from exchange.jobs.models import Job, JobStatus


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


@pytest.fixture
def redis_queue(app, monkeypatch):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "RQ_QUEUE", f"test-{uuid.uuid4().hex[:8]}")
    yield
    services.queue().empty()


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
