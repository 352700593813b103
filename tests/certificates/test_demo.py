"""The demo seeds certificates a visitor can open and verify; seeding twice changes nothing."""
from sqlalchemy import func, select

from exchange.auth.models import User
from exchange.certificates import demo
from exchange.certificates.models import Certificate
from exchange.demo import seed_demo


def test_demo_certificates(app, client, db):
    seed_demo()
    count = db.session.scalar(select(func.count(Certificate.id)))
    assert count >= 10
    names = set(db.session.scalars(select(Certificate.recipient_name)))
    assert {"王秀英", "محمد العلي", "Özlem Çelik", "Ozlem Celik", "Sofia Martins"} <= names
    seed_demo()
    assert db.session.scalar(select(func.count(Certificate.id))) == count

    page = client.get(f"/verify/{demo.VALID_CODE}").get_data(as_text=True)
    assert "Valid" in page and "Sofia Martins" in page
    page = client.get(f"/verify/{demo.REVOKED_CODE}").get_data(as_text=True)
    assert "Revoked" in page and "Ozlem Celik" in page and "misspelt" not in page
    student = db.session.scalar(select(User).where(User.email == "student@demo.test"))
    with client.session_transaction() as session:
        session["_user_id"] = student.session_token
    page = client.get("/certificates/mine").get_data(as_text=True)
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == demo.VALID_CODE))
    assert f"/certificates/{certificate.id}/pdf" in page
    response = client.get(f"/certificates/{certificate.id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
