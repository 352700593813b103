"""The demo seeder: realistic partners and agreements, idempotent."""
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.partners import demo
from exchange.partners.models import (Agreement, AgreementStatus, CooperationCondition, HomeInstitution,
                                      LanguageRequirement, PartnerContact, PartnerInstitution)

MODELS = (HomeInstitution, PartnerInstitution, PartnerContact, Agreement, CooperationCondition, LanguageRequirement)


def counts(db):
    return {m.__name__: db.session.scalar(select(func.count(m.id))) for m in MODELS}


def test_seed_is_idempotent(db, academic_year):
    context = {}
    demo.seed(context)
    db.session.commit()
    first = counts(db)
    again = {}
    demo.seed(again)
    db.session.commit()
    assert counts(db) == first
    assert first["HomeInstitution"] == 1 and first["PartnerInstitution"] >= 12
    assert {a.id for a in context["agreements"]} == {a.id for a in again["agreements"]}


def test_seed_context_and_content(db, academic_year):
    context = {}
    demo.seed(context)
    db.session.commit()
    assert set(context) >= {"home", "users", "partners", "agreements"}
    partners = context["partners"]
    assert len(partners) >= 12 and len({p.country for p in partners.values()}) >= 10
    assert context["users"]["partner"].role is Role.partner
    assert context["users"]["partner"].institution_id == partners["unibo.it"].id
    assert context["users"]["partner"].email == "partner@demo.test"
    statuses = [a.effective_status(academic_year) for a in context["agreements"]]
    for status in (AgreementStatus.draft, AgreementStatus.terminated, AgreementStatus.expired):
        assert status in statuses
    active = [a for a in context["agreements"] if a.effective_status(academic_year) is AgreementStatus.active]
    assert len(active) >= 8
    assert sum(a.first_year <= academic_year and a.last_year >= academic_year + 2 for a in active) >= 8
    assert all(p.contacts for p in partners.values())
    codes = {c.isced_code for a in context["agreements"] for c in a.conditions}
    assert {"0413", "0613", "0231", "0311", "0732", "0912"} <= codes
