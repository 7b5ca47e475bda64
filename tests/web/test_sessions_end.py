"""Sessions end on the server (issue 13, point 6): a copy of the cookie taken before a session
ended opens nothing afterwards, whichever way it ended; members and admins get a browser session
ended after 2 hours idle, a member may stay signed in 30 days, cashiers keep a market day.

Each test copies the session cookie into a second client (the "copy": someone who kept it),
checks that the copy works while the session holds, ends the session, and replays the copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from app.core.extensions import db
from app.members import auth as auth_service
from app.members import sessions
from app.members.admin import suspend_member
from app.members.models import UserSession
from app.merchants.admin import set_cashier_enabled
from tests.support.apps import make_app
from tests.support.factories import PASSWORD, make_admin, make_cashier, make_member
from tests.support.http import Auth, csrf_from

# A fixed instant for the tests that move the sessions' clock (not today's date).
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def copy_of(app, client):
    """A second client holding the value of `client`'s session cookie (its Expires ignored)."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie to copy"
    copy = app.test_client()
    copy.set_cookie("session", cookie.value)
    return copy


def fresh_transaction() -> None:
    """End the transaction the test's session holds (the test client's requests share the test's
    session; in production each request has its own): the next request reads what is committed."""
    db.session.rollback()


def opens(client, url: str) -> bool:
    fresh_transaction()
    response = client.get(url)
    if response.status_code == 200:
        return True
    assert response.status_code == 302, (url, response.status_code)
    assert response.headers["Location"].startswith("/connexion"), response.headers["Location"]
    return False


def post(client, url: str, data: dict | None = None, page: str = "/confidentialite"):
    fresh_transaction()
    token = csrf_from(client.get(page).get_data(as_text=True))
    fresh_transaction()
    return client.post(url, data={"csrf_token": token, **(data or {})})


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, at T0 until moved: `clock.now = ...`."""

    class Clock:
        now = T0

    monkeypatch.setattr(sessions, "now", lambda: Clock.now)
    return Clock


@pytest.fixture
def member(app):
    person = make_member(email="session.member@example.test")
    db.session.commit()
    return person


@pytest.fixture
def member_client(app, client, auth, member):
    assert auth.login("session.member@example.test").status_code == 302
    return client


@pytest.fixture
def cashier(app):
    user = make_cashier(email="session.cashier@example.test")
    db.session.commit()
    return user


@pytest.fixture
def cashier_client(app, client, auth, cashier):
    assert auth.login("session.cashier@example.test").status_code == 302
    return client


@pytest.fixture
def admin_client(app, client, auth):
    user = make_admin(email="session.admin@example.test")
    db.session.commit()
    assert auth.login_admin(user.email).status_code == 302
    client.admin = user
    return client


# --- each way a session ends --------------------------------------------------------------------


def test_sign_out_ends_the_copy_of_a_members_cookie(app, member_client, auth):
    copy = copy_of(app, member_client)
    assert opens(copy, "/compte")
    assert auth.logout().status_code == 302
    assert not opens(copy, "/compte")
    assert not opens(member_client, "/compte")


def test_sign_out_ends_the_copy_of_an_admins_cookie(app, admin_client, auth):
    copy = copy_of(app, admin_client)
    assert opens(copy, "/admin/")
    auth.logout()
    assert not opens(copy, "/admin/")


def test_the_cashiers_lock_ends_the_copy_but_not_the_stalls_other_tablet(
    app, cashier_client, cashier
):
    other_tablet = app.test_client()
    assert Auth(other_tablet).login("session.cashier@example.test").status_code == 302
    copy = copy_of(app, cashier_client)
    assert opens(copy, "/caisse")
    response = post(cashier_client, "/caisse/verrouiller", page="/caisse")
    assert response.headers["Location"].startswith("/connexion")
    assert not opens(copy, "/caisse")
    # The same account signed in on the stall's other tablet: that sign-in is its own.
    assert opens(other_tablet, "/caisse")


def test_a_password_change_ends_every_session_of_the_user(app, member_client, member):
    copy = copy_of(app, member_client)
    assert opens(copy, "/compte")
    link = f"/mot-de-passe/{auth_service.reset_token(member.user)}"
    elsewhere = app.test_client()
    response = post(
        elsewhere, link, {"password": "a-new-long-password", "confirm": "a-new-long-password"}, link
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert not opens(copy, "/compte")
    assert not opens(member_client, "/compte")


def test_a_password_changed_while_signed_in_ends_the_other_devices_only(app, member_client, member):
    other_device = app.test_client()
    assert Auth(other_device).login("session.member@example.test").status_code == 302
    copy = copy_of(app, other_device)
    assert opens(copy, "/compte")
    new = "another-long-password"
    response = post(
        member_client,
        "/compte/appareils/mot-de-passe",
        {"current": PASSWORD, "password": new, "confirm": new},
        page="/compte/appareils",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert not opens(copy, "/compte")
    assert not opens(other_device, "/compte")
    assert opens(member_client, "/compte")  # this device stays signed in
    fresh_transaction()
    assert auth_service.password_matches(db.session.get(type(member.user), member.user.id), new)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"current": "not-the-password"}, "current", "Ce mot de passe n’est pas le bon."),
        ({"password": "short", "confirm": "short"}, "password", "au moins 10 caractères"),
        ({"confirm": "something-else-entirely"}, "confirm", "ne sont pas identiques"),
        ({"current": ""}, "current", "Saisissez votre mot de passe."),
        ({"password": "x" * 100_000}, "password", "trop long"),
    ],
)
def test_a_refused_password_change_says_why_and_ends_nothing(
    app, member_client, member, data, field, message
):
    other_device = app.test_client()
    assert Auth(other_device).login("session.member@example.test").status_code == 302
    form = {"current": PASSWORD, "password": "a-new-long-password"}
    form["confirm"] = form["password"]
    form.update(data)
    response = post(member_client, "/compte/appareils/mot-de-passe", form, page="/compte/appareils")
    assert response.status_code in (422, 429), response.status_code
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    assert opens(other_device, "/compte")
    fresh_transaction()
    assert auth_service.password_matches(
        db.session.get(type(member.user), member.user.id), PASSWORD
    )


def test_a_wrong_current_password_counts_like_a_sign_in(app, member_client, member):
    fresh_transaction()
    before = db.session.get(type(member.user), member.user.id).failed_logins
    post(
        member_client,
        "/compte/appareils/mot-de-passe",
        {
            "current": "wrong-password!",
            "password": "a-new-long-password",
            "confirm": "a-new-long-password",
        },
        page="/compte/appareils",
    )
    fresh_transaction()
    assert db.session.get(type(member.user), member.user.id).failed_logins == before + 1


def test_a_password_change_needs_the_csrf_token(app, member_client):
    response = member_client.post(
        "/compte/appareils/mot-de-passe",
        data={
            "current": PASSWORD,
            "password": "a-new-long-password",
            "confirm": "a-new-long-password",
        },
    )
    assert response.status_code == 400


def test_an_admins_second_factor_reset_ends_their_sessions(app, admin_client, runner):
    copy = copy_of(app, admin_client)
    assert opens(copy, "/admin/")
    result = runner.invoke(args=["ssa", "reset-2fa", admin_client.admin.email])
    assert result.exit_code == 0, result.output
    response = copy.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


def test_closing_a_cashiers_access_ends_their_sessions(app, cashier_client, cashier):
    copy = copy_of(app, cashier_client)
    assert opens(copy, "/caisse")
    set_cashier_enabled(cashier.merchant, cashier, False, actor_id=None)
    db.session.commit()
    assert not opens(copy, "/caisse")


def test_suspension_ends_the_members_sessions(app, member_client, member):
    admin = make_admin()
    db.session.commit()
    copy = copy_of(app, member_client)
    assert opens(copy, "/compte")
    assert suspend_member(member, admin.id, "test")
    db.session.commit()
    assert not opens(copy, "/compte")


def test_erasure_ends_the_members_sessions(app, member_client):
    copy = copy_of(app, member_client)
    assert opens(copy, "/compte")
    response = post(
        member_client,
        "/compte/donnees/effacement",
        {"password": PASSWORD, "confirm": "y"},
        page="/compte/donnees",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert not opens(copy, "/compte")


def test_sign_out_of_every_device_ends_them_all_this_one_too(app, member_client, member):
    phone = app.test_client()
    assert Auth(phone).login("session.member@example.test").status_code == 302
    copy = copy_of(app, member_client)
    page = member_client.get("/compte/appareils")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("<li>\n      <strong>") == 2  # the two devices
    response = post(member_client, "/compte/appareils/deconnexion", page="/compte/appareils")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"
    login_page = member_client.get("/connexion").get_data(as_text=True)
    assert "Vous êtes déconnecté de tous les appareils" in login_page
    for other in (copy, phone, member_client):
        assert not opens(other, "/compte")
    assert sessions.active(member.user) == []


def test_sign_out_of_every_device_needs_the_csrf_token(member_client):
    response = member_client.post("/compte/appareils/deconnexion", data={})
    assert response.status_code == 400
    assert opens(member_client, "/compte")


# --- how long a session lasts ---------------------------------------------------------------------


def test_a_member_session_ends_after_two_hours_without_activity(app, client, auth, member, clock):
    assert auth.login("session.member@example.test").status_code == 302
    copy = copy_of(app, client)
    clock.now = T0 + timedelta(hours=1, minutes=59)
    assert opens(copy, "/compte")  # activity: the idle time starts again (written now)
    clock.now = T0 + timedelta(hours=3, minutes=50)
    assert opens(copy, "/compte")
    clock.now = T0 + timedelta(hours=5, minutes=51)
    assert not opens(copy, "/compte")
    assert not opens(client, "/compte")


def test_last_seen_is_written_at_most_every_few_minutes(app, client, auth, member, clock):
    auth.login("session.member@example.test")
    record_id = db.session.scalar(db.select(UserSession.id))
    clock.now = T0 + sessions.TOUCH_EVERY - timedelta(seconds=1)
    assert opens(client, "/compte")
    assert _last_seen(record_id) == T0
    clock.now = T0 + sessions.TOUCH_EVERY
    assert opens(client, "/compte")
    assert _last_seen(record_id) == T0 + sessions.TOUCH_EVERY


def _last_seen(record_id: int) -> datetime:
    fresh_transaction()
    return db.session.get(UserSession, record_id).last_seen_at


def test_stay_signed_in_lasts_thirty_days_then_ends(app, client, member, clock):
    page = client.get("/connexion")
    assert "Rester connecté sur cet appareil" in page.get_data(as_text=True)
    client.post(
        "/connexion",
        data={
            "login": "session.member@example.test",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    copy = copy_of(app, client)
    clock.now = T0 + timedelta(days=3)  # three days without a visit: still signed in
    assert opens(copy, "/compte")
    clock.now = T0 + timedelta(days=30) - timedelta(seconds=1)
    assert opens(copy, "/compte")
    clock.now = T0 + timedelta(days=30)
    assert not opens(copy, "/compte")


def test_a_cashier_keeps_a_market_day_without_idle_limit(app, client, auth, cashier, clock):
    assert auth.login("session.cashier@example.test").status_code == 302
    copy = copy_of(app, client)
    clock.now = T0 + timedelta(hours=13, minutes=59)  # no request since the morning
    assert opens(copy, "/caisse")
    clock.now = T0 + timedelta(hours=14)
    assert not opens(copy, "/caisse")


def test_an_old_format_cookie_opens_nothing(app, client, member):
    with client.session_transaction() as session:
        session["_user_id"] = f"{member.user_id}:{member.user.session_version}"
        session["_fresh"] = True
    assert not opens(client, "/compte")


def test_the_database_keeps_only_a_hash_of_the_token(app, member_client):
    token = member_client.get_cookie("session")
    with member_client.session_transaction() as session:
        secret = session["_user_id"].split(":")[2]
    record = db.session.scalar(db.select(UserSession))
    assert token is not None and secret and record.token_hash == sessions.hash_token(secret)
    assert secret not in record.token_hash


# --- the cookie ---------------------------------------------------------------------------------


def _session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert headers, response.headers
    return headers[-1]


def _expires(header: str) -> datetime | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "expires":
            return parsedate_to_datetime(value)
    return None


def _login(client, login: str, remember: bool = False):
    page = client.get("/connexion")
    data = {"login": login, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post(
        "/connexion", data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))}
    )


def _last_session() -> UserSession:
    return db.session.scalar(db.select(UserSession).order_by(UserSession.id.desc()))


def test_a_members_cookie_ends_with_the_browser_unless_remembered(app, member):
    header = _session_cookie_header(_login(app.test_client(), "session.member@example.test"))
    assert _expires(header) is None
    assert "HttpOnly" in header and "SameSite=Lax" in header
    remembered = _session_cookie_header(
        _login(app.test_client(), "session.member@example.test", remember=True)
    )
    record = _last_session()
    assert record.remember and record.idle_seconds is None
    assert _expires(remembered) == (record.created_at + timedelta(days=30)).replace(microsecond=0)


def test_remember_is_for_members_only(app, cashier):
    admin = make_admin(email="remember.admin@example.test")
    db.session.commit()
    header = _session_cookie_header(
        _login(app.test_client(), "remember.admin@example.test", remember=True)
    )
    assert _expires(header) is None
    record = _last_session()
    assert record.user_id == admin.id and not record.remember
    assert record.idle_seconds == 2 * 3600
    cashier_header = _session_cookie_header(
        _login(app.test_client(), "session.cashier@example.test", remember=True)
    )
    record = _last_session()
    assert record.kind == "cashier" and not record.remember and record.idle_seconds is None
    expires = _expires(cashier_header)
    assert expires == (record.created_at + timedelta(hours=14)).replace(microsecond=0)
    assert expires - record.created_at >= timedelta(hours=12)


# --- across workers and servers -----------------------------------------------------------------


def test_a_sign_out_on_one_server_ends_the_session_on_the_other(app, database_url, member):
    other_server = make_app(database_url)
    try:
        here = app.test_client()
        assert Auth(here).login("session.member@example.test").status_code == 302
        there = other_server.test_client()
        there.set_cookie("session", here.get_cookie("session").value)
        assert opens(there, "/compte")
        Auth(here).logout()
        assert not opens(there, "/compte")
    finally:
        with other_server.app_context():
            db.session.remove()
            db.engine.dispose()
