"""Benchmark certificate PDFs: 500 certificates of participation, three ways.

Usage: python bench/bench_certificates.py [--count 500] [--processes 2] [--chunk 50] [--notify]

1. one render per certificate: context → HTML → one WeasyPrint render each, in this process;
2. one batch render: all certificates laid out in one WeasyPrint pass (one merged PDF, then one PDF per
   certificate cut from the same layout), in this process;
3. the bulk action end to end: the background job behind "Issue and download all" on an event with
   `--count` checked-in attendees and no certificates yet: issue them (numbers, codes, snapshot), render
   (chunks of `--chunk` over `--processes` processes), store every PDF, build the merged PDF and the ZIP.

A fresh SQLite database and upload folder in a temporary directory; the home institution has a logo and a
scanned signature, and one name in ten is Chinese, Arabic or Turkish. Prints certificates per second.
Goal on a 2-core machine: ≥ 30 certificates per second end to end (500 in under 17 s).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
import zipfile
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

FIRST = ["Sofia", "Lucas", "Emma", "Mateo", "Giulia", "Jonas", "Inês", "Oskar", "Amélie", "Liam"]
LAST = ["Martins", "Weber", "Rossi", "Fernández", "Jansen", "Nowak", "Silva", "Lindqvist", "Durand", "O'Brien"]
SPECIAL = ["王秀英", "محمد العلي", "Özlem Çelik"]


def name_for(i: int) -> str:
    if i % 10 == 9:
        return SPECIAL[(i // 10) % len(SPECIAL)]
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"


def image(width: int, height: int, colour) -> bytes:
    from PIL import Image, ImageDraw
    picture = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((4, 4, height - 4, height - 4), fill=colour)
    draw.rectangle((height + 10, height // 3, width - 10, height // 3 + 12), fill=colour)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def setup(tmp: str, processes: int, chunk: int):
    from exchange import create_app
    from exchange.config import TestConfig
    from exchange.extensions import db
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.db",
                     UPLOAD_FOLDER=os.path.join(tmp, "uploads"), MAIL_FOLDER=os.path.join(tmp, "mail"),
                     CERTIFICATE_RENDER_PROCESSES=processes, CERTIFICATE_CHUNK_SIZE=chunk)
    context = app.app_context()
    context.push()
    db.create_all()
    return app, db


def seed(db, count: int):
    from exchange.auth.models import Role, User
    from exchange.core.types import utcnow
    from exchange.core.uploads import upload_folder
    from exchange.events.models import Event, EventCategory, EventStatus, Registration, RegistrationStatus
    from exchange.partners.models import HomeInstitution
    for name, data in (("bench-logo.png", image(480, 120, (29, 53, 87, 255))),
                       ("bench-signature.png", image(360, 90, (20, 20, 60, 255)))):
        with open(os.path.join(upload_folder(), name), "wb") as fh:
            fh.write(data)
    db.session.add(HomeInstitution(name="Universidad de Valdemora", country="ES", city="Valdemora",
                                   logo_path="bench-logo.png", signature_path="bench-signature.png",
                                   signatory_name="Dr. Elena Ruiz",
                                   signatory_title="Vice-Rector for International Relations"))
    coordinator = User(email="coordinator@bench.test", name="Carmen Ortega", role=Role.coordinator)
    db.session.add(coordinator)
    start = utcnow().replace(microsecond=0) - timedelta(days=10)
    events = []
    for title in ("International Food Fair", "Welcome week: city tour"):
        event = Event(title=title, description="", category=EventCategory.cultural_evening, starts_at=start,
                      ends_at=start + timedelta(hours=3), venue="Aula Magna", status=EventStatus.published,
                      sequence=0)
        db.session.add(event)
        events.append(event)
    db.session.flush()
    users = [User(email=f"s{i}@bench.test", name=name_for(i), role=Role.student,
                  locale=("en", "es", "fr")[i % 3]) for i in range(count)]
    db.session.add_all(users)
    db.session.flush()
    for event in events:
        db.session.add_all(Registration(event_id=event.id, user_id=u.id, status=RegistrationStatus.confirmed,
                                        checked_in_at=start + timedelta(minutes=5)) for u in users)
    db.session.commit()
    return coordinator, events


def report(label: str, count: int, seconds: float, cpu: float | None = None) -> None:
    line = f"{label:<38} {count:>5} in {seconds:6.2f} s = {count / seconds:6.1f}/s"
    if cpu is not None:
        line += f"   (CPU {cpu:6.2f} s = {1000 * cpu / count:5.1f} ms per certificate)"
    print(line)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--notify", action="store_true", help="also e-mail every recipient (to the mail folder)")
    parser.add_argument("--skip-single", action="store_true", help="skip the one-render-per-certificate run")
    args = parser.parse_args(argv)
    import logging
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    tmp = tempfile.mkdtemp(prefix="bench-certificates-")
    try:
        app, db = setup(tmp, args.processes, args.chunk)
        from exchange.certificates import jobs, pdf, services
        from exchange.certificates.models import CertificateKind
        from exchange.jobs.services import start_job
        from exchange.jobs.models import JobStatus
        from weasyprint import __version__ as weasyprint_version
        coordinator, (event_a, event_b) = seed(db, args.count)
        print(f"WeasyPrint {weasyprint_version}; {os.cpu_count()} CPUs; {args.count} certificates; "
              f"HarfBuzz subsetting: {harfbuzz_subset_available()}")

        # Warm up: fonts, the stylesheet, templates.
        ids = services.eligible_subject_ids(CertificateKind.participation, event_a.id)
        certificates = services.issue_many(CertificateKind.participation, ids, coordinator)
        db.session.commit()
        contexts = [services.context_of(c) for c in certificates]
        assets = pdf.assets_for(contexts)
        pdf.render_pdf(pdf.section_html(contexts[0]), assets)

        if not args.skip_single:
            t0, c0 = time.perf_counter(), time.process_time()
            for context in contexts:
                pdf.render_pdf(pdf.section_html(context), assets)
            report("1. one render per certificate", len(contexts), time.perf_counter() - t0,
                   time.process_time() - c0)

        t0, c0 = time.perf_counter(), time.process_time()
        sections = [pdf.section_html(context) for context in contexts]
        merged, singles, _pages = pdf.render_batch(sections, assets)
        seconds = time.perf_counter() - t0
        assert len(singles) == len(contexts)
        report("2. one batch render (1 process)", len(contexts), seconds, time.process_time() - c0)
        print(f"   merged PDF {len(merged) / 1e6:.1f} MB; single PDFs {sum(map(len, singles)) / 1e6:.1f} MB")

        t0, c0 = time.perf_counter(), time.process_time()
        job = start_job("certificates.participation", "Bench", jobs.FUNC, "participation", event_b.id,
                        coordinator.id, args.notify, user=coordinator, total=args.count)
        seconds, main_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert job.status is JobStatus.finished, job.error
        assert job.result["issued"] == args.count and job.result["rendered"] == args.count
        worker_cpu = job.result["pool_cpu_seconds"]  # 0 when everything was rendered in this process
        report(f"3. bulk action end to end ({args.processes} proc)", args.count, seconds, main_cpu + worker_cpu)
        idle = main_cpu + worker_cpu / (args.processes if worker_cpu else 1)
        print(f"   CPU: this process {main_cpu:.2f} s, render processes {worker_cpu:.2f} s; on {args.processes} idle "
              f"cores that is about {idle:.1f} s = {args.count / idle:.0f} per second")
        from exchange.core.uploads import path_of
        with zipfile.ZipFile(path_of(job.result["files"]["zip"]["stored_name"])) as archive:
            assert len(archive.namelist()) == args.count
        print(f"   merged PDF {os.path.getsize(path_of(job.result['files']['pdf']['stored_name'])) / 1e6:.1f} MB; "
              f"ZIP {os.path.getsize(path_of(job.result['files']['zip']['stored_name'])) / 1e6:.1f} MB")

        t0 = time.perf_counter()
        again = start_job("certificates.participation", "Bench again", jobs.FUNC, "participation", event_b.id,
                          coordinator.id, False, user=coordinator, total=args.count)
        seconds = time.perf_counter() - t0
        assert again.result["rendered"] == 0
        report("   the same again (all stored)", args.count, seconds)
        db.session.remove()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz (fast) when libharfbuzz-subset loads, else with fontTools."""
    from weasyprint.text.ffi import harfbuzz_subset
    return harfbuzz_subset is not None


if __name__ == "__main__":
    sys.exit(main())
