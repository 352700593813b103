"""Demo data: `flask seed-demo` runs each domain's seeder in order. Every seeder is idempotent.

The helpers the seeders share live below them: the demo accounts in ``auth.demo``, generated PDFs in
``core.demo``.
"""
from .applications import demo as applications_demo
from .auth.demo import DEMO_PASSWORD, DEMO_USERS, demo_user  # noqa: F401 (flask seed-demo and tests use them)
from .certificates import demo as certificates_demo
from .events import demo as events_demo
from .extensions import db
from .partners import demo as partners_demo
from .placements import demo as placements_demo

#: Order matters: institutions and agreements first, then what builds on them.
SEEDERS = [partners_demo.seed, applications_demo.seed, placements_demo.seed, events_demo.seed, certificates_demo.seed]


def seed_demo() -> None:
    context: dict = {}
    for seeder in SEEDERS:
        seeder(context)
        db.session.flush()
    db.session.commit()
