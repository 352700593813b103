"""Demo institutions and agreements."""
from sqlalchemy import select

from ..demo import seed_users
from ..extensions import db
from .models import HomeInstitution, PartnerInstitution


def seed(context: dict) -> None:
    home = db.session.scalar(select(HomeInstitution))
    if home is None:
        home = HomeInstitution(name="Universidad de Valdemora", country="ES", city="Valdemora",
                               schac_code="uvaldemora.es", erasmus_code="E VALDEMO01",
                               website="https://www.uvaldemora.es", office_email="international@uvaldemora.es",
                               signatory_name="Dr. Elena Ruiz", signatory_title="Vice-Rector for International Relations")
        db.session.add(home)
    partner = db.session.scalar(select(PartnerInstitution).where(PartnerInstitution.schac_code == "unibo.it"))
    if partner is None:
        partner = PartnerInstitution(name="Università di Bologna", country="IT", city="Bologna",
                                     website="https://www.unibo.it", schac_code="unibo.it",
                                     erasmus_code="I  BOLOGNA01")
        db.session.add(partner)
        db.session.flush()
    context["home"] = home
    context["users"] = seed_users(partner.id)
