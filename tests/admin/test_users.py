import re

from sqlalchemy import select

from exchange.auth.models import Role, User
from exchange.core.audit import AuditEvent
from tests.fixtures.mail import text_of


def test_admin_lists_and_searches_users(client, login, make_user):
    login(Role.admin)
    make_user(Role.coordinator, name="Zoe Coordinator", email="zoe@example.org")
    make_user(Role.student, name="Sam Student", email="sam@example.org")
    html = client.get("/admin/users?q=zoe").get_data(as_text=True)
    assert "Zoe Coordinator" in html and "Sam Student" not in html
    html = client.get("/admin/users?role=student").get_data(as_text=True)
    assert "Sam Student" in html and "Zoe Coordinator" not in html


def test_user_search_finds_percent_and_underscore_as_typed(client, login, make_user):
    """% and _ are LIKE's wildcards: "50%" found every name with "50", "a_b" any "a?b"."""
    from urllib.parse import quote
    login(Role.admin)
    names = ["Grade 50% Person", "Grade 500 Person", "Ana_Bel Person", "Anaxbel Person", "Slash a/b Person",
             "Back a\\b Person"]
    for name in names:
        make_user(Role.student, name=name)
    make_user(Role.student, name="Mail Person", email="x_y@example.org")
    make_user(Role.student, name="Other Mail Person", email="xzy@example.org")
    for typed, found in [("50%", {"Grade 50% Person"}), ("a_b", {"Ana_Bel Person"}), ("a/b", {"Slash a/b Person"}),
                         ("a\\b", {"Back a\\b Person"}), ("x_y@", {"Mail Person"}), ("%", {"Grade 50% Person"}),
                         ("_", {"Ana_Bel Person", "Mail Person"})]:
        html = client.get("/admin/users?q=" + quote(typed)).get_data(as_text=True)
        listed = {name for name in names + ["Mail Person", "Other Mail Person"] if f">{name}<" in html}
        assert listed == found, typed


def test_users_list_is_paginated(client, login, make_user):
    login(Role.admin)
    for n in range(30):
        make_user(Role.student, name=f"Student {n:02d}")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "31 results" in first
    assert 'rel="next"' in first


def test_invite_a_partner_user_end_to_end(app, client, login, make_institution, db, outbox):
    admin = login(Role.admin)
    bologna = make_institution(name="Università di Bologna")
    db.session.commit()
    response = client.post("/admin/users/invite", data={
        "name": "Luca Verdi", "email": "Luca@UniBo.it", "role": "partner", "institution_id": str(bologna.id)})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "luca@unibo.it"))
    assert user.role is Role.partner and user.institution_id == bologna.id and not user.has_password
    body = text_of(outbox.last())
    link = re.search(r"http://exchange\.test(/auth/invitation/\S+)", body).group(1)
    invited = app.test_client()
    assert invited.get(link).status_code == 200
    response = invited.post(link, data={"password": "Porta-Saragozza-8", "confirm": "Porta-Saragozza-8"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("Porta-Saragozza-8")
    assert invited.post(link, data={"password": "Another-Pass-99", "confirm": "Another-Pass-99"}).status_code == 400
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_invited")).user_id == admin.id


def test_invite_validation(client, login, make_user):
    login(Role.admin)
    make_user(email="taken@example.org")
    cases = [
        ({"name": "", "email": "a@example.org", "role": "coordinator"}, "This field is required"),
        ({"name": "A", "email": "nope", "role": "coordinator"}, "valid email address"),
        ({"name": "A", "email": "TAKEN@example.org", "role": "coordinator"}, "already exists"),
        ({"name": "A", "email": "b@example.org", "role": "partner"}, "Choose the partner institution"),
        ({"name": "A", "email": "c@example.org", "role": "student"}, "Not a valid choice"),
        ({"name": "A", "email": "d@example.org", "role": "partner", "institution_id": "999999"}, "Choose a value"),
        ({"name": "x" * 10_000, "email": "e@example.org", "role": "coordinator"}, "at most 120"),
    ]
    for data, message in cases:
        response = client.post("/admin/users/invite", data=data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data


def test_change_role_ends_the_users_sessions_and_is_audited(app, client, login, make_user, db):
    login(Role.admin)
    target = make_user(Role.student, email="target@example.org")
    db.session.commit()
    other = app.test_client()
    with other.session_transaction() as s:
        s["_user_id"] = target.session_token
    assert other.get("/auth/account").status_code == 200
    response = client.post(f"/admin/users/{target.id}", data={"role": "coordinator"})
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.role is Role.coordinator
    assert other.get("/auth/account").status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role_changed"))
    assert "student -> coordinator" in event.detail


def test_admin_cannot_demote_or_deactivate_self(client, login, db):
    admin = login(Role.admin)
    response = client.post(f"/admin/users/{admin.id}", data={"role": "student"})
    assert response.status_code == 422
    assert "own administrator role" in response.get_data(as_text=True)
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    db.session.refresh(admin)
    assert admin.is_active


def test_deactivate_signs_the_user_out_everywhere(app, client, login, make_user, db):
    login(Role.admin)
    target = make_user(Role.coordinator)
    db.session.commit()
    other = app.test_client()
    with other.session_transaction() as s:
        s["_user_id"] = target.session_token
    assert other.get("/auth/account").status_code == 200
    old_cookie = other.get_cookie("session").value
    client.post(f"/admin/users/{target.id}/active", data={"active": "0"})
    db.session.refresh(target)
    assert not target.is_active
    assert other.get("/auth/account").status_code == 302
    # Ended, not merely refused while inactive: reactivating the account does not bring the old session back.
    client.post(f"/admin/users/{target.id}/active", data={"active": "1"})
    db.session.refresh(target)
    assert target.is_active
    other.set_cookie("session", old_cookie)
    assert other.get("/auth/account").status_code == 302


def test_unknown_user_is_404(client, login):
    login(Role.admin)
    assert client.get("/admin/users/999999").status_code == 404


def test_audit_log_lists_events_without_secrets(client, login, make_user, auth, db):
    make_user(email="carla@example.org", password="Bright-Lantern-42")
    db.session.commit()
    auth.login_with_password("carla@example.org", "Wrong-Password-11")
    login(Role.admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "login_failed" in html and "carla@example.org" in html
    assert "Wrong-Password-11" not in html
