"""Pages and forms: institutions, contacts, agreements, conditions, the balance and the home page panels."""
import pytest
from flask import render_template
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.partners.models import (Agreement, AgreementStatus, CooperationCondition, Direction, PartnerContact,
                                      PartnerInstitution)
from tests.fixtures.partners import condition


def institution_form(**kw):
    data = {"name": "Università di Padova", "country": "IT", "city": "Padova", "website": "https://www.unipd.it",
            "schac_code": "unipd.it", "erasmus_code": "I  PADOVA01", "notes": ""}
    data.update(kw)
    return data


def condition_form(prefix="", **kw):
    data = {"direction": "outgoing", "mobility_type": "study", "isced_code": "0613", "eqf_levels": ["6", "7"],
            "places_per_year": "3", "months_per_place": "5",
            "languages-0-language": "en", "languages-0-cefr_level": "B2",
            "languages-1-language": "", "languages-1-cefr_level": "",
            "languages-2-language": "", "languages-2-cefr_level": ""}
    data.update(kw)
    return {prefix + key: value for key, value in data.items()}


def agreement_form(partner, year, **kw):
    data = {"partner_id": str(partner), "first_year": str(year), "last_year": str(year + 2),
            "status": "active", "reference": "IIA-2026-PD", "notes": ""}
    data.update(condition_form("condition-"))
    data.update(kw)
    return data


def count(db, model):
    return db.session.scalar(select(func.count(model.id)))


# --- Institutions -------------------------------------------------------------------------------

def test_create_institution(client, db, login):
    login(Role.coordinator)
    response = client.post("/partners/institutions/new", data=institution_form(schac_code="UniPD.it",
                                                                                erasmus_code="i padova01"))
    assert response.status_code == 302
    created = db.session.scalar(select(PartnerInstitution))
    assert (created.schac_code, created.erasmus_code) == ("unipd.it", "I  PADOVA01")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Università di Padova" in page and "I  PADOVA01" in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": ""}, "Enter the institution"),
    ({"country": "XX"}, "Choose a country from the list"),
    ({"country": ""}, "Choose a country from the list"),
    ({"schac_code": "not a domain"}, "shaped like an internet domain"),
    ({"schac_code": ""}, "Enter the SCHAC code."),
    ({"website": "javascript:alert(1)"}, "starting with https://"),
    ({"website": "unipd.it"}, "starting with https://"),
    ({"erasmus_code": "PADOVA"}, "Erasmus code like"),
    ({"notes": "x" * 10_000}, "Use at most 4000 characters."),
    ({"name": "x" * 201}, "Use at most 200 characters."),
    ({"name": "Padova\x00"}, "control characters"),
])
def test_create_institution_invalid(client, db, login, changes, message):
    login(Role.coordinator)
    data = institution_form(**changes)
    response = client.post("/partners/institutions/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="Padova"' in page  # what was typed survives (the city)
    assert count(db, PartnerInstitution) == 0


def test_duplicate_schac_case_insensitive_in_form(client, db, login, make_institution):
    make_institution(schac_code="unipd.it")
    login(Role.coordinator)
    response = client.post("/partners/institutions/new", data=institution_form(schac_code="UNIPD.IT"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Another institution already has this SCHAC code." in page
    assert 'value="unipd.it"' in page and 'value="Università di Padova"' in page
    assert count(db, PartnerInstitution) == 1


def test_script_is_escaped(client, db, login):
    login(Role.coordinator)
    script = "<script>alert('x')</script>"
    response = client.post("/partners/institutions/new", data=institution_form(name=f"Evil {script}",
                                                                                notes=script, city=script))
    assert response.status_code == 302
    for url in (response.headers["Location"], "/partners/institutions/"):
        page = client.get(url).get_data(as_text=True)
        assert script not in page and "&lt;script&gt;" in page


def test_edit_institution(client, db, login, make_institution):
    partner = make_institution(name="Old name", schac_code="old.it")
    login(Role.coordinator)
    form = client.get(f"/partners/institutions/{partner.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in form and 'value="old.it"' in form
    response = client.post(f"/partners/institutions/{partner.id}/edit",
                           data=institution_form(name="New name", schac_code="OLD.it"))
    assert response.status_code == 302
    db.session.refresh(partner)
    assert (partner.name, partner.schac_code) == ("New name", "old.it")


def test_list_search_filter_sort_and_paginate(client, db, login, make_institution):
    for i in range(30):
        make_institution(name=f"Uni {i:02d}", country="FR" if i % 2 else "IT", city="Lyon" if i == 7 else "X")
    login(Role.coordinator)
    page = client.get("/partners/institutions/").get_data(as_text=True)
    assert "Uni 00" in page and "Uni 24" in page and "Uni 25" not in page and "30 results" in page
    page = client.get("/partners/institutions/?page=2").get_data(as_text=True)
    assert "Uni 25" in page and "Uni 00" not in page
    page = client.get("/partners/institutions/?q=lyon").get_data(as_text=True)
    assert "Uni 07" in page and "Uni 08" not in page
    page = client.get("/partners/institutions/?country=FR&sort=-name").get_data(as_text=True)
    assert page.index("Uni 29") < page.index("Uni 01") and "Uni 02" not in page
    assert client.get("/partners/institutions/?country=<x>&sort=%27;drop&page=abc").status_code == 200


# --- Contacts -----------------------------------------------------------------------------------

def test_contacts_add_edit_delete(client, db, login, make_institution):
    partner = make_institution()
    login(Role.coordinator)
    base = f"/partners/institutions/{partner.id}/contacts"
    response = client.post(f"{base}/new", data={"name": "Giulia Rossi", "role": "Coordinator",
                                                "email": "giulia@example.org", "phone": "+39 051 123456"})
    assert response.status_code == 302
    contact = db.session.scalar(select(PartnerContact))
    bad = client.post(f"{base}/{contact.id}/edit", data={"name": "Giulia", "email": "not-an-email",
                                                          "phone": "call me"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "valid email address" in page and "phone number" in page and 'value="not-an-email"' in page
    assert client.post(f"{base}/{contact.id}/edit", data={"name": "Giulia R.", "email": "",
                                                           "phone": ""}).status_code == 302
    db.session.refresh(contact)
    assert (contact.name, contact.email, contact.phone) == ("Giulia R.", None, None)
    assert "Giulia R." in client.get(f"/partners/institutions/{partner.id}").get_data(as_text=True)
    assert client.post(f"{base}/{contact.id}/delete").status_code == 303
    assert count(db, PartnerContact) == 0


def test_contact_requires_name(client, db, login, make_institution):
    partner = make_institution()
    login(Role.coordinator)
    response = client.post(f"/partners/institutions/{partner.id}/contacts/new", data={"name": "", "role": "Dean"})
    assert response.status_code == 422 and 'value="Dean"' in response.get_data(as_text=True)


# --- Agreements ---------------------------------------------------------------------------------

def test_create_agreement(client, db, login, make_institution, academic_year):
    partner = make_institution()
    login(Role.coordinator)
    form = client.get(f"/partners/agreements/new?partner_id={partner.id}").get_data(as_text=True)
    assert f'<option selected value="{partner.id}">' in form or f'value="{partner.id}" selected' in form
    for odd in ("²", "٣", "99999999999999999999", "x"):  # "²" passed str.isdigit(), then int() failed: a 500
        response = client.get(f"/partners/agreements/new?partner_id={odd}")
        assert response.status_code == 200 and f'selected value="{partner.id}"' not in response.get_data(as_text=True)
    response = client.post("/partners/agreements/new", data=agreement_form(
        partner.id, academic_year,
        **{"condition-languages-1-language": "it", "condition-languages-1-cefr_level": "B1"}))
    assert response.status_code == 302, response.get_data(as_text=True)
    agreement = db.session.scalar(select(Agreement))
    assert (agreement.first_year, agreement.last_year, agreement.status) == (academic_year, academic_year + 2,
                                                                             AgreementStatus.active)
    cond = agreement.conditions[0]
    assert (cond.isced_code, cond.eqf_levels, cond.places_per_year) == ("0613", "6,7", 3)
    assert [(r.language, r.cefr_level) for r in cond.languages] == [("en", "B2"), ("it", "B1")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (f"{academic_year}/{(academic_year + 1) % 100:02d} to "
            f"{academic_year + 2}/{(academic_year + 3) % 100:02d}") in page
    assert "0613 – Software and applications development and analysis" in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"first_year": "+3", "last_year": "+1"}, "The last academic year cannot be before the first."),
    ({"first_year": "1990"}, "Choose a value from the list."),
    ({"first_year": "-5", "last_year": "+6"}, "at most 10 academic years"),
    ({"partner_id": "999999"}, "Choose a value from the list."),
    ({"partner_id": ""}, "This field is required."),
    ({"status": "terminated"}, "Choose a value from the list."),
    ({"condition-places_per_year": "-1"}, "Enter a number of places from 0 to 100."),
    ({"condition-places_per_year": "1000"}, "Enter a number of places from 0 to 100."),
    ({"condition-places_per_year": ""}, "This field is required."),
    ({"condition-months_per_place": "-5"}, "Enter a number of months from 0 to 24."),
    ({"condition-isced_code": "1234"}, "Choose a subject area from the ISCED-F 2013 list."),
    ({"condition-isced_code": ""}, "Choose a subject area from the ISCED-F 2013 list."),
    ({"condition-eqf_levels": []}, "Choose at least one EQF level."),
    ({"condition-eqf_levels": ["4"]}, "Choose EQF levels from 5 to 8."),
    ({"condition-eqf_levels": ["x"]}, "Choose EQF levels from 5 to 8."),
    ({"condition-direction": "sideways"}, "Choose a value from the list."),
    ({"condition-languages-0-language": "xx"}, "Choose a language from the list"),
    ({"condition-languages-0-cefr_level": "B3"}, "Choose a value from the list."),
    ({"condition-languages-0-cefr_level": ""}, "Choose the CEFR level required for this language."),
    ({"condition-languages-0-language": ""}, "Choose the language this level is for."),
    ({"condition-languages-1-language": "EN", "condition-languages-1-cefr_level": "C1"},
     "Each language can be required only once."),
    ({"notes": "n" * 10_000}, "Use at most 4000 characters."),
])
def test_create_agreement_invalid(client, db, login, make_institution, academic_year, changes, message):
    partner = make_institution()
    login(Role.coordinator)
    for key in ("first_year", "last_year"):
        if changes.get(key, "").startswith(("+", "-")):
            changes[key] = str(academic_year + int(changes[key]))
    response = client.post("/partners/agreements/new", data=agreement_form(partner.id, academic_year, **changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="IIA-2026-PD"' in page  # typed values kept
    assert count(db, Agreement) == 0 and count(db, CooperationCondition) == 0


def test_agreement_text_escaped(client, db, login, make_institution, academic_year):
    partner = make_institution(name="<b>Bold</b> University")
    login(Role.coordinator)
    response = client.post("/partners/agreements/new", data=agreement_form(
        partner.id, academic_year, reference="<script>x</script>", notes="<script>alert(1)</script>"))
    assert response.status_code == 302
    for url in (response.headers["Location"], "/partners/agreements/"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page.split("</header>")[1] and "<b>Bold</b>" not in page
        assert "&lt;script&gt;" in page


def test_edit_agreement_and_terminate(client, db, login, make_agreement, academic_year):
    agreement = make_agreement(status=AgreementStatus.draft, reference="OLD")
    login(Role.coordinator)
    url = f"/partners/agreements/{agreement.id}"
    form = client.get(f"{url}/edit").get_data(as_text=True)
    assert 'value="OLD"' in form
    response = client.post(f"{url}/edit", data={"partner_id": agreement.partner_id, "first_year": academic_year,
                                                 "last_year": academic_year + 4, "status": "active",
                                                 "reference": "NEW"})
    assert response.status_code == 302
    db.session.refresh(agreement)
    assert (agreement.status, agreement.last_year, agreement.reference) == (AgreementStatus.active, academic_year + 4,
                                                                            "NEW")
    # An active agreement cannot go back to draft: the choice is not offered.
    back = client.post(f"{url}/edit", data={"partner_id": agreement.partner_id, "first_year": academic_year,
                                             "last_year": academic_year + 4, "status": "draft", "reference": "NEW"})
    assert back.status_code == 422
    # Termination needs a reason and the confirmation.
    assert client.get(f"{url}/terminate").status_code == 200
    missing = client.post(f"{url}/terminate", data={"reason": "  "})
    assert missing.status_code == 422
    page = missing.get_data(as_text=True)
    assert "Give the reason" in page and "Tick the box" in page
    unconfirmed = client.post(f"{url}/terminate", data={"reason": "Programme closed"})
    assert unconfirmed.status_code == 422 and "Programme closed" in unconfirmed.get_data(as_text=True)
    assert client.post(f"{url}/terminate", data={"reason": "Programme closed", "confirm": "y"}).status_code == 302
    db.session.refresh(agreement)
    assert agreement.status is AgreementStatus.terminated and agreement.termination_reason == "Programme closed"
    page = client.get(url).get_data(as_text=True)
    assert "Terminated" in page and "Programme closed" in page and "Edit agreement" not in page
    # Terminated agreements are kept as they were.
    assert client.get(f"{url}/edit").status_code == 302
    assert client.get(f"{url}/terminate").status_code == 302
    assert client.post(f"{url}/conditions/new", data=condition_form()).status_code == 302
    assert count(db, CooperationCondition) == 1


def test_conditions_add_edit_delete(client, db, login, make_agreement):
    agreement = make_agreement()
    login(Role.coordinator)
    url = f"/partners/agreements/{agreement.id}/conditions"
    response = client.post(f"{url}/new", data=condition_form(direction="incoming", isced_code="0413",
                                                              mobility_type="traineeship"))
    assert response.status_code == 302
    added = db.session.scalar(select(CooperationCondition).where(CooperationCondition.isced_code == "0413"))
    assert added.direction is Direction.incoming
    form = client.get(f"{url}/{added.id}/edit").get_data(as_text=True)
    assert '<option selected value="0413">' in form or 'value="0413" selected' in form
    assert 'value="en" selected' in form or '<option selected value="en">' in form
    bad = client.post(f"{url}/{added.id}/edit", data=condition_form(places_per_year="-2", isced_code="0413"))
    assert bad.status_code == 422 and 'value="-2"' in bad.get_data(as_text=True)
    assert client.post(f"{url}/{added.id}/edit", data=condition_form(
        places_per_year="6", isced_code="0413", **{"languages-0-language": ""
                                                   , "languages-0-cefr_level": ""})).status_code == 302
    db.session.refresh(added)
    assert added.places_per_year == 6 and added.languages == []
    assert client.post(f"{url}/{added.id}/delete").status_code == 303
    last = agreement.conditions[0]
    response = client.post(f"{url}/{last.id}/delete", follow_redirects=True)
    assert "at least one cooperation condition" in response.get_data(as_text=True)
    assert count(db, CooperationCondition) == 1


def test_agreement_list_filters(client, db, login, make_institution, make_agreement, academic_year):
    it, se = make_institution(name="Bologna", country="IT"), make_institution(name="Lund", country="SE")
    active = make_agreement(it, reference="A-ACTIVE", conditions=[condition(isced="0613")])
    make_agreement(se, first=academic_year - 4, last=academic_year - 1, reference="A-EXPIRED",
                   conditions=[condition(isced="0732")])
    make_agreement(it, first=academic_year + 1, last=academic_year + 2, status=AgreementStatus.draft,
                   reference="A-DRAFT")
    login(Role.coordinator)

    def refs(query):
        page = client.get("/partners/agreements/" + query).get_data(as_text=True)
        return {ref for ref in ("A-ACTIVE", "A-EXPIRED", "A-DRAFT") if ref in page}
    assert refs("") == {"A-ACTIVE", "A-EXPIRED", "A-DRAFT"}
    assert refs("?status=expired") == {"A-EXPIRED"}
    assert refs("?status=active") == {"A-ACTIVE"}
    assert refs(f"?year={academic_year}") == {"A-ACTIVE"}
    assert refs(f"?year={academic_year + 1}") == {"A-ACTIVE", "A-DRAFT"}
    assert refs(f"?year={academic_year - 2}") == {"A-EXPIRED"}
    assert refs("?country=SE") == {"A-EXPIRED"}
    assert refs(f"?partner_id={it.id}") == {"A-ACTIVE", "A-DRAFT"}
    assert refs("?isced=0732") == {"A-EXPIRED"}
    assert refs("?direction=incoming") == set()
    assert refs(f"?ending={academic_year + 2}") == {"A-ACTIVE", "A-DRAFT"}
    assert refs("?sort=-first_year&status=bogus&year=abc") == {"A-ACTIVE", "A-EXPIRED", "A-DRAFT"}
    page = client.get(f"/partners/agreements/{active.id}").get_data(as_text=True)
    assert "Active" in page


def test_agreement_list_paginates(client, db, login, make_institution, make_agreement):
    partner = make_institution(name="Many")
    for i in range(27):
        make_agreement(partner, reference=f"REF-{i:02d}")
    login(Role.coordinator)
    first = client.get("/partners/agreements/").get_data(as_text=True)
    second = client.get("/partners/agreements/?page=2").get_data(as_text=True)
    assert first.count("REF-") == 25 and second.count("REF-") == 2 and "27 results" in first


def test_partner_filter_follows_new_and_renamed_partners(client, db, login, make_institution, make_agreement):
    """The filter's partners are kept between requests, but never outlive a change to the partners."""
    from exchange.partners import services
    bologna = make_institution(name="Bologna")
    make_agreement(bologna)
    db.session.commit()
    login(Role.coordinator)

    def partner_options(query=""):
        page = client.get("/partners/agreements/" + query).get_data(as_text=True)
        select_html = page[page.index('name="partner_id"'):]
        return select_html[:select_html.index("</select>")]
    assert ">Bologna</option>" in partner_options()
    assert partner_options() == partner_options()
    assert services.partner_filter_choices() is services.partner_filter_choices()  # kept while unchanged
    make_institution(name="Lund")
    db.session.commit()
    assert ">Lund</option>" in partner_options()
    services.update_institution(bologna, services.InstitutionData(name="Alma Mater Bologna", country="IT",
                                                                  schac_code=bologna.schac_code))
    db.session.commit()
    options = partner_options()
    assert ">Alma Mater Bologna</option>" in options and ">Bologna</option>" not in options
    assert f'<option selected value="{bologna.id}">Alma Mater Bologna</option>' in partner_options(
        f"?partner_id={bologna.id}")
    assert '<option selected value="">' in partner_options()


def test_memo_select_gives_the_fast_select_html(app):
    from wtforms import Form

    from exchange.core.forms import FastSelect, LooseSelectField
    from exchange.core.forms import MemoSelect
    choices = [("", "All"), ("1", "Bologna & Co"), ("2", "Lund")]

    class Filters(Form):
        memo = LooseSelectField("Partner", widget=MemoSelect())
        fast = LooseSelectField("Partner", widget=FastSelect())
    with app.test_request_context():
        for data in ({}, {"memo": "2", "fast": "2"}, {}, {"memo": "1", "fast": "1"}):
            form = Filters(data=data)
            form.memo.choices = form.fast.choices = choices
            memo = form.memo(**{"class": "wide"})
            assert str(memo) == str(form.fast(**{"class": "wide"})).replace('"fast"', '"memo"')
            assert memo is form.memo(**{"class": "wide"})  # the second time from the memo
        form.memo.choices = [("", "All"), ("1", "Renamed")]  # a new list is rendered anew
        assert "Renamed" in form.memo()


# --- Balance and panels -------------------------------------------------------------------------

def test_balance_page(client, db, login, make_institution, make_agreement, academic_year):
    partner = make_institution(name="Bologna")
    make_agreement(partner, conditions=[condition(places=4), condition(Direction.incoming, places=1)])
    login(Role.coordinator)
    page = client.get("/partners/balance").get_data(as_text=True)
    assert "Bologna" in page and '<td class="num">4</td>' in page and "+3" in page
    page = client.get(f"/partners/balance?start={academic_year + 5}").get_data(as_text=True)
    assert "No active agreement offers places" in page
    detail = client.get(f"/partners/institutions/{partner.id}").get_data(as_text=True)
    assert "Exchange balance" in detail and "+3" in detail


def test_staff_panel(app, db, make_user, make_institution, make_agreement, academic_year):
    from exchange.partners.views import partners_panel
    make_agreement(make_institution(), first=academic_year - 1, last=academic_year)
    make_agreement(make_institution())
    coordinator = make_user(Role.coordinator)
    panel = partners_panel(coordinator)
    assert panel.context["counts"] == {"partners": 2, "active": 2, "expiring": 1, "drafts": 0}
    with app.test_request_context():
        html = render_template(panel.template, ctx=panel.context)
    assert "agreements in force" in html and f"ending={academic_year}" in html and "Exchange balance" in html
    assert partners_panel(make_user(Role.student)) is None


def test_partner_panel(app, db, make_user, make_institution, make_agreement):
    own = make_institution(name="Università di Bologna")
    make_agreement(own, conditions=[condition(places=3), condition(Direction.incoming, places=2)])
    make_agreement(make_institution())
    user = make_user(Role.partner, institution=own)
    panel = partners_panel_for(user)
    summary = panel.context["summary"]
    assert (summary.institution_id, summary.active_count, len(summary.agreements)) == (own.id, 1, 1)
    with app.test_request_context():
        html = render_template(panel.template, ctx=panel.context)
    assert "Università di Bologna" in html and "3 places for our students, 2 for yours" in html


def partners_panel_for(user):
    from exchange.partners.views import partners_panel
    return partners_panel(user)


# --- CSRF ---------------------------------------------------------------------------------------

def test_csrf_is_required(app, client, db, login, make_institution):
    partner = make_institution()
    login(Role.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/partners/institutions/new", data=institution_form())
        assert response.status_code == 400
        response = client.post(f"/partners/institutions/{partner.id}/contacts/1/delete")
        assert response.status_code == 400
        form = client.get("/partners/institutions/new").get_data(as_text=True)
        assert 'name="csrf_token"' in form
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert count(db, PartnerInstitution) == 1


# --- No query per row ---------------------------------------------------------------------------

def queries_for(client, db, url):
    from sqlalchemy import event
    statements = []

    def count_statement(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    return len(statements)


@pytest.mark.parametrize("url", ["/partners/institutions/", "/partners/agreements/", "/partners/balance",
                                 "/partners/institutions/{partner}", "/partners/agreements/{agreement}"])
def test_pages_run_a_fixed_number_of_queries(client, db, login, make_institution, make_agreement, url):
    login(Role.coordinator)
    partner = make_institution()
    agreement = make_agreement(partner, conditions=[condition(languages=[("en", "B2")])])
    db.session.commit()
    path = url.format(partner=partner.id, agreement=agreement.id)
    few = queries_for(client, db, path)
    for _ in range(5):
        other = make_institution()
        make_agreement(other, conditions=[condition(languages=[("fr", "B1"), ("de", "B2")]),
                                          condition(Direction.incoming)])
        make_agreement(partner, conditions=[condition(languages=[("it", "B1")]), condition(Direction.incoming)])
    db.session.commit()
    assert queries_for(client, db, path) == few
