"""Demo data: `flask seed-demo` runs each domain's seeder in order. Every seeder is idempotent."""
import logging

from sqlalchemy import select

from .auth.models import Role, User
from .auth.services import create_user
from .extensions import db

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("student@demo.test", "Sofia Martins", Role.student),
    ("coordinator@demo.test", "Carmen Ortega", Role.coordinator),
    ("partner@demo.test", "Luca Bianchi", Role.partner),
    ("admin@demo.test", "Alex Morgan", Role.admin),
]


def demo_user(email: str, name: str, role: Role, institution_id: int | None = None) -> User:
    """Get or create a demo account with the demo password."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(email, name, role, password=DEMO_PASSWORD, institution_id=institution_id)
    return user


def seed_users(partner_institution_id: int | None) -> dict[str, User]:
    users = {}
    for email, name, role in DEMO_USERS:
        users[role.value] = demo_user(email, name, role,
                                      institution_id=partner_institution_id if role is Role.partner else None)
    return users


def _seeders():
    # Order matters: institutions and agreements first, then what builds on them.
    from .partners import demo as partners_demo
    seeders = [partners_demo.seed]
    for module_name in ("applications", "placements", "events", "certificates"):
        try:
            module = __import__(f"exchange.{module_name}.demo", fromlist=["seed"])
        except ModuleNotFoundError:
            continue
        seeders.append(module.seed)
    return seeders


def seed_demo() -> None:
    context: dict = {}
    for seeder in _seeders():
        seeder(context)
        db.session.flush()
    db.session.commit()
