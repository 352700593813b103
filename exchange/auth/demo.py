"""The demo accounts: one per role, and a helper for the other domains' demo people (all share the demo password)."""
from functools import cache

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ..core.types import utcnow
from ..extensions import db
from .models import Role, User
from .services import create_user

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("student@demo.test", "Sofia Martins", Role.student),
    ("coordinator@demo.test", "Carmen Ortega", Role.coordinator),
    ("partner@demo.test", "Luca Bianchi", Role.partner),
    ("admin@demo.test", "Alex Morgan", Role.admin),
]


@cache
def demo_password_hash(method: str) -> str:
    """The demo password hashed once per process: every demo account shares it (scrypt costs ~0.2 s a hash)."""
    return generate_password_hash(DEMO_PASSWORD, method=method)


def demo_user(email: str, name: str, role: Role, institution_id: int | None = None) -> User:
    """Get or create a demo account with the demo password."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(email, name, role, institution_id=institution_id)
        user.password_hash = demo_password_hash(current_app.config["PASSWORD_HASH_METHOD"])
        user.password_changed_at = utcnow()
    return user


def seed_users(partner_institution_id: int | None) -> dict[str, User]:
    users = {}
    for email, name, role in DEMO_USERS:
        users[role.value] = demo_user(email, name, role,
                                      institution_id=partner_institution_id if role is Role.partner else None)
    return users
