"""The revision that gives every certificate its issuer fills it in for the certificates issued before it."""
import hashlib
import json
from datetime import datetime, timezone

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from exchange import create_app
from exchange.config import TestConfig
from exchange.extensions import db
from tests.fixtures.files import png_bytes

BEFORE, REVISION = "deb0ba74aa5e", "b7c8f6901c87"


def test_existing_certificates_get_the_issuer_of_today_with_copies_of_the_images(empty_database, tmp_path):
    url, engine_options = empty_database
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    logo = png_bytes(5, 3)
    (uploads / "logo-abc.png").write_bytes(logo)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options,
                     UPLOAD_FOLDER=str(uploads))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO home_institution (name, country, city, website, office_email, logo_path, signatory_name, "
                "signatory_title, signature_path) VALUES ('Universidad de Valdemora', 'ES', 'Valdemora', NULL, "
                "'io@uvaldemora.example', 'logo-abc.png', 'Dr. Elena Ruiz', 'Vice-Rector', 'missing.png')"))
            for number in ("CERT-2026-000001", "CERT-2026-000002"):
                conn.execute(text(
                    "INSERT INTO certificates (number, code, kind, language, recipient_name, subject_title, "
                    "details_json, issued_at) VALUES (:number, :code, 'participation', 'en', 'Ana Perez', 'Fair', "
                    "'{}', :at)"), {"number": number, "code": number.lower(),
                                    "at": datetime(2026, 3, 12, 18, tzinfo=timezone.utc)})
        upgrade(revision=REVISION)
        with db.engine.connect() as conn:
            issuers = [json.loads(row[0]) for row in conn.execute(text("SELECT issuer_json FROM certificates"))]
        frozen = f"frozen-{hashlib.sha256(logo).hexdigest()}.png"
        assert issuers == [{
            "institution": {"name": "Universidad de Valdemora", "city": "Valdemora", "country": "ES", "website": None,
                            "email": "io@uvaldemora.example", "logo": frozen, "office": True},
            "signatory": {"name": "Dr. Elena Ruiz", "title": "Vice-Rector", "signature": None}}] * 2
        assert (uploads / frozen).read_bytes() == logo
        downgrade(revision=BEFORE)
        db.engine.dispose()
