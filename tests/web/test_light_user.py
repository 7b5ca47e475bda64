"""The register's sale loads the cashier by hand (`@light_user`, `members.sessions.SignedIn`)
instead of through the ORM: it must refuse exactly what the ORM's loader refuses (a revoked,
expired or idle sign-in, a stale session version, a disabled account) and behave as the user
for everything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.extensions import db
from app.members import sessions
from app.members.models import User, UserSession
from app.merchants.admin import set_cashier_enabled
from tests.support.factories import make_cashier, make_member, make_merchant
from tests.support.register import PIN, balance_of, charge, fund, sale_form

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a fixed instant: the sessions' clock is moved


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = T0

    monkeypatch.setattr(sessions, "now", lambda: Clock.now)
    return Clock


@pytest.fixture
def shop(app):
    merchant = make_merchant(name="Ferme Légère")
    cashier = make_cashier(merchant, email="light.cashier@example.test")
    db.session.commit()
    return merchant, cashier


@pytest.fixture
def payer(app):
    person = make_member(first_name="Lou", last_name="Martin", pin=PIN)
    fund(person, 10_000)
    db.session.commit()
    return person


@pytest.fixture
def till(client, auth, shop, clock):
    assert auth.login("light.cashier@example.test").status_code == 302
    return client


def refused(response) -> bool:
    """Sent to the sign-in page: htmx by HX-Redirect (401), a plain form by a redirect."""
    if response.status_code == 401:
        return response.headers["HX-Redirect"].startswith("/connexion")
    return response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def a_sale(till, payer, amount="1,00"):
    fields = sale_form(till, payer.number)
    db.session.rollback()  # the next request reads what is committed, as a server's would
    return fields, lambda: charge(till, fields, amount=amount, headers={"HX-Request": "true"})


def test_a_sale_goes_through_with_the_light_user(till, payer):
    _, sell = a_sale(till, payer)
    response = sell()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert "data-sale-done" in response.get_data(as_text=True)
    assert balance_of(payer) == 10_000 - 100


def test_a_revoked_sign_in_cannot_sell(till, payer, shop):
    _, sell = a_sale(till, payer)
    record = db.session.scalar(db.select(UserSession).where(UserSession.user_id == shop[1].id))
    sessions.end(record)
    db.session.commit()
    assert refused(sell())
    assert balance_of(payer) == 10_000


def test_a_bumped_session_version_cannot_sell(till, payer, shop):
    _, sell = a_sale(till, payer)
    cashier = db.session.get(User, shop[1].id)
    cashier.session_version += 1  # as `end_all` does, without revoking the row
    db.session.commit()
    assert refused(sell())
    assert balance_of(payer) == 10_000


def test_a_disabled_cashier_cannot_sell(till, payer, shop):
    _, sell = a_sale(till, payer)
    merchant, cashier = shop
    db.session.execute(db.update(User).where(User.id == cashier.id).values(is_enabled=False))
    db.session.commit()
    assert refused(sell())
    # And closing the cashier's access the usual way too.
    db.session.execute(db.update(User).where(User.id == cashier.id).values(is_enabled=True))
    db.session.commit()
    set_cashier_enabled(merchant, db.session.get(User, cashier.id), False, actor_id=None)
    db.session.commit()
    assert refused(sell())
    assert balance_of(payer) == 10_000


def test_a_sign_in_past_its_market_day_cannot_sell(till, payer, clock):
    _, sell = a_sale(till, payer)
    clock.now = T0 + sessions.MARKET_DAY - timedelta(minutes=1)
    assert sell().status_code == 200
    _, sell = a_sale(till, payer)
    clock.now = T0 + sessions.MARKET_DAY
    assert refused(sell())


def test_the_light_user_is_the_user_and_refuses_what_the_orm_loader_refuses(app, shop, clock):
    """`load(light=True)` against `load()`, call by call, on one sign-in as it ends each way."""
    _, cashier = shop
    member_user = make_member(email="light.member@example.test").user
    db.session.commit()
    opened = sessions.open_session(member_user)  # a member: an idle limit
    db.session.commit()
    cookie = opened.user.get_id()
    with app.test_request_context("/caisse/debit", method="POST"):
        light, full = sessions.load(cookie, light=True), sessions.load(cookie)
        assert isinstance(light, sessions.SignedIn) and isinstance(full, User)
        assert light.get_id() == full.get_id() == cookie
        assert light == full and light.is_authenticated and light.is_active
        assert (light.id, light.role, light.merchant_id) == (full.id, "member", None)
        assert light.email == "light.member@example.test"  # not held: asked of the ORM's user
        assert light.current_session.id == full.current_session.id
        # Bad cookies.
        for bad in ("", "1:1", f"{member_user.id}:1:short", "x:1:" + "a" * 22):
            assert sessions.load(bad, light=True) is None
        user_id, version, token = cookie.split(":")
        assert sessions.load(f"{user_id}:{int(version) + 1}:{token}", light=True) is None
        assert sessions.load(f"{cashier.id}:{version}:{token}", light=True) is None  # not theirs
    # Idle for the idle limit: refused by both.
    clock.now = T0 + sessions.IDLE_LIMIT
    with app.test_request_context("/caisse/debit", method="POST"):
        assert sessions.load(cookie, light=True) is None
        assert sessions.load(cookie) is None


def test_the_light_user_writes_last_seen_like_the_orm_loader(app, clock):
    user = make_member(email="light.idle@example.test").user
    db.session.commit()
    cookie = sessions.open_session(user).user.get_id()
    db.session.commit()
    clock.now = T0 + sessions.TOUCH_EVERY
    with app.test_request_context("/compte", method="GET"):
        assert sessions.load(cookie, light=True) is not None
    db.session.rollback()  # written on a connection of its own: read it in a new transaction
    record = db.session.scalar(db.select(UserSession).where(UserSession.user_id == user.id))
    assert record.last_seen_at == clock.now


def test_only_the_marked_views_get_the_light_user(app):
    from app.core.security import wants_light_user

    with app.test_request_context("/caisse/debit", method="POST"):
        assert wants_light_user()
    with app.test_request_context("/caisse", method="GET"):
        assert not wants_light_user()
    with app.test_request_context("/compte", method="GET"):
        assert not wants_light_user()
