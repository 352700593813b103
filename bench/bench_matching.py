"""Benchmark exchange.matching.deferred_acceptance against the `matching` package.

Usage: python bench/bench_matching.py [--sizes 1000 10000 50000] [--seed 12345]
       [--repeat 5] [--skip-reference-above 10000] [--reference-timeout 900]

Instances (fixed seed): places = students / 20; every student picks 5-10
distinct random places; every place ranks all students who picked it by a
random score (so all pairs are mutually acceptable) and has 10-20 seats
(about 75% as many seats as students).  The reference package
(`matching.games.HospitalResident`, resident-optimal) is timed on
construction + solve in a child process (fresh interpreter, big stack, raised
recursion limit, hard timeout); ours is the best of --repeat runs.  Peak
memory of ours is measured with tracemalloc in a separate run.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

STUDENTS_PER_PLACE = 20


def make_instance(n_students: int, seed: int):
    """Return (choices, capacities, rankings) for a generated instance."""
    rng = random.Random(seed * 1_000_003 + n_students)
    n_places = max(1, n_students // STUDENTS_PER_PLACE)
    places = list(range(n_places))
    choices: dict[int, list[int]] = {}
    applicants: dict[int, list[int]] = {p: [] for p in places}
    for s in range(n_students):
        picked = rng.sample(places, min(n_places, rng.randint(5, 10)))
        choices[s] = picked
        for p in picked:
            applicants[p].append(s)
    capacities = {p: rng.randint(10, 20) for p in places}
    score = [rng.random() for _ in range(n_students)]
    rankings = {p: sorted(a, key=score.__getitem__) for p, a in applicants.items()}
    return choices, capacities, rankings


def time_ours(instance, repeat: int) -> tuple[float, dict]:
    from exchange.matching import deferred_acceptance

    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = deferred_acceptance(*instance)
        best = min(best, time.perf_counter() - t0)
    return best, result


def peak_memory_ours(instance) -> int:
    from exchange.matching import deferred_acceptance

    gc.collect()
    tracemalloc.start()
    try:
        deferred_acceptance(*instance)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _reference_worker(n_students: int, seed: int) -> None:
    """Child process: time the reference, print JSON {seconds, result}."""
    from matching.games import HospitalResident

    choices, capacities, rankings = make_instance(n_students, seed)
    out = {}

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            game = HospitalResident.create_from_dictionaries(choices, rankings, capacities)
            matching = game.solve(optimal="resident")
            out["seconds"] = time.perf_counter() - t0
        res = dict.fromkeys(choices)
        for hospital, residents in matching.items():
            for r in residents:
                res[r.name] = hospital.name
        out["result"] = [[s, p] for s, p in res.items()]

    # deepcopy of the linked player graph recurses deeply: raise the limit
    # and run in a thread with a large C stack.
    sys.setrecursionlimit(max(10_000, 50 * n_students))
    threading.stack_size(512 * 1024 * 1024)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    json.dump(out, sys.stdout)


def time_reference(n_students: int, seed: int, timeout: float):
    """Run the reference in a child process; (seconds, result) or (None, reason)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_reference-worker", str(n_students), "--seed", str(seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout>{timeout:g}s"
    if proc.returncode != 0 or not proc.stdout.strip():
        return None, f"failed rc={proc.returncode}: {proc.stderr.strip()[-200:]}"
    data = json.loads(proc.stdout)
    if "seconds" not in data:
        return None, "failed (no result)"
    return data["seconds"], {s: p for s, p in data["result"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--repeat", type=int, default=5, help="runs of ours (best is kept)")
    ap.add_argument("--skip-reference-above", type=int, default=10_000)
    ap.add_argument("--reference-timeout", type=float, default=900.0, help="seconds per reference run")
    ap.add_argument("--_reference-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._reference_worker is not None:
        _reference_worker(args._reference_worker, args.seed)
        return 0

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), seed {args.seed}")
    header = f"{'students':>9} {'places':>7} {'pairs':>8} {'ours (s)':>9} {'ours peak MiB':>13} {'reference (s)':>13} {'ratio':>8}  same"
    print(header)
    print("-" * len(header))
    ok = True
    for n in args.sizes:
        instance = make_instance(n, args.seed)
        pairs = sum(map(len, instance[0].values()))
        ours, result = time_ours(instance, args.repeat)
        peak = peak_memory_ours(instance) / 2**20
        ref_s, ratio, same = "skipped", "-", "-"
        if n <= args.skip_reference_above:
            ref, ref_result = time_reference(n, args.seed, args.reference_timeout)
            if ref is None:
                ref_s = ref_result
            else:
                ref_s, ratio = f"{ref:.3f}", f"{ref / ours:.0f}x"
                same = "yes" if ref_result == result else "NO"
                ok = ok and same == "yes"
        print(f"{n:>9} {len(instance[1]):>7} {pairs:>8} {ours:>9.4f} {peak:>13.1f} {ref_s:>13} {ratio:>8}  {same}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
