"""Page benchmark: the main pages of every role on the scale data set, served by gunicorn on PostgreSQL.

    .venv/bin/python bench/bench_pages.py                      # full size: 50,000 students (seeds ~1 min)
    .venv/bin/python bench/bench_pages.py --duration 15 --connections 16 --workers 2
    .venv/bin/python bench/bench_pages.py --keep               # keep the database for later runs ...
    .venv/bin/python bench/bench_pages.py --reuse              # ... and reuse it (no seeding)
    .venv/bin/python bench/bench_pages.py --students 5000 --partners 100 --events 50 --duration 5   # quick

What it does, all on 127.0.0.1 and in a database of its own:

1. creates the PostgreSQL database ``exchange_bench`` (``--database``; refuses to touch one that exists unless
   ``--reuse``) and loads the scale data set into it with ``flask seed-scale --create-tables``, timed;
2. creates the ceiling page's two tables in the schema ``bench_ceiling`` of that database (bench/ceiling_app.py:
   a bare Flask + Flask-SQLAlchemy page, 50 rows of a 10,000-row table joined to another, paginated and
   rendered with Jinja);
3. starts gunicorn (``--workers`` sync workers) for the app and for the ceiling page, each on a free port;
4. signs in as a coordinator, a student and a partner the way a browser does (GET the login page, read the
   CSRF token, POST the form; CSRF protection is on) and keeps each session cookie;
5. checks every page answers 200 with its cookie, then loads it with ``wrk`` for ``--duration`` seconds
   (at most 30) at ``--connections`` connections, and reports requests per second, p50 and p99 latency and
   the throughput as a fraction of the ceiling page measured in the same run;
6. times ``run_matching`` on the large call end to end (the input read from the database, solved, the draft run
   saved and committed; deleted again afterwards), goal under 10 seconds (``--no-matching`` skips it);
7. stops the servers and drops what it created (the database too, unless ``--keep`` or ``--reuse``).

Goals: p99 under 150 ms at 16 connections and at least 50% of the ceiling's throughput, for every page.
Exit status: 0 when every page was measured (goals missed are reported, not fatal), 1 on an error, 2 when
``wrk`` is missing (Debian/Ubuntu: ``apt-get install -y wrk``).
"""
from __future__ import annotations

import argparse
import http.client
import json
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
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
PASSWORD = "scale-password"
P99_GOAL_MS = 150.0
CEILING_GOAL = 0.5
MATCHING_GOAL_S = 10.0
MAX_DURATION = 30


# --- HTTP helpers (no redirects followed: a 302 to the login page must not pass for a page) -------

def fetch(port: int, path: str, cookie: str | None = None, method: str = "GET", body: dict | None = None,
          timeout: float = 30.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"User-Agent": "bench-pages"}
    data = None
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def session_cookie(headers) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return None


def csrf_token(html: bytes) -> str:
    for tag in re.findall(rb"<input[^>]*>", html):
        if b'name="csrf_token"' in tag:
            found = re.search(rb'value="([^"]+)"', tag)
            if found:
                return found.group(1).decode()
    raise RuntimeError("no csrf_token on the login page")


def login(port: int, email: str, password: str = PASSWORD) -> str:
    """Sign in like a browser (CSRF on); return the session cookie ("session=...")."""
    status, headers, html = fetch(port, "/auth/login")
    if status != 200:
        raise RuntimeError(f"GET /auth/login answered {status}")
    cookie = session_cookie(headers)
    status, headers, body = fetch(port, "/auth/login", cookie=cookie, method="POST",
                                  body={"csrf_token": csrf_token(html), "email": email, "password": password})
    if status != 302:
        raise RuntimeError(f"login of {email} answered {status}: {body[:300]!r}")
    return session_cookie(headers) or cookie


# --- Processes ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            if fetch(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not become healthy")


def start_gunicorn(app: str, port: int, workers: int, env: dict, chdir: str, log_path: str) -> subprocess.Popen:
    command = [os.path.join(BIN, "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", chdir,
               "--log-level", "warning", "--error-logfile", log_path, app]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn's group: the master and its workers
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


# --- wrk ------------------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    path: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    bad: int = 0
    error: str | None = None
    extra: dict = field(default_factory=dict)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str, result: Result) -> Result:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if not (rps and p50 and p99):
        result.error = "could not read wrk's output: " + output[-300:]
        return result
    result.rps, result.p50_ms, result.p99_ms = float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1))
    result.requests = int(total.group(1)) if total else 0
    result.bad = int(bad.group(1)) if bad else 0
    if errors:
        result.extra["socket_errors"] = errors.group(1).strip()
    return result


def run_wrk(port: int, name: str, path: str, cookie: str | None, args) -> Result:
    result = Result(name, path)
    for _ in range(args.warmup):  # each worker compiles templates and fills its caches first
        status, _headers, body = fetch(port, path, cookie=cookie)
        if status != 200:
            result.error = f"answered {status} (expected 200): {body[:200]!r}"
            return result
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
               "--timeout", "10s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    completed = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
    if completed.returncode != 0:
        result.error = f"wrk failed: {completed.stderr.strip()[:300]}"
        return result
    return parse_wrk(completed.stdout, result)


# --- Database -------------------------------------------------------------------------------------

def engine_for(url: str, **kw):
    from sqlalchemy import create_engine
    return create_engine(url, **kw)


def database_exists(admin_url: str, name: str) -> bool:
    from sqlalchemy import text
    engine = engine_for(admin_url)
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
    engine.dispose()
    return bool(found)


def create_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text
    engine = engine_for(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text
    engine = engine_for(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def scale_targets(url: str) -> dict:
    """The ids and accounts the pages need, read from the seeded database."""
    from sqlalchemy import text
    engine = engine_for(url)
    with engine.connect() as conn:
        seeded = conn.scalar(text("SELECT count(*) FROM users WHERE email LIKE '%@scale.test'"))
        if not seeded:
            engine.dispose()
            return {}
        call_id = conn.scalar(text("SELECT id FROM calls WHERE title LIKE '%(scale data set)%' ORDER BY id LIMIT 1"))
        application_id = conn.scalar(text(
            "SELECT a.id FROM applications a WHERE a.call_id = :call AND a.status = 'eligible' "
            "AND (SELECT count(*) FROM application_choices c WHERE c.application_id = a.id) >= 3 "
            "AND (SELECT count(*) FROM application_reviews r WHERE r.application_id = a.id) >= 2 "
            "ORDER BY a.id LIMIT 1"), {"call": call_id})
        partner = conn.scalar(text(
            "SELECT u.email FROM users u JOIN applications a ON a.placed_institution_id = u.institution_id "
            "WHERE u.role = 'partner' AND a.nominated_at IS NOT NULL "
            "GROUP BY u.email ORDER BY count(*) DESC, u.email LIMIT 1")) or "partner0001@scale.test"
        counts = {table: conn.scalar(text(f"SELECT count(*) FROM {table}"))
                  for table in ("users", "applications", "partner_institutions", "events", "event_registrations")}
    engine.dispose()
    return {"call_id": call_id, "application_id": application_id, "partner": partner,
            "coordinator": "coordinator01@scale.test", "student": "student00001@scale.test",
            "admin": "admin01@scale.test", "counts": counts}


def seed(url: str, args, upload_folder: str) -> float:
    env = dict(os.environ, FLASK_APP="wsgi.py", DATABASE_URL=url, UPLOAD_FOLDER=upload_folder, REDIS_URL="")
    command = [os.path.join(BIN, "flask"), "seed-scale", "--create-tables", "--no-files",
               "--students", str(args.students), "--partners", str(args.partners), "--events", str(args.events)]
    print(f"Seeding: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True)
    return time.perf_counter() - started


# --- Pages ----------------------------------------------------------------------------------------

def pages(targets: dict, args) -> list[tuple[str, str | None, str]]:
    """(name, role whose cookie is sent or None, path)."""
    listed = [
        ("pipeline (eligible, by score)", "coordinator",
         f"/applications/manage/calls/{targets['call_id']}?status=eligible&sort=-score"),
        ("application (review page)", "coordinator", f"/applications/manage/applications/{targets['application_id']}"),
        ("partner dashboard", "partner", args.partner_path),
        ("events calendar", "student", "/events/calendar"),
        ("student dashboard", "student", args.student_path),
        ("login page", None, "/auth/login"),
    ]
    if args.more:
        listed += [
            ("home (coordinator)", "coordinator", "/"),
            ("home (student)", "student", "/"),
            ("events list", "student", "/events/"),
            ("institutions list", "coordinator", "/partners/institutions/?sort=name"),
            ("agreements list", "coordinator", "/partners/agreements/"),
            ("calls (coordinator)", "coordinator", "/applications/manage"),
            ("admin users", "admin", "/admin/users"),
            ("partner: incoming nominations", "partner", "/placements/incoming"),
            ("certificates of a student", "student", "/certificates/mine"),
        ]
    return listed


def measure_matching(url: str, call_id: int, coordinator: str) -> dict:
    """`run_matching` on the large call, end to end: input from the database, solving, saving the draft run
    (committed, then deleted again so that the data set stays as seeded). Run in a child process."""
    code = f"""
import json, sys, time
from sqlalchemy import delete, select
from exchange import create_app
from exchange.config import Config
from exchange.extensions import db
app = create_app(Config, SQLALCHEMY_DATABASE_URI={url!r})
with app.app_context():
    from exchange.applications.models import Call
    from exchange.auth.models import User
    from exchange.placements.models import MatchingRun
    from exchange.placements.runs import run_matching
    call = db.session.get(Call, {call_id})
    by = db.session.scalar(select(User).where(User.email == {coordinator!r}))
    started = time.perf_counter()
    run = run_matching(call, by)
    db.session.commit()
    seconds = time.perf_counter() - started
    result = dict(seconds=seconds, service_ms=run.duration_ms, applications=run.applications_count,
                  placed=run.placed_count, places=run.places_count, seats=run.seats_count)
    db.session.execute(delete(MatchingRun.__table__).where(MatchingRun.__table__.c.id == run.id))
    db.session.commit()
    print(json.dumps(result))
"""
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                               env=dict(os.environ, PYTHONPATH=ROOT, REDIS_URL=""))
    if completed.returncode != 0:
        return {"error": completed.stderr.strip()[-500:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def print_table(ceiling: Result, results: list[Result]) -> None:
    header = f"{'page':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ceiling':>8}  goals"
    print("\n" + header + "\n" + "-" * len(header))

    def row(result: Result, is_ceiling=False):
        if result.error:
            print(f"{result.name:<34} ERROR {result.error}")
            return
        share = result.rps / ceiling.rps if ceiling.rps else 0
        goals = "" if is_ceiling else "  ".join([
            ("ok" if result.p99_ms < P99_GOAL_MS else "SLOW") + " p99",
            ("ok" if share >= CEILING_GOAL else "LOW") + " share"])
        if result.bad:
            goals += f"  {result.bad} non-2xx/3xx!"
        print(f"{result.name:<34} {result.rps:>8.1f} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} {share:>7.0%}  {goals}")
    row(ceiling, True)
    for result in results:
        row(result)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL",
                                                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL URL allowed to CREATE/DROP DATABASE (default: %(default)s)")
    parser.add_argument("--database", default="exchange_bench", help="the bench's own database (default: %(default)s)")
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--duration", type=int, default=10, help=f"seconds per page, at most {MAX_DURATION}")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--warmup", type=int, default=10, help="requests per page before measuring")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end (see --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="use the existing database (seeded if empty) and keep it")
    parser.add_argument("--more", action="store_true", help="also measure the other list pages")
    parser.add_argument("--only", nargs="*", help="measure only pages whose name contains one of these words")
    parser.add_argument("--partner-path", default="/", help="the partner dashboard (default: %(default)s)")
    parser.add_argument("--student-path", default="/applications/",
                        help="the student dashboard (default: %(default)s)")
    parser.add_argument("--no-matching", action="store_true",
                        help="skip timing run_matching on the large call (goal: under 10 s end to end)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.duration = max(1, min(args.duration, MAX_DURATION))
    os.environ.setdefault("SECRET_KEY", os.urandom(32).hex())  # for the flask commands and child processes

    if shutil.which("wrk") is None:
        print("wrk is not installed. On Debian/Ubuntu: apt-get install -y wrk (https://github.com/wg/wrk).",
              file=sys.stderr)
        return 2
    from sqlalchemy.engine import make_url
    admin_url = make_url(args.admin_url)
    if not admin_url.drivername.startswith("postgresql"):
        print("The page benchmark needs PostgreSQL (--admin-url).", file=sys.stderr)
        return 1
    if admin_url.drivername == "postgresql":
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    if admin_url.host not in (None, "127.0.0.1", "localhost", "::1"):
        print("The benchmark runs on 127.0.0.1 only.", file=sys.stderr)
        return 1
    bench_url = admin_url.set(database=args.database).render_as_string(hide_password=False)
    admin = admin_url.render_as_string(hide_password=False)

    created = False
    servers: list[subprocess.Popen] = []
    tmp = tempfile.mkdtemp(prefix="exchange-bench-")
    sys.path.insert(0, BENCH)
    import ceiling_app
    ceiling_ready = False
    try:
        exists = database_exists(admin, args.database)
        if exists and not args.reuse:
            print(f"The database {args.database} already exists: run with --reuse to use it, or drop it.",
                  file=sys.stderr)
            return 1
        if not exists:
            create_database(admin, args.database)
            created = True
        targets = scale_targets(bench_url) if exists else {}
        seed_seconds = None
        if not targets:
            seed_seconds = seed(bench_url, args, os.path.join(tmp, "uploads"))
            targets = scale_targets(bench_url)
        counts = targets["counts"]
        print(f"Data: {counts['users']:,} users, {counts['applications']:,} applications, "
              f"{counts['partner_institutions']:,} partners, {counts['events']:,} events, "
              f"{counts['event_registrations']:,} registrations"
              + (f" (seeded in {seed_seconds:.1f} s)" if seed_seconds else " (reused)"), flush=True)

        ceiling_app.teardown(bench_url)
        ceiling_app.setup(bench_url)
        ceiling_ready = True

        app_port, ceiling_port = free_port(), free_port()
        env = dict(os.environ, DATABASE_URL=bench_url, SECRET_KEY=os.urandom(16).hex(),
                   UPLOAD_FOLDER=os.path.join(tmp, "uploads"), MAIL_FOLDER=os.path.join(tmp, "mail"),
                   REDIS_URL="", RATELIMIT_STORAGE_URI="", BASE_URL=f"http://127.0.0.1:{app_port}",
                   CEILING_DATABASE_URL=bench_url)
        servers.append(start_gunicorn("wsgi:app", app_port, args.workers, env, ROOT, os.path.join(tmp, "app.log")))
        servers.append(start_gunicorn("ceiling_app:app", ceiling_port, args.workers, env, BENCH,
                                      os.path.join(tmp, "ceiling.log")))
        wait_healthy(app_port, servers[0])
        wait_healthy(ceiling_port, servers[1])

        cookies = {role: login(app_port, targets[role]) for role in ("coordinator", "student", "partner", "admin")}
        cookies[None] = None
        print(f"gunicorn: {args.workers} workers per server; wrk: {args.threads} threads, {args.connections} "
              f"connections, {args.duration} s per page", flush=True)

        # The ceiling is measured before and after the pages (the machine's load may change meanwhile);
        # the shares use the mean of the two.
        first = run_wrk(ceiling_port, "CEILING (first)", "/books?page=37", None, args)
        results = []
        for name, role, path in pages(targets, args):
            if args.only and not any(word.lower() in name.lower() for word in args.only):
                continue
            print(f"  {name} …", flush=True)
            results.append(run_wrk(app_port, name, path, cookies[role], args))
        second = run_wrk(ceiling_port, "CEILING (again)", "/books?page=37", None, args)
        ceiling = Result("CEILING: bare Flask+SQLAlchemy", "/books?page=37", error=first.error or second.error,
                         rps=(first.rps + second.rps) / 2, p50_ms=(first.p50_ms + second.p50_ms) / 2,
                         p99_ms=(first.p99_ms + second.p99_ms) / 2,
                         extra={"first": first.__dict__, "second": second.__dict__})
        if not ceiling.error:
            print(f"\nCeiling page: {first.rps:.1f} req/s (p99 {first.p99_ms:.1f} ms) at the start, "
                  f"{second.rps:.1f} req/s (p99 {second.p99_ms:.1f} ms) at the end")
        print_table(ceiling, results)
        matching = None
        if not args.no_matching:
            for server in servers:  # the matching run has the machine to itself
                stop(server)
            print("\nMatching run on the large call (run_matching, end to end) …", flush=True)
            matching = measure_matching(bench_url, targets["call_id"], targets["coordinator"])
            if "error" in matching:
                print(f"  ERROR {matching['error']}")
            else:
                verdict = "ok" if matching["seconds"] < MATCHING_GOAL_S else "SLOW"
                print(f"  {matching['applications']:,} applications, {matching['places']:,} places, "
                      f"{matching['seats']:,} seats: {matching['placed']:,} placed in {matching['seconds']:.2f} s "
                      f"(service {matching['service_ms'] / 1000:.2f} s, then commit)  {verdict} (< {MATCHING_GOAL_S} s)")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"ceiling": ceiling.__dict__, "pages": [r.__dict__ for r in results],
                           "seed_seconds": seed_seconds, "counts": counts, "matching": matching,
                           "settings": {"duration": args.duration, "connections": args.connections,
                                        "workers": args.workers, "threads": args.threads}}, fh, indent=2)
        failed = ceiling.error or any(r.error for r in results) or (matching or {}).get("error")
        for path in ("app.log", "ceiling.log"):
            log = os.path.join(tmp, path)
            if failed and os.path.exists(log) and os.path.getsize(log):
                print(f"\n--- {path} (last lines)\n" + open(log).read()[-3000:])
        return 1 if failed else 0
    finally:
        for server in servers:
            stop(server)
        if ceiling_ready:
            try:
                ceiling_app.teardown(bench_url)
            except Exception as exc:  # report, and go on cleaning up
                print(f"Could not drop the ceiling schema: {exc}", file=sys.stderr)
        if created and not (args.keep or args.reuse):
            drop_database(admin, args.database)
        elif created or args.reuse:
            print(f"Kept the database {args.database} (drop it with: DROP DATABASE {args.database})")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
