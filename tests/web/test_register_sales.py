"""/caisse/ventes (today's sales, cancellation with the member's PIN) and /caisse/rapport."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core.extensions import db as _db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.models import Member
from app.merchants.models import Category
from tests.support.factories import make_cashier, make_member, make_merchant
from tests.support.http import csrf_from, hidden
from tests.support.register import PIN, balance_of, charge, fund, sale_form


@pytest.fixture
def shop(app):
    merchant = make_merchant(name="Ferme du Test", categories=("fruits-legumes", "oeufs"))
    make_cashier(merchant, email="caisse@example.test")
    _db.session.commit()
    return merchant


@pytest.fixture
def member(app):
    person = make_member(first_name="Camille", last_name="Rivière", pin=PIN)
    fund(person, 10000)
    _db.session.commit()
    return person


@pytest.fixture
def till(client, auth, shop):
    assert auth.login("caisse@example.test").status_code == 302
    return client


def sell(client, member, amount, category=""):
    response = charge(client, sale_form(client, member.number), amount=amount, category=category)
    assert response.status_code == 200, response.get_data(as_text=True)
    return _db.session.scalars(
        select(Transfer).where(Transfer.kind == "purchase").order_by(Transfer.id.desc())
    ).first()


def past_sale(merchant, member, cents, days_ago, category_id=None):
    """A sale of an earlier day, made through the ledger as the register would have."""
    return ledger.transfer(
        source=ledger.member_account(member),
        destination=ledger.merchant_account(merchant),
        amount_cents=cents,
        kind="purchase",
        category_id=category_id,
        occurred_on=ledger.today() - timedelta(days=days_ago),
    )


def refunds() -> int:
    return _db.session.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.kind == "refund")
    )


def cancel(client, sale, pin=PIN, key=None):
    page = client.get(f"/caisse/ventes/{sale.id}/annuler")
    html = page.get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(client.get("/caisse").get_data(as_text=True)),
        "pin": pin,
        "key": key or (hidden(html, "key") if page.status_code == 200 else "k" * 22),
    }
    return client.post(f"/caisse/ventes/{sale.id}/annuler", data=data)


# --- today's sales -----------------------------------------------------------------------------


def test_todays_sales_with_the_days_total(till, shop, member):
    fruit = _db.session.scalar(select(Category).where(Category.slug == "fruits-legumes"))
    first = sell(till, member, "12,50", str(fruit.id))
    second = sell(till, member, "3")
    other = make_member(first_name="Dominique", last_name="Zola", pin=PIN)
    fund(other, 5000)
    past_sale(shop, other, 999, days_ago=1)
    elsewhere = make_merchant(name="Ailleurs")
    ledger.transfer(
        source=ledger.member_account(other),
        destination=ledger.merchant_account(elsewhere),
        amount_cents=777,
        kind="purchase",
    )
    _db.session.commit()
    html = till.get("/caisse/ventes").get_data(as_text=True)
    assert "2 ventes, total 15,50\u00a0€" in html
    for sale in (first, second):
        assert sale.reference in html
    assert "Camille R." in html and "Rivière" not in html
    assert "Fruits et légumes" in html
    assert "9,99" not in html and "7,77" not in html  # yesterday's, another merchant's
    assert f"/caisse/ventes/{first.id}/annuler" in html


# --- cancellation ------------------------------------------------------------------------------


def test_cancel_a_sale_with_the_members_pin(till, shop, member):
    sale = sell(till, member, "12,50")
    page = till.get(f"/caisse/ventes/{sale.id}/annuler")
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 200
        and "12,50" in html
        and "Camille R." in html
        and ">Code PIN</label>" in html
    )
    response = cancel(till, sale)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Vente {sale.reference} annulée" in body and "remboursés à Camille R." in body
    refund = _db.session.scalars(select(Transfer).where(Transfer.kind == "refund")).one()
    assert refund.reverses_id == sale.id and refund.amount_cents == 1250
    assert balance_of(member) == 10000
    assert ledger.balance(ledger.merchant_account(shop)) == 0
    listing = till.get("/caisse/ventes").get_data(as_text=True)
    assert "0 vente, total 0,00\u00a0€" in listing and "Annulée à" in listing
    assert f"/caisse/ventes/{sale.id}/annuler" not in listing
    assert list(ledger.verify()) == []


def test_a_sale_cannot_be_cancelled_twice(till, member):
    sale = sell(till, member, "12,50")
    assert cancel(till, sale).status_code == 200
    again = cancel(till, sale)
    assert again.status_code == 409
    assert "déjà été annulée" in again.get_data(as_text=True)
    page = till.get(f"/caisse/ventes/{sale.id}/annuler")
    assert page.status_code == 409 and 'name="pin"' not in page.get_data(as_text=True)
    assert refunds() == 1 and balance_of(member) == 10000


def test_a_retried_cancellation_with_its_key_shows_the_same_refund(till, member):
    sale = sell(till, member, "12,50")
    page = till.get(f"/caisse/ventes/{sale.id}/annuler").get_data(as_text=True)
    key = hidden(page, "key")
    first = cancel(till, sale, key=key)
    again = cancel(till, sale, key=key)
    assert first.status_code == again.status_code == 200
    assert refunds() == 1


def test_another_merchant_cannot_cancel(client, auth, till, shop, member):
    sale = sell(till, member, "12,50")
    make_cashier(make_merchant(name="Concurrent"), email="autre@example.test")
    _db.session.commit()
    auth.logout()
    auth.login("autre@example.test")
    assert client.get(f"/caisse/ventes/{sale.id}/annuler").status_code == 404
    assert cancel(client, sale).status_code == 404
    assert sale.reference not in client.get("/caisse/ventes").get_data(as_text=True)
    assert refunds() == 0 and balance_of(member) == 8750


def test_a_wrong_pin_does_not_cancel(till, member):
    sale = sell(till, member, "12,50")
    response = cancel(till, sale, pin="0000")
    assert response.status_code == 422
    assert "Essais restants\u00a0: 2." in response.get_data(as_text=True)
    assert _db.session.get(Member, member.id).pin_failures == 1
    assert cancel(till, sale, pin="123").status_code == 422  # not four digits: not counted
    assert _db.session.get(Member, member.id).pin_failures == 1
    assert refunds() == 0 and balance_of(member) == 8750


def test_a_locked_card_cannot_confirm_a_cancellation(till, member):
    sale = sell(till, member, "12,50")
    for pin in ("0000", "0001", "0002"):
        cancel(till, sale, pin=pin)
    response = cancel(till, sale)
    assert response.status_code == 422 and "bloquée" in response.get_data(as_text=True)
    assert refunds() == 0


def test_older_sales_go_to_the_treasurer(till, shop, member):
    sale = past_sale(shop, member, 500, days_ago=1)
    _db.session.commit()
    page = till.get(f"/caisse/ventes/{sale.id}/annuler")
    assert page.status_code == 422 and "trésorier" in page.get_data(as_text=True)
    response = cancel(till, sale, key="k" * 22)
    assert response.status_code == 422 and refunds() == 0


def test_cancelling_a_refund_or_an_unknown_id_is_not_found(till, member):
    sale = sell(till, member, "12,50")
    cancel(till, sale)
    refund = _db.session.scalars(select(Transfer).where(Transfer.kind == "refund")).one()
    assert till.get(f"/caisse/ventes/{refund.id}/annuler").status_code == 404
    assert till.get("/caisse/ventes/999999/annuler").status_code == 404


# --- the day report ----------------------------------------------------------------------------


def test_the_day_report(till, shop, member):
    fruit, eggs = (
        _db.session.scalar(select(Category).where(Category.slug == slug))
        for slug in ("fruits-legumes", "oeufs")
    )
    sell(till, member, "10", str(fruit.id))
    sell(till, member, "5", str(fruit.id))
    egg_sale = sell(till, member, "3,20", str(eggs.id))
    sell(till, member, "1")
    cancelled = sell(till, member, "7")
    cancel(till, cancelled)
    past_sale(shop, member, 4000, days_ago=3, category_id=eggs.id)
    _db.session.commit()
    html = till.get("/caisse/rapport").get_data(as_text=True)
    figures = html[html.index('class="reg-figures"') : html.index("</dl>")]
    assert "<dd>4</dd>" in figures and "19,20\u00a0€" in figures and "1 (7,00\u00a0€)" in figures
    table = html[html.index("Par catégorie") : html.index("Toutes les ventes")]
    assert 'Fruits et légumes</td><td class="num">2</td><td class="num">15,00\u00a0€' in table
    assert 'Œufs</td><td class="num">1</td><td class="num">3,20\u00a0€' in table
    assert 'Sans catégorie</td><td class="num">1</td><td class="num">1,00\u00a0€' in table
    assert egg_sale.reference in html and cancelled.reference in html and "annulée" in html
    assert "40,00" not in html  # three days ago
    with till.get("/static/css/register.css") as css:
        assert "@media print" in css.get_data(as_text=True)
    assert 'class="print-only"' in html and "Ferme du Test" in html


def test_the_report_of_a_past_day(till, shop, member):
    sell(till, member, "10")
    old = past_sale(shop, member, 4000, days_ago=3)
    _db.session.commit()
    day = (ledger.today() - timedelta(days=3)).isoformat()
    html = till.get(f"/caisse/rapport?jour={day}").get_data(as_text=True)
    assert old.reference in html and "40,00\u00a0€" in html and "10,00" not in html
    assert f'value="{day}"' in html and "Jour suivant" in html
    empty = till.get("/caisse/rapport?jour=2025-01-01").get_data(as_text=True)
    assert "Aucune vente ce jour-là." in empty


@pytest.mark.parametrize(
    "day", ["abc", "2025-13-01", "2025-02-30", "0001-01-01", "1-1-1", "2025-01-01T00", "<b>"]
)
def test_a_bad_day_is_refused_clearly(till, day):
    response = till.get("/caisse/rapport", query_string={"jour": day})
    assert response.status_code == 400
    assert "Cette date n’est pas valide" in response.get_data(as_text=True)
    assert "<b>" not in response.get_data(as_text=True).split("<main")[1]
