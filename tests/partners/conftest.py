"""Fixtures for the partner institutions and agreements tests."""
from types import SimpleNamespace

import pytest

from exchange.auth.models import Role
from exchange.partners import services
from exchange.partners.models import AgreementStatus, Direction, PartnerContact, current_academic_year


def condition(direction=Direction.outgoing, isced="0613", levels=(6, 7), places=2, months=5, languages=()):
    return services.ConditionData(direction=direction, isced_code=isced, eqf_levels=list(levels),
                                  places_per_year=places, months_per_place=months, languages=list(languages))


@pytest.fixture
def year():
    return current_academic_year()


@pytest.fixture
def make_agreement(db, make_institution, year):
    """make_agreement(partner=None, first=year, last=year+2, status=active, conditions=[...])."""
    def _make(partner=None, first=None, last=None, status=AgreementStatus.active, conditions=None, **kw):
        partner = partner or make_institution()
        conditions = conditions or [condition()]
        agreement = services.create_agreement(
            partner, first_year=year if first is None else first, last_year=year + 2 if last is None else last,
            status=AgreementStatus.draft if status is AgreementStatus.draft else AgreementStatus.active,
            condition=conditions[0], **kw)
        for extra in conditions[1:]:
            services.add_condition(agreement, extra)
        if status is AgreementStatus.terminated:
            services.terminate_agreement(agreement, "Closed")
        return agreement
    return _make


@pytest.fixture
def world(db, make_institution, make_user, make_agreement):
    """Two partners; the partner user belongs to `own`; an agreement and a contact on each."""
    own = make_institution(name="Università di Bologna", country="IT", schac_code="unibo.it")
    other = make_institution(name="Sorbonne Université", country="FR", schac_code="sorbonne-universite.fr")
    own_agreement = make_agreement(own, conditions=[condition(), condition(Direction.incoming, isced="0413")])
    other_agreement = make_agreement(other)
    own_contact = PartnerContact(institution=own, name="Giulia Rossi", email="giulia@example.org")
    other_contact = PartnerContact(institution=other, name="Claire Dubois")
    db.session.add_all([own_contact, other_contact])
    db.session.flush()
    users = {
        "student": make_user(Role.student),
        "partner_own": make_user(Role.partner, institution=own),
        "partner_other": make_user(Role.partner, institution=other),
        "coordinator": make_user(Role.coordinator),
        "admin": make_user(Role.admin),
    }
    db.session.commit()
    return SimpleNamespace(own=own, other=other, own_agreement=own_agreement, other_agreement=other_agreement,
                           own_contact=own_contact, other_contact=other_contact, users=users)
