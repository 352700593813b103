"""Institutions, agreements and the exchange balance, through the services."""
import pytest
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.core.pagination import paginate_rows
from exchange.partners import services
from exchange.partners.models import (Agreement, AgreementStatus, CooperationCondition, Direction,
                                      LanguageRequirement, PartnerInstitution)
from tests.fixtures.partners import condition


def institution(**kw):
    values = dict(name="Università di Padova", country="IT", schac_code="unipd.it", city="Padova",
                  website="https://www.unipd.it", erasmus_code="I  PADOVA01")
    values.update(kw)
    return services.InstitutionData(**values)


# --- Institutions -------------------------------------------------------------------------------

def test_create_institution_normalises(db):
    created = services.create_institution(institution(country="it", schac_code=" UniPD.IT ",
                                                      erasmus_code="i padova01", notes="  "))
    assert (created.country, created.schac_code, created.erasmus_code, created.notes) == \
        ("IT", "unipd.it", "I  PADOVA01", None)


@pytest.mark.parametrize(("values", "field"), [
    ({"name": "  "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"country": "XX"}, "country"),
    ({"country": "ITA"}, "country"),
    ({"country": ""}, "country"),
    ({"schac_code": ""}, "schac_code"),
    ({"schac_code": "not a domain"}, "schac_code"),
    ({"schac_code": "https://unipd.it"}, "schac_code"),
    ({"website": "ftp://unipd.it"}, "website"),
    ({"website": "javascript:alert(1)"}, "website"),
    ({"website": "www.unipd.it"}, "website"),
    ({"erasmus_code": "PADOVA"}, "erasmus_code"),
    ({"city": "x" * 121}, "city"),
    ({"notes": "x" * 10_000}, "notes"),
])
def test_institution_validation(db, values, field):
    with pytest.raises(WorkflowError) as error:
        services.create_institution(institution(**values))
    assert error.value.field == field
    assert db.session.scalar(select(func.count(PartnerInstitution.id))) == 0


def test_duplicate_schac_is_case_insensitive(db, make_institution):
    make_institution(schac_code="unipd.it")
    with pytest.raises(WorkflowError) as error:
        services.create_institution(institution(schac_code="UNIPD.IT"))
    assert error.value.code == "schac-taken"


def test_duplicate_schac_detected_even_if_stored_with_capitals(db, make_institution):
    make_institution(schac_code="UniPD.it")  # written around the service
    assert services.schac_taken("unipd.it")


def test_update_keeps_own_schac_but_not_another(db, make_institution):
    make_institution(schac_code="taken.it")
    mine = services.create_institution(institution())
    services.update_institution(mine, institution(name="Padova", schac_code="UNIPD.it"))
    assert mine.name == "Padova"
    with pytest.raises(WorkflowError):
        services.update_institution(mine, institution(schac_code="taken.it"))


def test_search_institutions(db, make_institution):
    make_institution(name="Università di Bologna", city="Bologna", schac_code="unibo.it",
                     erasmus_code="I  BOLOGNA01")
    make_institution(name="Lunds universitet", country="SE", city="Lund", schac_code="lu.se")
    make_institution(name="100% Campus", country="FR", city="Lyon", schac_code="campus.fr")

    def names(**kw):
        return [i.name for i in db.session.scalars(services.search_institutions(**kw))]
    assert names(q="bologna") == ["Università di Bologna"]
    assert names(q="LU.SE") == ["Lunds universitet"]
    assert names(q="BOLOGNA01") == ["Università di Bologna"]
    assert names(q="lyon") == ["100% Campus"]
    assert names(q="%") == ["100% Campus"]  # wildcards are literal
    assert names(country="se") == ["Lunds universitet"]
    assert names(sort="-name") == ["Università di Bologna", "Lunds universitet", "100% Campus"]
    assert names(sort="country")[0] == "100% Campus"
    assert names(sort="nonsense") == ["100% Campus", "Lunds universitet", "Università di Bologna"]


def test_contacts(db, make_institution):
    partner = make_institution()
    contact = services.add_contact(partner, " Giulia Rossi ", "Coordinator", "Giulia@Example.org", "+39 051  1234")
    assert (contact.name, contact.email, contact.phone) == ("Giulia Rossi", "giulia@example.org", "+39 051 1234")
    with pytest.raises(WorkflowError) as error:
        services.update_contact(contact, "Giulia", phone="call me")
    assert error.value.field == "phone"
    services.delete_contact(contact)
    assert partner.contacts == []


# --- Agreements ---------------------------------------------------------------------------------

def test_create_agreement_with_condition(db, make_institution, academic_year):
    partner = make_institution()
    agreement = services.create_agreement(
        partner, first_year=academic_year, last_year=academic_year + 2, status=AgreementStatus.active,
        reference=" IIA-1 ",
        condition=condition(levels=[7, 6, 7], languages=[("EN", "b2"), ("it", "B1")]))
    db.session.commit()
    cond = agreement.conditions[0]
    assert cond.eqf_levels == "6,7"
    assert [(r.language, r.cefr_level) for r in cond.languages] == [("en", "B2"), ("it", "B1")]
    assert agreement.reference == "IIA-1"
    assert agreement.effective_status() is AgreementStatus.active


@pytest.mark.parametrize(("first", "last", "field"), [
    (1, 0, "last_year"),           # first year after last
    (1999 - 2026, 0, "first_year"),  # before 2000
    (20, 21, "first_year"),        # too far ahead
    (0, 10, "last_year"),          # more than 10 years
])
def test_agreement_years(db, make_institution, academic_year, first, last, field):
    with pytest.raises(WorkflowError) as error:
        services.create_agreement(make_institution(), first_year=academic_year + first, last_year=academic_year + last,
                                  condition=condition())
    assert error.value.field == field


@pytest.mark.parametrize(("kw", "field"), [
    ({"places": -1}, "places_per_year"),
    ({"places": 101}, "places_per_year"),
    ({"months": -1}, "months_per_place"),
    ({"months": 25}, "months_per_place"),
    ({"isced": "1234"}, "isced_code"),
    ({"isced": "06"}, "isced_code"),
    ({"levels": []}, "eqf_levels"),
    ({"levels": [4]}, "eqf_levels"),
    ({"languages": [("xx", "B1")]}, "languages"),
    ({"languages": [("en", "B3")]}, "languages"),
    ({"languages": [("en", "")]}, "languages"),
    ({"languages": [("en", "B1"), ("EN", "C1")]}, "languages"),
    ({"languages": [("en", "B1"), ("fr", "B1"), ("de", "B1"), ("it", "B1")]}, "languages"),
])
def test_condition_validation(db, make_institution, academic_year, kw, field):
    with pytest.raises(WorkflowError) as error:
        services.create_agreement(make_institution(), first_year=academic_year, last_year=academic_year + 1,
                                  condition=condition(**kw))
    assert error.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count(Agreement.id))) == 0


def test_conditions_add_update_delete(db, make_agreement):
    agreement = make_agreement()
    second = services.add_condition(agreement, condition(Direction.incoming, languages=[("fr", "B2")]))
    services.update_condition(second, condition(Direction.incoming, places=6, languages=[("de", "B1"), ("fr", "C1")]))
    assert [(r.language, r.cefr_level) for r in second.languages] == [("de", "B1"), ("fr", "C1")]
    assert agreement.incoming_places == 6
    db.session.commit()
    assert db.session.scalar(select(func.count(LanguageRequirement.id))) == 2
    services.delete_condition(second)
    db.session.commit()
    with pytest.raises(WorkflowError) as error:
        services.delete_condition(agreement.conditions[0])
    assert error.value.code == "last-condition"
    assert db.session.scalar(select(func.count(CooperationCondition.id))) == 1


def test_status_transitions(db, make_agreement, make_institution, academic_year):
    draft = make_agreement(status=AgreementStatus.draft)
    other = make_institution()
    services.update_agreement(draft, partner=other, first_year=academic_year, last_year=academic_year + 3,
                              status=AgreementStatus.active)
    assert draft.status is AgreementStatus.active and draft.partner is other
    with pytest.raises(WorkflowError) as error:
        services.update_agreement(draft, partner=other, first_year=academic_year, last_year=academic_year + 3,
                                  status=AgreementStatus.draft)
    assert error.value.field == "status"
    with pytest.raises(WorkflowError) as error:
        services.update_agreement(draft, partner=make_institution(), first_year=academic_year,
                                  last_year=academic_year + 3, status=AgreementStatus.active)
    assert error.value.field == "partner_id"


def test_terminate(db, make_agreement, academic_year):
    agreement = make_agreement()
    with pytest.raises(WorkflowError):
        services.terminate_agreement(agreement, "  ")
    services.terminate_agreement(agreement, "The partner left the programme.")
    assert agreement.status is AgreementStatus.terminated and agreement.terminated_at is not None
    with pytest.raises(WorkflowError):
        services.terminate_agreement(agreement, "again")
    with pytest.raises(WorkflowError) as error:
        services.add_condition(agreement, condition())
    assert error.value.code == "terminated"
    expired = make_agreement(first=academic_year - 3, last=academic_year - 1)
    assert expired.effective_status() is AgreementStatus.expired
    with pytest.raises(WorkflowError) as error:
        services.terminate_agreement(expired, "late")
    assert error.value.code == "expired"


# --- Agreement filters --------------------------------------------------------------------------

@pytest.fixture
def agreements(db, make_institution, make_agreement, make_user, academic_year):
    it = make_institution(name="Bologna", country="IT")
    se = make_institution(name="Lund", country="SE")
    result = {
        "active": make_agreement(it, conditions=[condition(Direction.outgoing, "0613"),
                                                 condition(Direction.incoming, "0413")]),
        "expired": make_agreement(se, first=academic_year - 4, last=academic_year - 1,
                                  conditions=[condition(isced="0732")]),
        "ending": make_agreement(se, first=academic_year - 2, last=academic_year,
                                 conditions=[condition(Direction.incoming, "0613")]),
        "draft": make_agreement(it, first=academic_year + 1, last=academic_year + 3, status=AgreementStatus.draft),
        "terminated": make_agreement(it, status=AgreementStatus.terminated),
    }
    db.session.commit()
    return result, make_user(Role.coordinator), it, se


def found(user, **kw):
    return {a.id for a in db_scalars(services.search_agreements(user, services.AgreementFilters(**kw)))}


def db_scalars(query):
    from exchange.extensions import db
    return db.session.scalars(query).unique()


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, {"active", "expired", "ending", "draft", "terminated"}),
    ({"status": AgreementStatus.expired}, {"expired"}),
    ({"status": AgreementStatus.active}, {"active", "ending"}),
    ({"status": AgreementStatus.draft}, {"draft"}),
    ({"status": AgreementStatus.terminated}, {"terminated"}),
    ({"academic_year": "current"}, {"active", "ending", "terminated"}),
    ({"academic_year": "next"}, {"active", "draft", "terminated"}),
    ({"academic_year": "last"}, {"expired", "ending"}),
    ({"isced_code": "0613"}, {"active", "ending", "draft", "terminated"}),
    ({"isced_code": "0613", "direction": Direction.outgoing}, {"active", "draft", "terminated"}),
    ({"isced_code": "0413", "direction": Direction.incoming}, {"active"}),
    ({"direction": Direction.incoming}, {"active", "ending"}),
    ({"country": "se"}, {"expired", "ending"}),
    ({"ending_year": "current", "status": AgreementStatus.active}, {"ending"}),
    ({"status": AgreementStatus.expired, "country": "IT"}, set()),
])
def test_agreement_filters(agreements, academic_year, filters, expected):
    made, coordinator, it, se = agreements
    offsets = {"current": 0, "next": 1, "last": -1}
    for key in ("academic_year", "ending_year"):
        if key in filters:
            filters[key] = academic_year + offsets[filters[key]]
    assert found(coordinator, **filters) == {made[name].id for name in expected}


def test_partner_filter_and_partner_scope(agreements, make_user):
    made, coordinator, it, se = agreements
    assert found(coordinator, partner_id=se.id) == {made["expired"].id, made["ending"].id}
    partner_user = make_user(Role.partner, institution=se)
    assert found(partner_user) == {made["expired"].id, made["ending"].id}
    assert found(partner_user, partner_id=it.id) == set()
    assert found(make_user(Role.student)) == set()


def test_expired_filter_is_sql(agreements, academic_year):
    """The filter runs in SQL: the query text compares last_year, it does not load and check rows."""
    query = services.search_agreements(agreements[1], services.AgreementFilters(status=AgreementStatus.expired))
    sql = str(query.compile(compile_kwargs={"literal_binds": True}))
    assert "agreements.last_year <" in sql and "agreements.status = 'active'" in sql


def rows_of(user, filters=None, sort="partner"):
    query = services.agreement_rows_query(user, filters or services.AgreementFilters(), sort)
    return services.agreement_rows(db_scalars_rows(query))


def db_scalars_rows(query):
    from exchange.extensions import db
    return db.session.execute(query).all()


@pytest.mark.parametrize("filters", [{}, {"status": AgreementStatus.active}, {"isced_code": "0613"},
                                     {"direction": Direction.incoming}, {"country": "se"}])
def test_agreement_rows_show_what_the_agreements_hold(agreements, academic_year, filters):
    made, coordinator, it, se = agreements
    rows = rows_of(coordinator, services.AgreementFilters(**filters))
    objects = {a.id: a for a in db_scalars(services.search_agreements(coordinator, services.AgreementFilters(**filters)))}
    assert [row.id for row in rows] == list(objects)  # same agreements in the same order
    for row in rows:
        agreement = objects[row.id]
        codes = list(dict.fromkeys(c.isced_code for c in agreement.conditions))
        assert (row.partner_name, row.partner_country, row.first_year, row.last_year, row.reference) == (
            agreement.partner.name, agreement.partner.country, agreement.first_year, agreement.last_year,
            agreement.reference)
        assert (row.outgoing_places, row.incoming_places, row.isced_codes) == (
            agreement.outgoing_places, agreement.incoming_places, codes)
        assert row.effective_status(academic_year) is agreement.effective_status(academic_year)


def test_agreement_rows_sorted_and_scoped(agreements, make_user):
    made, coordinator, it, se = agreements
    by_last_year = [row.last_year for row in rows_of(coordinator, sort="-last_year")]
    assert by_last_year == sorted(by_last_year, reverse=True)
    partner_user = make_user(Role.partner, institution=se)
    assert {row.id for row in rows_of(partner_user)} == {made["expired"].id, made["ending"].id}
    assert rows_of(make_user(Role.student)) == []


@pytest.mark.parametrize(("page", "shown"), [(1, 2), (3, 1), (4, 0)])
def test_paginate_rows_counts_with_the_page(app, agreements, page, shown):
    coordinator = agreements[1]
    with app.test_request_context(f"/partners/agreements/?page={page}"):
        result = paginate_rows(services.agreement_rows_query(coordinator, services.AgreementFilters()),
                                        per_page=2)
    assert len(result.items) == shown
    assert (result.total, result.pages) == (5, 3)


def test_filter_choices_are_the_partners_and_countries(agreements, make_institution):
    made, coordinator, it, se = agreements
    choices = services.partner_filter_choices()
    assert choices.partners[1:] == [(str(value), label) for value, label in services.partner_choices()]
    assert choices.partners[0][0] == "" and choices.countries == services.partner_countries()
    assert services.partner_filter_choices() is choices
    make_institution(name="Aarhus", country="DK")
    again = services.partner_filter_choices()
    assert again is not choices and again.partners[1][1] == "Aarhus" and again.countries == ["DK", "IT", "SE"]


def test_dashboard_counts(agreements):
    counts = services.agreement_counts()
    assert counts == {"partners": 2, "active": 2, "expiring": 1, "drafts": 1}


def test_partner_summary(agreements, make_institution, make_agreement, academic_year):
    made, coordinator, it, se = agreements
    summary = services.partner_summary(it.id, academic_year)
    assert (summary.institution_id, summary.institution_name, summary.active_count) == (it.id, "Bologna", 1)
    assert [(row.id, row.outgoing_places, row.incoming_places) for row in summary.agreements] == [
        (made["active"].id, 2, 2)]
    newer = [make_agreement(it, first=academic_year, last=academic_year + n, conditions=[condition(places=n)])
             for n in range(3, 9)]
    summary = services.partner_summary(it.id, academic_year, limit=5)
    assert summary.active_count == 7  # all of them, though five are listed
    assert [row.id for row in summary.agreements] == [a.id for a in reversed(newer[1:])]
    assert [row.outgoing_places for row in summary.agreements] == [8, 7, 6, 5, 4]


def test_partner_summary_without_agreements_in_force(agreements, make_institution, academic_year):
    made, coordinator, it, se = agreements
    quiet = make_institution(name="Quiet")
    assert services.partner_summary(quiet.id, academic_year) == services.PartnerSummary(quiet.id, "Quiet", 0, [])
    assert services.partner_summary(se.id, academic_year + 1).active_count == 0  # the last one ended this year
    assert services.partner_summary(10**6, academic_year) is None


# --- Exchange balance ---------------------------------------------------------------------------

def test_exchange_balance(db, make_institution, make_agreement, academic_year):
    it = make_institution(name="Bologna")
    jp = make_institution(name="Waseda")
    make_agreement(it, first=academic_year, last=academic_year + 2, conditions=[
        condition(Direction.outgoing, "0413", places=4), condition(Direction.incoming, "0413", places=3),
        condition(Direction.outgoing, "0231", places=2)])
    make_agreement(it, first=academic_year + 1, last=academic_year + 1,
                   conditions=[condition(Direction.incoming, "0613", places=5)])
    make_agreement(it, first=academic_year - 3, last=academic_year - 1, conditions=[condition(places=9)])    # expired
    make_agreement(it, status=AgreementStatus.draft, conditions=[condition(places=7)])      # not active
    make_agreement(it, status=AgreementStatus.terminated, conditions=[condition(places=8)])  # not active
    make_agreement(jp, first=academic_year + 2, last=academic_year + 4,
                   conditions=[condition(Direction.incoming, places=2)])
    db.session.commit()

    years = [academic_year, academic_year + 1, academic_year + 2]
    rows = services.exchange_balance(years=years)
    assert [r.name for r in rows] == ["Bologna", "Waseda"]
    bologna, waseda = rows
    assert {y: (b.outgoing_places, b.incoming_places) for y, b in bologna.years.items()} == {
        academic_year: (6, 3), academic_year + 1: (6, 8), academic_year + 2: (6, 3)}
    assert bologna.years[academic_year + 1].difference == -2
    assert {y: (b.outgoing_places, b.incoming_places) for y, b in waseda.years.items()} == {
        academic_year: (0, 0), academic_year + 1: (0, 0), academic_year + 2: (0, 2)}

    only = services.exchange_balance(partner_id=jp.id, years=years)
    assert [r.partner_id for r in only] == [jp.id]
    assert services.exchange_balance(partner_id=jp.id, years=[academic_year]) == []
    assert services.exchange_balance(years=[academic_year - 1])[0].years[academic_year - 1].outgoing_places == 9
    totals = services.balance_totals(years)
    assert (totals[academic_year + 1].outgoing_places, totals[academic_year + 1].incoming_places) == (6, 8)
    assert (totals[academic_year + 2].outgoing_places, totals[academic_year + 2].incoming_places) == (6, 5)
    partner_rows = db.session.scalars(services.partners_with_places(years)).all()
    assert [p.name for p in partner_rows] == ["Bologna", "Waseda"]


def test_accumulate_balance_is_pure():
    rows = [(1, 2026, 2027, "outgoing", 3), (1, 2027, 2028, "incoming", 2), (2, 2020, 2021, "outgoing", 5)]
    result = services.accumulate_balance(rows, [2026, 2027])
    assert result[1][2027].outgoing_places == 3 and result[1][2027].incoming_places == 2
    assert result[1][2026].incoming_places == 0
    assert result[2][2026].outgoing_places == 0
