"""The e-mailed links (password reset, invitation): only the site can make them, for one account, once."""
import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from exchange.auth import services
from exchange.auth.models import Role
from tests.fixtures.mail import text_of

GOOD_PASSWORD = "Bright-Lantern-42"


def invitation_link(outbox):
    return re.search(r"http://exchange\.test(/auth/invitation/\S+)", text_of(outbox.last())).group(1)


@pytest.fixture
def invited_admin(db, make_user, outbox):
    """An administrator invited by another one, who has not chosen a password yet."""
    inviter = make_user(Role.admin)
    user = services.invite_user("new.admin@example.org", "Nuria Admin", Role.admin, None, invited_by=inviter)
    db.session.commit()
    assert not user.has_password
    return user


def test_knowing_the_secret_key_is_not_enough_to_forge_an_invitation(app, client, db, invited_admin):
    """A link for an account without a password once carried the fingerprint "none": with the site's key (a
    leaked or default one) anyone could make one and choose the administrator's password."""
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=services.INVITE_SALT)
    for fingerprint in ("none", "", None, "0" * 32):
        forged = signer.dumps({"uid": invited_admin.id, "fp": fingerprint})
        assert client.get(f"/auth/invitation/{forged}").status_code == 400
        response = client.post(f"/auth/invitation/{forged}",
                               data={"password": "Attacker-Pass-99", "confirm": "Attacker-Pass-99"})
        assert response.status_code == 400
    db.session.refresh(invited_admin)
    assert not invited_admin.has_password


def test_a_reset_link_is_bound_to_the_account_and_ends_with_a_password_change(app, client, db, make_user):
    user = make_user(email="carla@example.org", password=GOOD_PASSWORD)
    other = make_user(email="other@example.org", password=GOOD_PASSWORD)
    token = services.make_token(user, services.RESET_SALT)
    db.session.commit()
    # The same fingerprint under another account's id does not open that account.
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=services.RESET_SALT)
    swapped = signer.dumps({"uid": other.id, "fp": signer.loads(token)["fp"]})
    assert client.get(f"/auth/reset/{swapped}").status_code == 400
    # An invitation link is not a reset link.
    assert client.get(f"/auth/invitation/{token}").status_code == 400
    assert client.get(f"/auth/reset/{token}").status_code == 200
    services.change_password(user, "New-Harbour-77")  # from the account page, say
    db.session.commit()
    assert client.get(f"/auth/reset/{token}").status_code == 400


def test_the_invitation_link_works_once_and_ends_what_came_before(app, client, db, invited_admin, outbox):
    link = invitation_link(outbox)
    invited_admin.calendar_token = "feed-made-before-the-password-was-chosen"
    db.session.commit()
    assert client.get("/events/feed/feed-made-before-the-password-was-chosen.ics").status_code == 200
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "Porta-Saragozza-8", "confirm": "Porta-Saragozza-8"})
    assert response.status_code == 302
    other = app.test_client()
    assert other.get(link).status_code == 400
    assert other.get("/events/feed/feed-made-before-the-password-was-chosen.ics").status_code == 404


@pytest.mark.parametrize("path", ["/auth/reset/{token}", "/auth/invitation/{token}"])
def test_the_link_pages_are_rate_limited_per_address(app, client, db, monkeypatch, path):
    from exchange.extensions import limiter
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", "3 per minute")
    limiter.reset()
    try:
        statuses = [client.get(path.format(token=f"guess-{n}")).status_code for n in range(3)]
        assert statuses == [400, 400, 400]
        assert client.get(path.format(token="guess-3")).status_code == 429
        assert client.post(path.format(token="guess-4"), data={}).status_code == 429
        elsewhere = client.get(path.format(token="guess-5"), environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert elsewhere.status_code == 400  # another address has its own count
    finally:
        limiter.reset()
