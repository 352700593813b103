"""Who may open every partner route: anonymous, student, partner (own / other institution), staff."""
import pytest

ROLES = ["anonymous", "student", "partner_own", "partner_other", "coordinator", "admin"]
LOGIN, DENIED, MISSING = "login", 403, 404

# method, url (filled from the world fixture), answers for partner_own / partner_other / staff
# (anonymous is always sent to the login page, students always get 403).
ROUTES = [
    ("GET", "/partners/institutions/", DENIED, DENIED, 200),
    ("GET", "/partners/institutions/new", DENIED, DENIED, 200),
    ("POST", "/partners/institutions/new", DENIED, DENIED, 422),
    ("GET", "/partners/institutions/import", DENIED, DENIED, 200),
    ("POST", "/partners/institutions/import", DENIED, DENIED, 422),
    ("GET", "/partners/institutions/import/sample.csv", DENIED, DENIED, 200),
    ("GET", "/partners/institutions/{own}", 200, MISSING, 200),
    ("GET", "/partners/institutions/{own}/edit", DENIED, DENIED, 200),
    ("POST", "/partners/institutions/{own}/edit", DENIED, DENIED, 422),
    ("GET", "/partners/institutions/{own}/contacts/new", DENIED, DENIED, 200),
    ("POST", "/partners/institutions/{own}/contacts/new", DENIED, DENIED, 422),
    ("GET", "/partners/institutions/{own}/contacts/{contact}/edit", DENIED, DENIED, 200),
    ("POST", "/partners/institutions/{own}/contacts/{contact}/edit", DENIED, DENIED, 422),
    ("POST", "/partners/institutions/{own}/contacts/{contact}/delete", DENIED, DENIED, 303),
    ("GET", "/partners/agreements/", 200, 200, 200),
    ("GET", "/partners/agreements/new", DENIED, DENIED, 200),
    ("POST", "/partners/agreements/new", DENIED, DENIED, 422),
    ("GET", "/partners/agreements/{agreement}", 200, MISSING, 200),
    ("GET", "/partners/agreements/{agreement}/edit", DENIED, DENIED, 200),
    ("POST", "/partners/agreements/{agreement}/edit", DENIED, DENIED, 422),
    ("GET", "/partners/agreements/{agreement}/terminate", DENIED, DENIED, 200),
    ("POST", "/partners/agreements/{agreement}/terminate", DENIED, DENIED, 422),
    ("GET", "/partners/agreements/{agreement}/conditions/new", DENIED, DENIED, 200),
    ("POST", "/partners/agreements/{agreement}/conditions/new", DENIED, DENIED, 422),
    ("GET", "/partners/agreements/{agreement}/conditions/{condition}/edit", DENIED, DENIED, 200),
    ("POST", "/partners/agreements/{agreement}/conditions/{condition}/edit", DENIED, DENIED, 422),
    ("POST", "/partners/agreements/{agreement}/conditions/{condition}/delete", DENIED, DENIED, 303),
    ("GET", "/partners/balance", DENIED, DENIED, 200),
]


def expected(role, own, other, staff):
    return {"anonymous": LOGIN, "student": DENIED, "partner_own": own, "partner_other": other,
            "coordinator": staff, "admin": staff}[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "own", "other", "staff"), ROUTES,
                         ids=[f"{m} {u}" for m, u, *_ in ROUTES])
def test_access_matrix(client, partners_world, login, role, method, url, own, other, staff):
    if role != "anonymous":
        login(partners_world.users[role])
    path = url.format(own=partners_world.own.id, contact=partners_world.own_contact.id,
                      agreement=partners_world.own_agreement.id,
                      condition=partners_world.own_agreement.conditions[0].id)
    response = client.open(path, method=method, data={"name": ""})  # an invalid form for the staff
    wanted = expected(role, own, other, staff)
    if wanted == LOGIN:
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == wanted, f"{role} {method} {path}"


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/partners/institutions/{other}"),
    ("GET", "/partners/institutions/999999"),
    ("GET", "/partners/agreements/{other_agreement}"),
    ("GET", "/partners/agreements/999999"),
])
def test_partner_cannot_see_other_institutions(client, partners_world, login, method, url):
    login(partners_world.users["partner_own"])
    path = url.format(other=partners_world.other.id, other_agreement=partners_world.other_agreement.id)
    assert client.open(path, method=method).status_code == 404


@pytest.mark.parametrize("url", [
    "/partners/institutions/999999", "/partners/institutions/999999/edit",
    "/partners/institutions/{own}/contacts/{other_contact}/edit",   # contact of another institution
    "/partners/agreements/999999", "/partners/agreements/{agreement}/conditions/999999/edit",
    "/partners/agreements/{agreement}/conditions/{other_condition}/edit",
])
def test_staff_missing_records_are_404(client, partners_world, login, url):
    login(partners_world.users["coordinator"])
    path = url.format(own=partners_world.own.id, other_contact=partners_world.other_contact.id,
                      agreement=partners_world.own_agreement.id,
                      other_condition=partners_world.other_agreement.conditions[0].id)
    assert client.get(path).status_code == 404


def test_partner_view_is_read_only(client, partners_world, login):
    partners_world.own.notes = "Internal: tricky partner"
    partners_world.own_agreement.notes = "Internal agreement note"
    login(partners_world.users["partner_own"])
    page = client.get(f"/partners/institutions/{partners_world.own.id}").get_data(as_text=True)
    assert partners_world.own.name in page and "Giulia Rossi" in page
    assert "Edit institution" not in page and "Add a contact" not in page and "New agreement" not in page
    assert "Internal: tricky partner" not in page
    page = client.get(f"/partners/agreements/{partners_world.own_agreement.id}").get_data(as_text=True)
    assert "Edit agreement" not in page and "Terminate" not in page and "Add a condition" not in page
    assert "Internal agreement note" not in page
    listing = client.get("/partners/agreements/").get_data(as_text=True)
    assert f"/partners/agreements/{partners_world.own_agreement.id}\"" in listing
    assert f"/partners/agreements/{partners_world.other_agreement.id}\"" not in listing
    assert partners_world.other.name not in listing


def test_partner_ignores_partner_filter(client, partners_world, login):
    login(partners_world.users["partner_own"])
    listing = client.get(f"/partners/agreements/?partner_id={partners_world.other.id}").get_data(as_text=True)
    assert f"/partners/agreements/{partners_world.other_agreement.id}\"" not in listing


def test_navigation(client, partners_world, login):
    login(partners_world.users["coordinator"])
    page = client.get("/partners/institutions/").get_data(as_text=True)
    assert 'href="/partners/institutions/"' in page and 'href="/partners/agreements/"' in page
    login(partners_world.users["partner_own"])
    page = client.get("/partners/agreements/").get_data(as_text=True)
    assert "Our agreements" in page and 'href="/partners/institutions/"' not in page
