"""The member's space: balance, history and its CSV, contribution, card and lost card, PIN,
personal data export and erasure. Pages only ever show the signed-in member."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from datetime import date

import pytest
import segno

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.contributions import record_contribution
from app.members import cards, membership
from app.members.errors import LostCard
from app.members.models import Commune, Member, User
from app.merchants.models import Category, Merchant
from tests.support.factories import PASSWORD, make_member
from tests.support.http import csrf_from


def make_shop(name: str = "Ferme du Lignon") -> Merchant:
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    shop = Merchant(name=name, commune_id=commune.id, status="active")
    db.session.add(shop)
    db.session.flush()
    return shop


def allocate(member, amount=10000, period=None):
    return ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=amount,
        kind="allocation",
        period=period,
    )


def buy(member, shop, amount, category_slug="fruits-legumes", on=None):
    category = db.session.scalar(db.select(Category).where(Category.slug == category_slug))
    return ledger.transfer(
        source=ledger.member_account(member),
        destination=ledger.merchant_account(shop),
        amount_cents=amount,
        kind="purchase",
        category_id=category.id if category else None,
        occurred_on=on,
    )


@pytest.fixture
def member(client, auth):
    """A signed-in member (the client is theirs)."""
    person = make_member(first_name="Odile", last_name="Perret", email="odile@example.test")
    db.session.commit()
    assert auth.login("odile@example.test", PASSWORD).status_code == 302
    return person


def _post(client, url, data, action=None):
    page = client.get(url)
    return client.post(
        action or url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data}
    )


# Overview


def test_overview_shows_balance_allocation_next_date_purchases_and_pledge(client, member):
    shop = make_shop("Fromagerie de Sauvain")
    allocate(member)
    buy(member, shop, 1250)
    member.pledge_cents = 1500
    db.session.commit()
    body = client.get("/compte").get_data(as_text=True)
    balance = re.search(r'<p class="balance" id="balance">(.*?)</p>', body).group(1)
    assert balance == "87,50\u00a0€"
    assert "100,00\u00a0€ versés le" in body
    next_day = membership.next_allocation_date()
    assert (
        f"1 {['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'][next_day.month - 1]} {next_day.year}"
        in body
    )
    assert "Fromagerie de Sauvain" in body and "12,50\u00a0€" in body
    assert "15,00\u00a0€" in body


def test_overview_before_any_allocation(client, member):
    body = client.get("/compte").get_data(as_text=True)
    assert "Pas encore versée" in body and "0,00\u00a0€" in body


def test_a_locked_card_is_announced_with_the_way_out(client, member):
    member.pin_failures = cards.MAX_PIN_FAILURES
    db.session.commit()
    body = client.get("/compte").get_data(as_text=True)
    assert "bloquée" in body and 'href="/compte/pin"' in body


# History


def test_history_lists_every_movement_by_month_with_merchant_and_category(client, member):
    shop = make_shop("Boulangerie Chazal")
    allocate(member, period="2026-01")
    buy(member, shop, 400, "pain", on=date(2026, 1, 10))
    purchase = buy(member, shop, 900, on=date(2026, 2, 3))
    ledger.reverse(purchase, kind="refund", actor_id=None)
    ledger.transfer(
        source=ledger.member_account(member),
        destination=ledger.system_account("caisse"),
        amount_cents=100,
        kind="expiry",
        period="2026-02",
    )
    db.session.commit()
    body = client.get("/compte/historique").get_data(as_text=True)
    for text in (
        "Allocation mensuelle",
        "Achat",
        "Remboursement",
        "rendue à la caisse commune",
        "Boulangerie Chazal",
    ):
        assert text in body, text
    assert "Janvier 2026" in body and "Février 2026" in body
    assert "−4,00\u00a0€" in body and "+9,00\u00a0€" in body


def test_history_is_paginated_fifty_per_page(client, member):
    shop = make_shop()
    allocate(member, amount=10000)
    rows = [buy(member, shop, 1) for _ in range(60)]
    db.session.commit()
    first = client.get("/compte/historique").get_data(as_text=True)
    second = client.get("/compte/historique?page=2").get_data(as_text=True)
    newest, oldest = rows[-1].reference, rows[0].reference
    assert newest in first and newest not in second
    assert oldest in second and oldest not in first
    assert "Page 1 sur 2" in first or "Page 1 of 2" in first or 'rel="next"' in first
    # htmx asks for the list only.
    fragment = client.get("/compte/historique?page=2", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "<html" not in fragment and oldest in fragment


def test_history_csv_for_french_spreadsheets_with_formulas_neutralised(client, member):
    shop = make_shop('=HYPERLINK("http://evil.test","x")')
    allocate(member)
    row = buy(member, shop, 1250)
    db.session.commit()
    response = client.get("/compte/historique.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Date",
        "Référence",
        "Mouvement",
        "Commerce",
        "Catégorie",
        "Montant (€)",
        "Note",
    ]
    purchase = next(r for r in rows if r[1] == row.reference)
    assert purchase[2] == "Achat" and purchase[5] == "-12,50"
    assert purchase[3] == '\'=HYPERLINK("http://evil.test","x")'
    assert not any(cell.startswith("=") for r in rows for cell in r)


# Contribution


@pytest.mark.parametrize(
    ("typed", "cents"), [("12,50", 1250), ("12.50", 1250), ("12,5", 1250), ("12", 1200), ("0", 0)]
)
def test_the_pledge_accepts_french_amounts(client, member, typed, cents):
    response = _post(client, "/compte/cotisation", {"amount": typed})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, member.id).pledge_cents == cents


@pytest.mark.parametrize(
    "typed", ["-5", "12,505", "douze", "1e3", "99999999999", "<b>12</b>", "x" * 10_000]
)
def test_the_pledge_refuses_bad_amounts_and_keeps_what_was_typed(client, member, typed):
    member.pledge_cents = 700
    db.session.commit()
    response = _post(client, "/compte/cotisation", {"amount": typed})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'class="error"' in body
    assert "<b>12</b>" not in body
    db.session.expire_all()
    assert db.session.get(Member, member.id).pledge_cents == 700


def test_the_pledge_minimum_comes_from_the_association_data(client, member):
    from app.core.settings import set_setting

    set_setting("min_contribution_cents", 300)
    db.session.commit()
    response = _post(client, "/compte/cotisation", {"amount": "2"})
    assert response.status_code == 200 and "3,00\u00a0€" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "shown", "hint"),
    [("fr", "12,50", "Par exemple 12,50"), ("en", "12.50", "For example 12.50")],
)
def test_the_pledge_is_shown_back_in_the_readers_way(client, member, lang, shown, hint):
    member.pledge_cents = 1250
    db.session.commit()
    body = client.get(f"/compte/cotisation?lang={lang}").get_data(as_text=True)
    assert re.search(rf'<input[^>]*name="amount"[^>]*value="{re.escape(shown)}"', body), body
    assert hint in body
    response = _post(
        client, f"/compte/cotisation?lang={lang}", {"amount": shown}
    )  # sent back as shown
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, member.id).pledge_cents == 1250


def test_contributions_recorded_as_paid_are_listed(client, member):
    other = make_member()
    record_contribution(member, 1500, date(2026, 1, 5), "cheque")
    record_contribution(other, 9900, date(2026, 1, 6), "cash")
    db.session.commit()
    body = client.get("/compte/cotisation").get_data(as_text=True)
    assert "15,00\u00a0€" in body and "Chèque" in body
    assert "99,00\u00a0€" not in body


# Card


def test_the_card_shows_name_number_and_a_qr_code_of_the_token(client, member):
    body = client.get("/compte/carte").get_data(as_text=True)
    assert "Odile Perret" in body
    assert f"{member.number[:3]} {member.number[3:]}" in body
    src = re.search(r'<img class="member-card-qr" src="([^"]+)"', body).group(1)
    assert src.startswith("data:image/svg+xml")
    assert src == segno.make(member.card_token, error="m").svg_data_uri(scale=1, border=4)
    svg = urllib.parse.unquote(src.split(",", 1)[1])
    assert "style=" not in svg and "<script" not in svg
    assert member.number not in svg  # the QR holds the token, never the number
    assert 'style="' not in body


def test_a_lost_card_needs_confirmation_then_the_old_qr_stops_at_once(client, member):
    old = member.card_token
    refused = _post(client, "/compte/carte/perdue", {})
    assert refused.status_code == 200 and 'class="error"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, member.id).card_token == old

    response = _post(client, "/compte/carte/perdue", {"confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/compte/carte"
    db.session.expire_all()
    new = db.session.get(Member, member.id).card_token
    assert new != old
    with pytest.raises(LostCard):
        membership.find_by_card_token(old)
    assert membership.find_by_card_token(new).id == member.id
    assert segno.make(new, error="m").svg_data_uri(scale=1, border=4) in client.get(
        "/compte/carte"
    ).get_data(as_text=True)


# PIN


def test_changing_the_pin_asks_the_password_and_unlocks_the_card(client, member):
    member.pin_failures = cards.MAX_PIN_FAILURES
    db.session.commit()
    wrong = _post(
        client, "/compte/pin", {"password": "not my password", "pin": "4826", "pin_confirm": "4826"}
    )
    assert wrong.status_code == 200 and "pas le bon" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert cards.is_locked(db.session.get(Member, member.id))

    response = _post(
        client, "/compte/pin", {"password": PASSWORD, "pin": "4826", "pin_confirm": "4826"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Member, member.id)
    assert not cards.is_locked(fresh)
    cards.verify_pin(fresh, "4826")


@pytest.mark.parametrize(
    ("pin", "confirm"),
    [
        ("12", "12"),
        ("abcd", "abcd"),
        ("1234", "4321"),
        ("١٢٣٤", "١٢٣٤"),
        ("1234", "1234"),
        ("0000", "0000"),
    ],
)
def test_a_bad_new_pin_is_refused(client, member, pin, confirm):
    before = member.pin_hash
    response = _post(
        client, "/compte/pin", {"password": PASSWORD, "pin": pin, "pin_confirm": confirm}
    )
    assert response.status_code == 200 and 'class="error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, member.id).pin_hash == before


def test_wrong_passwords_on_the_pin_page_count_towards_the_login_block(client, member):
    for _ in range(5):
        _post(
            client,
            "/compte/pin",
            {"password": "wrong password", "pin": "4826", "pin_confirm": "4826"},
        )
    response = _post(
        client, "/compte/pin", {"password": PASSWORD, "pin": "4826", "pin_confirm": "4826"}
    )
    assert "Réessayez dans" in response.get_data(as_text=True)


# Personal data


def _shows_number(text: str, number: str) -> bool:
    """Whether `text` shows the member number `number` as a number of its own (not as digits
    inside another one: a pseudonym `m-test00002653` holds "000026")."""
    return re.search(rf"(?<![0-9]){re.escape(number)}(?![0-9])", text) is not None


def test_the_export_holds_own_data_and_ledger_and_nothing_of_others(client, member):
    shop = make_shop()
    allocate(member)
    mine = buy(member, shop, 300)
    other = make_member(first_name="Gaston", email="gaston@example.test")
    allocate(other)
    theirs = buy(other, shop, 700)
    db.session.commit()

    response = client.get("/compte/donnees.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert (
        data["member"]["email"] == "odile@example.test"
        and data["member"]["number"] == member.number
    )
    assert mine.reference in {m["reference"] for m in data["ledger"]["movements"]}
    text = response.get_data(as_text=True)
    assert theirs.reference not in text and "Gaston" not in text
    assert not _shows_number(text, other.number)

    csv_text = client.get("/compte/donnees.csv").get_data().decode("utf-8-sig")
    assert "odile@example.test" in csv_text and mine.reference in csv_text
    assert theirs.reference not in csv_text and "gaston" not in csv_text.lower()


def test_erasure_needs_the_password_then_ends_every_session(app, client, member, auth):
    other_device = app.test_client()
    page = other_device.get("/connexion")
    other_device.post(
        "/connexion",
        data={
            "login": "odile@example.test",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert other_device.get("/compte").status_code == 200

    refused = _post(
        client,
        "/compte/donnees",
        {"password": "wrong password", "confirm": "y"},
        action="/compte/donnees/effacement",
    )
    assert refused.status_code == 200
    unconfirmed = _post(
        client, "/compte/donnees", {"password": PASSWORD}, action="/compte/donnees/effacement"
    )
    assert 'class="error"' in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, member.id).status == "active"

    response = _post(
        client,
        "/compte/donnees",
        {"password": PASSWORD, "confirm": "y"},
        action="/compte/donnees/effacement",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    db.session.expire_all()
    erased = db.session.get(Member, member.id)
    assert (
        erased.status == "erased" and erased.full_name == "Adhérent effacé" and erased.email is None
    )
    assert not db.session.get(User, erased.user_id).is_enabled
    # This browser and the other device are both signed out; nobody signs in any more.
    assert client.get("/compte").status_code == 302
    assert other_device.get("/compte").status_code == 302
    assert auth.login("odile@example.test", PASSWORD).status_code == 401
    assert auth.login(erased.number, PASSWORD).status_code == 401


def test_erasure_keeps_ledger_totals(client, member):
    shop = make_shop()
    allocate(member)
    buy(member, shop, 4200)
    db.session.commit()
    before = ledger.summary()
    balances = dict(
        db.session.execute(db.select(ledger.Account.id, ledger.Account.balance_cents)).all()
    )
    _post(
        client,
        "/compte/donnees",
        {"password": PASSWORD, "confirm": "y"},
        action="/compte/donnees/effacement",
    )
    db.session.expire_all()
    assert db.session.get(Member, member.id).status == "erased"
    assert ledger.summary() == before
    assert (
        dict(db.session.execute(db.select(ledger.Account.id, ledger.Account.balance_cents)).all())
        == balances
    )
    assert list(ledger.verify()) == []


# No other member reachable


def test_account_urls_carry_no_identifier(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("account.")]
    assert rules
    for rule in rules:
        assert not rule.arguments, (
            f"{rule.rule} takes {rule.arguments}: another member could be reached"
        )


def test_query_arguments_do_not_reach_another_member(client, member):
    other = make_member(first_name="Gaston", email="gaston@example.test")
    db.session.commit()
    for url in (
        "/compte",
        "/compte/carte",
        "/compte/historique",
        "/compte/donnees.json",
        "/compte/cotisation",
    ):
        for query in (
            f"?member={other.id}",
            f"?id={other.id}",
            f"?number={other.number}",
            f"?user_id={other.user_id}",
        ):
            # Links echo the query (the language switch): look at the rest of the page.
            body = re.sub(r'href="[^"]*"', "", client.get(url + query).get_data(as_text=True))
            assert "Gaston" not in body and other.card_token not in body, url + query
            assert not _shows_number(body, other.number), url + query


def test_a_member_page_is_private_and_never_cached(client, member):
    response = client.get("/compte")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_member_pages_exist_in_english(client, member):
    expected = {
        "/compte?lang=en": "Available to spend",
        "/compte/historique": "History",
        "/compte/cotisation": "My contribution",
        "/compte/carte": "QR code of your card",
        "/compte/carte/perdue": "Lost card",
        "/compte/pin": "My PIN",
        "/compte/donnees": "Download my data",
    }
    for url, text in expected.items():
        body = client.get(url).get_data(as_text=True)
        assert text in body, url
        assert '<html lang="en">' in body, url
    rows = client.get("/compte/historique.csv").get_data().decode("utf-8-sig").splitlines()
    assert rows[0] == "Date;Reference;Movement;Shop;Category;Amount (€);Note"
