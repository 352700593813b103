"""In-process profile of the benchmarked pages: milliseconds of CPU per request, and where they go.

    .venv/bin/python bench/profile_pages.py                       # every page of bench_pages.py --more
    .venv/bin/python bench/profile_pages.py --only pipeline --profile 25   # cProfile: the top 25 functions
    .venv/bin/python bench/profile_pages.py --sql                  # statements per request, and their time

Runs against the database that ``bench_pages.py --keep`` leaves behind (``exchange_bench``; ``--url``), in
one process with Flask's test client: no server, no load generator, so the figures are much steadier than
wrk's on a shared machine. The wrk figures of ``bench_pages.py`` stay the goal; this is the tool to find out
why a page misses it. Each page is requested ``--warmup`` times, then ``--requests`` times measured.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_pages  # noqa: E402


class _Args:
    more = True
    partner_path = "/"
    student_path = "/applications/"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/exchange_bench")
    parser.add_argument("--only", nargs="*", help="pages whose name contains one of these words")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the requests this many times and report the fastest (steadier on a busy machine)")
    parser.add_argument("--profile", type=int, metavar="N", help="print the N functions with most cumulative time")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key for --profile (default: %(default)s)")
    parser.add_argument("--callers", metavar="NAME", help="with --profile: also print who calls functions matching NAME")
    parser.add_argument("--plans", action="store_true",
                        help="time each statement of a page as a prepared statement with PostgreSQL's plan_cache_mode "
                             "auto, generic and custom: 'auto' much slower than 'generic' means it is planned on "
                             "every run (a skewed constant bound as a parameter)")
    parser.add_argument("--sql", action="store_true", help="count statements and their time per request")
    args = parser.parse_args(argv)

    targets = bench_pages.scale_targets(args.url)
    if not targets:
        print(f"No scale data set in {args.url}: run bench/bench_pages.py --keep first.", file=sys.stderr)
        return 1
    os.environ.setdefault("REDIS_URL", "")
    os.environ.setdefault("SECRET_KEY", os.urandom(32).hex())  # the production Config will not start without one
    from exchange import create_app
    from exchange.config import Config
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=args.url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                     REDIS_URL="")

    statements = []
    if args.sql:
        from sqlalchemy import event
        from exchange.extensions import db
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            statements.append((time.perf_counter() - conn.info.pop("started"), statement))

    clients = {}
    for role in ("coordinator", "student", "partner", "admin"):
        client = app.test_client()
        response = client.post("/auth/login", data={"email": targets[role], "password": bench_pages.PASSWORD})
        if response.status_code != 302:
            print(f"Could not sign in as {targets[role]}: {response.status_code}", file=sys.stderr)
            return 1
        clients[role] = client
    clients[None] = app.test_client()

    if args.plans:
        return compare_plans(app, clients, targets, args)

    print(f"{'page':<34} {'cpu ms':>8} {'wall ms':>8} {'kB':>6}" + (f" {'SQL n':>6} {'SQL ms':>7}" if args.sql else ""))
    for name, role, path in bench_pages.pages(targets, _Args):
        if args.only and not any(word.lower() in name.lower() for word in args.only):
            continue
        client = clients[role]
        for _ in range(args.warmup):
            response = client.get(path)
            if response.status_code != 200:
                print(f"{name:<34} answered {response.status_code}")
                break
        else:
            best = None
            for _ in range(max(1, args.repeat)):
                statements.clear()
                profiler = cProfile.Profile() if args.profile else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                for _ in range(args.requests):
                    response = client.get(path)
                if profiler:
                    profiler.disable()
                cpu = (time.process_time() - cpu) * 1000 / args.requests
                wall = (time.perf_counter() - wall) * 1000 / args.requests
                if best is None or cpu < best[0]:
                    best = (cpu, wall)
            cpu, wall = best
            line = f"{name:<34} {cpu:>8.1f} {wall:>8.1f} {len(response.data) / 1024:>6.0f}"
            if args.sql:
                line += f" {len(statements) / args.requests:>6.1f} {sum(s for s, _ in statements) * 1000 / args.requests:>7.1f}"
            print(line, flush=True)
            if profiler:
                stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
                stats.print_stats(args.profile)
                if args.callers:
                    stats.print_callers(args.callers)
            if args.sql and args.profile:
                slowest = sorted(statements, key=lambda s: -s[0])[:5]
                for seconds, statement in slowest:
                    print(f"    {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:300]}")
    return 0


def compare_plans(app, clients, targets, args) -> int:
    from sqlalchemy import event
    from exchange.extensions import db
    with app.app_context():
        engine = db.engine
    for name, role, path in bench_pages.pages(targets, _Args):
        if args.only and not any(word.lower() in name.lower() for word in args.only):
            continue
        captured = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))
        event.listen(engine, "before_cursor_execute", capture)
        clients[role].get(path)
        event.remove(engine, "before_cursor_execute", capture)
        print(f"{name}   (ms, fastest of the last 5 of 12 runs)")
        with app.app_context():
            raw = db.engine.raw_connection()
            try:
                connection = raw.driver_connection
                cursor = connection.cursor()
                for statement, parameters in captured:
                    times = []
                    for mode in ("auto", "force_generic_plan", "force_custom_plan"):
                        cursor.execute(f"SET plan_cache_mode = {mode}")
                        runs = []
                        for _ in range(12):
                            started = time.perf_counter()
                            cursor.execute(statement, parameters, prepare=True)
                            cursor.fetchall()
                            runs.append((time.perf_counter() - started) * 1000)
                        times.append(min(runs[-5:]))
                        cursor.execute("DEALLOCATE ALL")
                    connection.rollback()
                    mark = "  <- planned every run" if times[0] > 1.5 * times[1] else ""
                    print(f"  auto {times[0]:5.2f}  generic {times[1]:5.2f}  custom {times[2]:5.2f}  "
                          f"{' '.join(statement.split())[:90]}{mark}")
            finally:
                raw.invalidate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
