"""certificates keep their issuer

Every certificate now keeps what it prints about the home institution (name, addresses, signatory, logo and
signature) as it was when it was issued. Certificates issued before this revision get today's settings, with
the logo and the signature copied to immutable files named by their content (as services.frozen_image does),
so that later changes to the settings leave them as they are.

Revision ID: b7c8f6901c87
Revises: deb0ba74aa5e
Create Date: 2026-12-07 01:17:04.933653

"""
import hashlib
import json
import logging
import os

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c8f6901c87'
down_revision = 'deb0ba74aa5e'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _upload_folder():
    from flask import current_app, has_app_context
    return current_app.config.get("UPLOAD_FOLDER") if has_app_context() else None


def _frozen_copy(folder, name):
    """An immutable copy of an uploaded image named frozen-<sha256><extension>; None when it is missing."""
    if not name:
        return None
    if name.startswith("frozen-"):
        return name
    if not folder or os.path.basename(name) != name or name.startswith("."):
        log.warning("Certificate image %s not found: issued certificates keep no copy of it", name)
        return None
    try:
        with open(os.path.join(folder, name), "rb") as fh:
            data = fh.read()
    except OSError:
        log.warning("Certificate image %s not found: issued certificates keep no copy of it", name)
        return None
    frozen = f"frozen-{hashlib.sha256(data).hexdigest()}{os.path.splitext(name)[1].lower()}"
    target = os.path.join(folder, frozen)
    if not os.path.exists(target):
        with open(target + ".part", "wb") as fh:
            fh.write(data)
        os.replace(target + ".part", target)
    return frozen


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer_json', sa.Text(), server_default='{}', nullable=False))

    conn = op.get_bind()
    if not conn.execute(sa.text("SELECT COUNT(*) FROM certificates")).scalar():
        return
    home = conn.execute(sa.text(
        "SELECT name, city, country, website, office_email, logo_path, signatory_name, signatory_title, "
        "signature_path FROM home_institution ORDER BY id LIMIT 1")).mappings().first()
    if home is None:
        issuer = {"institution": {"name": "", "city": None, "country": None, "website": None, "email": None,
                                  "logo": None, "office": True},
                  "signatory": {"name": None, "title": None, "signature": None}}
    else:
        folder = _upload_folder()
        issuer = {"institution": {"name": home["name"], "city": home["city"] or None,
                                  "country": home["country"] or None, "website": home["website"] or None,
                                  "email": home["office_email"] or None,
                                  "logo": _frozen_copy(folder, home["logo_path"]), "office": True},
                  "signatory": {"name": home["signatory_name"] or None, "title": home["signatory_title"] or None,
                                "signature": _frozen_copy(folder, home["signature_path"])}}
    conn.execute(sa.text("UPDATE certificates SET issuer_json = :issuer"),
                 {"issuer": json.dumps(issuer, sort_keys=True, ensure_ascii=False)})


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('issuer_json')
