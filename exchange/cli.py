"""Command-line tools: `flask seed-demo`, `flask users create`, `flask translate ...`, `flask worker`,
`flask maintenance prune`, `flask seed-scale` (scale/cli.py)."""
import os
import subprocess
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from .extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
translate_cli = AppGroup("translate", help="Extract, update and compile the translation catalogues.")
maintenance_cli = AppGroup("maintenance", help="Housekeeping to run regularly (cron, a systemd timer).")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRANSLATIONS = os.path.join(HERE, "translations")
POT = os.path.join(TRANSLATIONS, "messages.pot")


@click.command("seed-demo")
def seed_demo_command():
    """Load demo data (idempotent): institutions, agreements, demo users and more."""
    from .demo import DEMO_USERS, DEMO_PASSWORD, seed_demo
    seed_demo()
    click.echo("Demo data loaded. Demo logins (password: %s):" % DEMO_PASSWORD)
    for email, _name, role in DEMO_USERS:
        click.echo(f"  {role.value:<12} {email}")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["student", "coordinator", "partner", "admin"]), default="admin")
@click.option("--institution-id", type=int, default=None)
@click.password_option()
def create_user_command(email, name, role, institution_id, password):
    """Create an account (e.g. the first administrator)."""
    from .auth.models import Role
    from .auth.services import create_user
    from .core.errors import WorkflowError
    try:
        user = create_user(email, name, Role(role), password=password, institution_id=institution_id)
    except WorkflowError as exc:
        raise click.ClickException(exc.message)
    db.session.commit()
    click.echo(f"Created {user.email} ({role}).")


def _pybabel(*args: str) -> None:
    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run([pybabel, "-q", *args], check=True, cwd=ROOT)


@translate_cli.command("extract")
def extract():
    """Extract marked strings into messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "--no-location",
             "--sort-output", "--project", "exchange", "-o", POT, "exchange", "templates")


@translate_cli.command("update")
def update():
    """Extract, then merge new strings into every catalogue."""
    extract.callback()
    _pybabel("update", "-i", POT, "-d", TRANSLATIONS, "--no-fuzzy-matching", "--ignore-obsolete",
             "--no-wrap")


@translate_cli.command("compile")
def compile_():
    """Compile the .po catalogues into .mo files."""
    _pybabel("compile", "-d", TRANSLATIONS, "--statistics")


@translate_cli.command("init")
@click.argument("lang")
def init(lang):
    """Start a catalogue for a new language."""
    _pybabel("init", "-i", POT, "-d", TRANSLATIONS, "-l", lang)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Run background jobs from the Redis queue (needs REDIS_URL)."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it jobs run in-process.")
    from .jobs.services import queue, redis_connection
    from .jobs.worker import Worker
    click.echo(f"Worker listening on {current_app.config['REDIS_URL']} (it also prunes, at most once an hour)")
    Worker([queue()], connection=redis_connection()).work(burst=burst)


@maintenance_cli.command("prune")
def prune_command():
    """Delete what is no longer needed (failed logins older than LOGIN_WINDOW_MINUTES). Run it hourly."""
    from .jobs.maintenance import prune
    for name, count in prune().items():
        click.echo(f"{count} {name} deleted.")


def init_app(app):
    from .scale.cli import seed_scale_command
    app.cli.add_command(worker_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(translate_cli)
    app.cli.add_command(maintenance_cli)
    app.cli.add_command(seed_scale_command)
