"""Tablets at a market share one 4G address: after many failed sign-ins from it, a right
password for another account from that address still signs in; the accounts guessed at stay
blocked."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from app.core.extensions import db as _db
from app.members.auth import MAX_FAILED_LOGINS
from tests.support.factories import PASSWORD, make_user

SHARED = {"REMOTE_ADDR": "198.51.100.4"}


def _login(client, login: str, password: str):
    from tests.support.http import csrf_from

    page = client.get("/connexion", environ_base=SHARED)
    return client.post(
        "/connexion",
        data={
            "login": login,
            "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
        environ_base=SHARED,
    )


def _signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def test_fifty_failures_from_one_address_do_not_lock_out_another_account(app, client):
    limit = app.config.get("LOGIN_CLIENT_LIMIT", 50)
    guessed = [make_user(email=f"x{n}@example.test") for n in range(limit // MAX_FAILED_LOGINS)]
    for user in guessed:  # a quick hash: fifty comparisons, not fifty slow ones
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    make_user(email="y@example.test")
    _db.session.commit()
    failures = 0
    for user in guessed:
        for _ in range(MAX_FAILED_LOGINS):
            assert _login(client, user.email, "wrong-password").status_code in (401, 429)
            failures += 1
    assert failures >= 50
    # The address is over its limit: one more failure is refused as coming from it.
    over = _login(client, "nobody@example.test", "wrong-password")
    assert over.status_code == 429
    assert "depuis cette connexion" in over.get_data(as_text=True)
    assert not _signed_in(client)
    # Y, from the same address, with the right password: signed in.
    assert _login(client, "y@example.test", PASSWORD).status_code == 302
    assert _signed_in(client)
    # X stays throttled, right password or not.
    other = app.test_client()
    blocked = _login(other, guessed[0].email, PASSWORD)
    assert blocked.status_code == 429
    assert "pour ce compte" in blocked.get_data(as_text=True)
    assert not _signed_in(other)
