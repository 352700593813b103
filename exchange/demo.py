"""Demo data: `flask seed-demo` runs each domain's seeder in order. Every seeder is idempotent."""
import logging
from functools import cache

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .auth.models import Role, User
from .auth.services import create_user
from .core.types import utcnow
from .extensions import db

log = logging.getLogger(__name__)

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


def minimal_pdf(*lines: str) -> bytes:
    """A small valid one-page A4 PDF showing `lines` (the first one large), for generated documents."""
    def escape(text):
        text = text.encode("latin-1", "replace").decode("latin-1")
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    sizes = [20, 12, 10]
    stream = "".join(f"BT /F1 {sizes[min(i, 2)]} Tf 72 {760 - 30 * i} Td ({escape(line)}) Tj ET\n"
                     for i, line in enumerate(lines))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


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
