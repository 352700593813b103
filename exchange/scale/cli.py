"""`flask seed-scale`: the generated data set used by the page benchmark (bench/bench_pages.py)."""
import time

import click


@click.command("seed-scale")
@click.option("--students", type=click.IntRange(1, 1_000_000), default=50_000, show_default=True)
@click.option("--partners", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--events", type=click.IntRange(0, 100_000), default=300, show_default=True)
@click.option("--seed", "random_seed", type=int, default=20260901, show_default=True,
              help="Random seed: the same seed and sizes give the same data.")
@click.option("--batch-size", type=click.IntRange(100, 100_000), default=5000, show_default=True,
              help="Rows per INSERT batch.")
@click.option("--create-tables", is_flag=True,
              help="Create missing tables first (db.create_all), for a scratch database.")
@click.option("--no-files", is_flag=True,
              help="Do not put the applications' documents in UPLOAD_FOLDER (rows only).")
def seed_scale_command(students, partners, events, random_seed, batch_size, create_tables, no_files):
    """Generate a large data set (bulk inserts; refuses to run twice on the same database)."""
    from ..extensions import db
    from .seed import ScaleError, SeedSizes, seed_scale

    if create_tables:
        db.create_all()
    started = time.perf_counter()
    try:
        summary = seed_scale(SeedSizes(students=students, partners=partners, events=events), seed=random_seed,
                             batch_size=batch_size, write_files=not no_files,
                             progress=lambda message: click.echo(f"  {message}"))
    except ScaleError as exc:
        raise click.ClickException(str(exc))
    elapsed = time.perf_counter() - started
    click.echo(f"Scale data set loaded in {elapsed:.1f} s: "
               + ", ".join(f"{count:,} {name}" for name, count in summary.rows.items()))
    click.echo(f"Total {summary.total_rows:,} rows. Logins (password: {summary.password}):")
    for role, email in summary.logins.items():
        click.echo(f"  {role:<12} {email}")
    click.echo(f"  large call id {summary.call_id} (applications of every student)")
