"""Signing in and out: e-mail or member number, throttling per account, a new session at
sign-in, safe `next`, logout by POST only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.columns import utcnow
from app.core.extensions import db as _db
from app.members import auth as auth_service
from app.members.errors import LoginFailed
from app.members.models import User
from tests.support.factories import PASSWORD, make_member, make_user
from tests.support.http import csrf_from


def _logged_in_user(client):
    """The user id Flask-Login keeps in the session, or None."""
    with client.session_transaction() as session:
        return session.get("_user_id")


def test_member_logs_in_with_email(app, client, auth):
    member = make_member(email="anne@example.test")
    app_db_commit()
    response = auth.login("Anne@Example.test ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/compte"
    # "user id:session version:token of this sign-in" (app/members/sessions.py)
    assert _logged_in_user(client).startswith(f"{member.user_id}:{member.user.session_version}:")


def test_member_without_email_logs_in_with_member_number(client, auth):
    member = make_member(email="")
    app_db_commit()
    assert member.user.email is None
    response = auth.login(member.number, PASSWORD)
    assert response.status_code == 302
    assert _logged_in_user(client).startswith(f"{member.user_id}:")
    # Spaces typed between the digits are fine too.
    auth.logout()
    assert _logged_in_user(client) is None
    spaced = f"{member.number[:3]} {member.number[3:]}"
    assert auth.login(spaced, PASSWORD).status_code == 302


def test_a_typo_in_the_member_number_is_caught_before_any_lookup(client, auth):
    member = make_member(email="")
    app_db_commit()
    wrong_digit = member.number[:5] + str((int(member.number[5]) + 1) % 10)
    response = auth.login(wrong_digit, PASSWORD)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ce numéro d’adhérent n’est pas valide" in body or "not valid" in body
    assert _logged_in_user(client) is None
    # No attempt was counted against the real member's account.
    assert member.user.failed_logins == 0


def test_unknown_account_and_wrong_password_look_the_same(client, auth):
    make_user(email="known@example.test")
    app_db_commit()
    unknown = auth.login("nobody@example.test", "whatever-password")
    wrong = auth.login("known@example.test", "whatever-password")
    assert unknown.status_code == wrong.status_code == 401

    def message(response):
        body = response.get_data(as_text=True)
        start = body.index('id="login-error"')
        return body[start : body.index("</div>", start)]

    assert message(unknown) == message(wrong)
    assert _logged_in_user(client) is None


def test_five_wrong_passwords_block_the_account_with_a_clear_message(app, client, auth, db):
    user = make_user(email="target@example.test")
    app_db_commit()
    for _ in range(4):
        assert auth.login("target@example.test", "wrong-password").status_code == 401
    fifth = auth.login("target@example.test", "wrong-password")
    assert fifth.status_code == 429
    assert "Réessayez dans 15 minutes" in fifth.get_data(as_text=True)
    # Blocked: even the right password is refused now, and the message says how long.
    blocked = auth.login("target@example.test", PASSWORD)
    assert blocked.status_code == 429
    assert "Réessayez dans" in blocked.get_data(as_text=True)
    assert _logged_in_user(client) is None
    db.session.expire_all()
    assert db.session.get(User, user.id).login_blocked_until > utcnow() + timedelta(minutes=14)

    # In English too.
    english = app.test_client()
    page = english.get("/connexion?lang=en")
    response = english.post(
        "/connexion?lang=en",
        data={
            "login": "target@example.test",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert "Try again in 15 minutes" in response.get_data(as_text=True)

    # Once the block has passed, the right password works and the counter starts again.
    db.session.get(User, user.id).login_blocked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert auth.login("target@example.test", PASSWORD).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0


def test_the_block_is_held_in_the_database_for_every_worker(app, database_url, auth):
    from tests.support.apps import make_app

    make_user(email="shared@example.test")
    app_db_commit()
    for _ in range(5):
        auth.login("shared@example.test", "wrong-password")
    _db.session.rollback()  # the test's session must not hold the SQLite write lock
    other_worker = make_app(database_url)
    with other_worker.app_context():
        client = other_worker.test_client()
        page = client.get("/connexion")
        response = client.post(
            "/connexion",
            data={
                "login": "shared@example.test",
                "password": PASSWORD,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        assert response.status_code == 429
        _db.session.remove()
        _db.engine.dispose()


def test_a_right_password_resets_the_counter(client, auth, db):
    user = make_user(email="forgetful@example.test")
    app_db_commit()
    for _ in range(4):
        auth.login("forgetful@example.test", "wrong-password")
    assert auth.login("forgetful@example.test", PASSWORD).status_code == 302
    auth.logout()
    for _ in range(4):
        assert auth.login("forgetful@example.test", "wrong-password").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 4


def test_unknown_accounts_are_throttled_too_so_the_block_reveals_nothing(auth):
    for _ in range(4):
        assert auth.login("ghost@example.test", "wrong-password").status_code == 401
    assert auth.login("ghost@example.test", "wrong-password").status_code == 429


def test_disabled_account_cannot_log_in(client, auth):
    make_user(email="gone@example.test", is_enabled=False)
    app_db_commit()
    assert auth.login("gone@example.test", PASSWORD).status_code == 401
    assert _logged_in_user(client) is None


def test_the_session_is_new_after_login(client, auth):
    user = make_user(email="fixation@example.test")
    app_db_commit()
    client.get("/connexion")
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
        old_csrf = session.get("csrf_token")
    assert old_csrf
    auth.login("fixation@example.test", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_csrf
        assert session["_user_id"].startswith(f"{user.id}:{user.session_version}:")


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/confidentialite", True),
        ("/confidentialite?x=1", True),
        ("https://evil.test/steal", False),
        ("//evil.test/steal", False),
        ("/\\evil.test", False),
        ("javascript:alert(1)", False),
        ("/%0d%0aLocation:evil", False),  # encoded control characters: no page of the site
    ],
)
def test_next_only_leads_to_local_paths(client, target, followed):
    make_user(email="next@example.test")
    app_db_commit()
    page = client.get("/connexion")
    response = client.post(
        "/connexion",
        query_string={"next": target},
        data={
            "login": "next@example.test",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    if followed:
        assert location == target
    else:
        assert "evil" not in location and "javascript" not in location
        assert location.startswith("/")


def test_logout_is_a_post_with_csrf(client, auth):
    make_user(email="bye@example.test")
    app_db_commit()
    auth.login("bye@example.test", PASSWORD)
    assert client.get("/deconnexion").status_code == 405
    assert client.post("/deconnexion").status_code == 400  # no CSRF token
    assert _logged_in_user(client) is not None
    response = auth.logout()
    assert response.status_code == 302
    assert _logged_in_user(client) is None


def test_protected_page_sends_anonymous_to_login_with_next(client):
    response = client.get("/compte/historique?page=2")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")


@pytest.mark.parametrize(
    "login", ["x" * 10_000, "a\x00b@example.test", "<script>alert(1)</script>", "0000\x1b18"]
)
def test_strange_input_never_gives_a_500(client, login):
    page = client.get("/connexion")
    response = client.post(
        "/connexion",
        data={
            "login": login,
            "password": "p" * 10_000,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code in (200, 401)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_authenticate_hashes_even_for_unknown_accounts(app, monkeypatch):
    calls = []
    original = auth_service.check_password_hash
    monkeypatch.setattr(
        auth_service, "check_password_hash", lambda h, p: calls.append(1) or original(h, p)
    )
    with pytest.raises(LoginFailed):
        auth_service.authenticate("nobody@example.test", "password-123")
    assert calls, "an unknown account must cost a hash, like a wrong password"


def app_db_commit():
    _db.session.commit()


def test_one_address_failing_too_often_gets_refusals_but_right_passwords_still_sign_in(
    app, client, auth, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_CLIENT_LIMIT", 3)
    make_user(email="real@example.test")
    app_db_commit()
    for _ in range(4):  # a market's tablets behind one address sign in all day
        assert auth.login("real@example.test", PASSWORD).status_code == 302
        auth.logout()
    for n in range(3):
        assert auth.login(f"guess{n}@example.test", "wrong-password").status_code == 401
    refused = auth.login("guess9@example.test", "wrong-password")
    assert refused.status_code == 429
    assert "Trop de tentatives depuis cette connexion" in refused.get_data(as_text=True)
    assert auth.login("real@example.test", "wrong-password").status_code == 429
    assert _logged_in_user(client) is None
    # The same address, the right password of another account: signed in.
    assert auth.login("real@example.test", PASSWORD).status_code == 302
    assert _logged_in_user(client) is not None
