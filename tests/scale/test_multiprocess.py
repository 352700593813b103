"""Several processes, one truth: two gunicorn processes serve the same database and upload folder.

Each server is its own gunicorn master (one worker, its own port) running tests/scale/mp_app.py with the
production Config (CSRF on). On SQLite they share a temporary database file; on PostgreSQL a schema made
for this module. A browser's cookies are per host, not per port, so the same cookie goes to both.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, text

from exchange import create_app
from exchange.auth.models import LoginAttempt, Role
from exchange.config import TestConfig
from exchange.core.types import utcnow
from exchange.extensions import db as _db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PASSWORD = "correct-horse-9"
# A 1×1 PNG (a whole one: covers are read by Pillow).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c63f8ffff3f030008fc02fea79aa0a00000000049454e44ae426082")


# --- A tiny browser -------------------------------------------------------------------------------

class Browser:
    """Cookies per host (like a browser: the port does not matter); no redirects followed."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port, method, path, fields=None, files=None):
        headers = {}
        body = None
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in (fields or {}).items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
            for name, (filename, content, mimetype) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                             f"Content-Type: {mimetype}\r\n\r\n".encode() + content + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                val = rest.split(";", 1)[0]
                if "expires=thu, 01 jan 1970" in value.lower() or not val:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        return response.status, dict(response.getheaders()), content

    def get(self, port, path):
        return self.request(port, "GET", path)

    def token(self, port, path) -> str:
        status, _headers, html = self.get(port, path)
        assert status == 200, (path, status)
        found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or \
            re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', html)
        assert found, f"no CSRF token on {path}"
        return found.group(1).decode()

    def login(self, port, email, password=PASSWORD):
        token = self.token(port, "/auth/login")
        return self.request(port, "POST", "/auth/login", {"csrf_token": token, "email": email, "password": password})


# --- Servers --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    def __init__(self, env: dict, count: int = 2):
        self.env = env
        self.ports = [free_port() for _ in range(count)]
        self.processes = []

    def start(self):
        for port in self.ports:
            self.processes.append(subprocess.Popen(
                [os.path.join(BIN, "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "--chdir", ROOT,
                 "--log-level", "warning", "tests.scale.mp_app:app"],
                env=self.env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        deadline = time.monotonic() + 60
        for port, process in zip(self.ports, self.processes):
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
                try:
                    if Browser().get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.2)
        return self

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    process.wait(timeout=5)


@pytest.fixture(scope="module")
def shared(database_url):
    """A database (SQLite file, or a PostgreSQL schema of its own), upload folder and accounts."""
    tmp = tempfile.mkdtemp(prefix="exchange-mp-")
    schema = None
    if database_url.startswith("postgresql"):
        schema = f"mp_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = database_url
        options = {"pool_pre_ping": True, "connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        url = f"sqlite:///{os.path.join(tmp, 'mp.db')}"
        options = {"pool_pre_ping": True}
    setup_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options,
                           UPLOAD_FOLDER=os.path.join(tmp, "uploads"), MAIL_FOLDER=os.path.join(tmp, "mail"))
    from exchange.auth.services import create_user
    with setup_app.app_context():
        _db.create_all()
        create_user("coordinator@mp.test", "Carmen Coordinator", Role.coordinator, password=PASSWORD)
        for n in range(4):
            create_user(f"student{n}@mp.test", f"Student {n}", Role.student, password=PASSWORD)
        _db.session.commit()
    env = dict(os.environ, PYTHONPATH=ROOT, MP_DATABASE_URL=url, MP_SEARCH_PATH=schema or "",
               MP_UPLOAD_FOLDER=os.path.join(tmp, "uploads"), MP_MAIL_FOLDER=os.path.join(tmp, "mail"),
               MP_SECRET_KEY=uuid.uuid4().hex, MP_KEY_PREFIX=f"mp-{uuid.uuid4().hex[:8]}",
               MP_QUEUE=f"mp-{uuid.uuid4().hex[:8]}", MP_REDIS_URL="")
    try:
        yield {"app": setup_app, "env": env, "tmp": tmp}
    finally:
        with setup_app.app_context():
            _db.session.remove()
            if schema:
                _db.engine.dispose()
                engine = create_engine(database_url)
                with engine.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()
            else:
                _db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(shared):
    pair = Servers(shared["env"])
    try:
        yield pair.start()
    finally:
        pair.stop()


@pytest.fixture
def clean_attempts(shared):
    """Login failures from 127.0.0.1 count per address too: start and end each test without any."""
    def clean():
        with shared["app"].app_context():
            _db.session.execute(delete(LoginAttempt))
            _db.session.commit()
    clean()
    yield
    clean()


# --- Tests ----------------------------------------------------------------------------------------

def test_a_login_on_one_process_is_honoured_by_the_other(servers, clean_attempts):
    a, b = servers.ports
    browser = Browser()
    status, headers, _body = browser.login(a, "student0@mp.test")
    assert status == 302, "login failed"
    status, _headers, html = browser.get(b, "/auth/account")
    assert status == 200 and b"Student 0" in html
    # Logging out on B ends the session on A too (the session token lives in the database).
    token = browser.token(b, "/auth/account")
    copy = dict(browser.cookies)
    assert browser.request(b, "POST", "/auth/logout", {"csrf_token": token})[0] == 302
    replay = Browser()
    replay.cookies = copy
    status, headers, _html = replay.get(a, "/auth/account")
    assert status == 302 and "/auth/login" in headers["Location"]


def test_the_login_throttle_counts_failures_across_processes(servers, clean_attempts):
    a, b = servers.ports
    browser = Browser()
    for port in (a, a, a, b, b):  # LOGIN_MAX_FAILURES = 5, split over the two processes
        assert browser.login(port, "student1@mp.test", "wrong-password")[0] == 401
    status, _headers, html = browser.login(a, "student1@mp.test")  # the right password, on either process
    assert status == 429 and b"Too many failed attempts" in html
    assert browser.login(b, "student1@mp.test")[0] == 429


def test_a_file_uploaded_through_one_is_served_by_the_other(servers, clean_attempts):
    a, b = servers.ports
    browser = Browser()
    assert browser.login(a, "coordinator@mp.test")[0] == 302
    token = browser.token(a, "/events/new")
    start = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:00")
    end = (utcnow() + timedelta(days=10, hours=2)).strftime("%Y-%m-%dT%H:00")
    status, headers, body = browser.request(a, "POST", "/events/new", fields={
        "csrf_token": token, "title": "Cover image test", "description": "", "category": "welcome",
        "starts_at": start, "ends_at": end, "venue": "Main hall", "online_url": "", "capacity": "",
        "registration_opens_at": "", "registration_closes_at": "", "audience": "everyone", "call_id": "",
        "partner_institution_id": "", "country": ""}, files={"cover": ("cover.png", PNG, "image/png")})
    assert status in (302, 303), body[:2000]
    event_path = urllib.parse.urlsplit(headers["Location"]).path
    event_id = re.search(r"/events/(\d+)", event_path).group(1)
    status, headers, content = browser.get(b, f"/events/{event_id}/cover")
    assert status == 200 and content == PNG and headers["Content-Type"] == "image/png"


def test_csrf_token_from_one_process_is_accepted_by_the_other(servers, clean_attempts):
    a, b = servers.ports
    browser = Browser()
    token = browser.token(a, "/auth/login")
    status, _headers, _body = browser.request(b, "POST", "/auth/login",
                                              {"csrf_token": token, "email": "student2@mp.test", "password": PASSWORD})
    assert status == 302
    assert browser.request(b, "POST", "/auth/login", {"email": "x@mp.test", "password": "x"})[0] == 400


@pytest.fixture
def redis_servers(shared, redis_url):
    """A pair of servers with Redis, for one test (a fresh rate-limit key prefix and job queue each time)."""
    url = redis_url
    env = dict(shared["env"], MP_REDIS_URL=url, MP_AUTH_RATE_LIMIT="4 per minute",
               MP_KEY_PREFIX=f"mp-{uuid.uuid4().hex[:8]}", MP_QUEUE=f"mp-{uuid.uuid4().hex[:8]}")
    pair = Servers(env)
    try:
        yield pair.start(), url, env
    finally:
        pair.stop()
        forget_redis_keys(url, env["MP_KEY_PREFIX"], env["MP_QUEUE"])


def forget_redis_keys(url: str, *marks: str, keys=()) -> None:
    """Remove what this test left in Redis (its rate-limit counters, its queue's keys, its jobs)."""
    from redis import Redis
    redis = Redis.from_url(url)
    doomed = list(keys)
    for mark in marks:
        doomed += list(redis.scan_iter(match=f"*{mark}*"))
        redis.srem("rq:queues", f"rq:queue:{mark}")
    if doomed:
        redis.delete(*doomed)


def test_with_redis_the_rate_limit_counter_is_shared(redis_servers, clean_attempts):
    (pair, _url, _env) = redis_servers
    a, b = pair.ports
    browser = Browser()
    token = browser.token(a, "/auth/login")
    empty = {"csrf_token": token, "email": "", "password": ""}  # invalid form: no login attempt is recorded
    for port in (a, b, a, b):  # "4 per minute", per address, over both processes
        assert browser.request(port, "POST", "/auth/login", empty)[0] == 422
    assert browser.request(a, "POST", "/auth/login", empty)[0] == 429
    assert browser.request(b, "POST", "/auth/login", empty)[0] == 429


def test_with_redis_a_job_started_by_one_process_runs_on_a_worker_and_is_served_by_another(redis_servers, shared,
                                                                                          clean_attempts):
    """Background jobs: queued from one process, run by `flask worker --burst`, result downloaded elsewhere."""
    pair, url, env = redis_servers
    a, b = pair.ports
    from rq import Queue
    from redis import Redis

    from exchange.jobs.models import Job
    from exchange.jobs.services import run_job
    with shared["app"].app_context():
        from exchange.auth.models import User
        from sqlalchemy import select
        coordinator = _db.session.scalar(select(User).where(User.email == "coordinator@mp.test"))
        job = Job(kind="applications.export", title="Sample", total=2, created_by_id=coordinator.id)
        _db.session.add(job)
        _db.session.commit()
        job_id = job.id
    Queue(env["MP_QUEUE"], connection=Redis.from_url(url)).enqueue(
        run_job, job_id, "tests.jobs.test_jobs:sample_job", [2], job_id=f"exchange-{job_id}")
    worker = subprocess.run([os.path.join(BIN, "flask"), "--app", "tests.scale.mp_app:app", "worker", "--burst"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr[-2000:]
    browser = Browser()
    assert browser.login(a, "coordinator@mp.test")[0] == 302
    status, _headers, body = browser.get(b, f"/jobs/{job_id}/status.json")
    assert status == 200 and b'"status":"finished"' in body.replace(b" ", b"")
    status, _headers, content = browser.get(a, f"/jobs/{job_id}/files/txt")
    assert status == 200 and content == b"hello " * 2
    forget_redis_keys(url, keys=[f"rq:job:exchange-{job_id}", f"rq:results:exchange-{job_id}"])
