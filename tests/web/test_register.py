"""The register at /caisse through the test client: identify, debit, every refusal, bad input,
idempotency, the merchant's status, the lookup limit, the session of a market day, the logs."""

from __future__ import annotations

import logging
import re
import time as time_module

import pytest
from sqlalchemy import event, func, select, text

from app.core.database import start_writing
from app.core.extensions import db as _db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.models import Member
from tests.support.factories import make_cashier, make_member, make_merchant, make_user
from tests.support.http import csrf_from, hidden
from tests.support.register import PIN, balance_of, charge, fund, identify, sale_form

HX = {"HX-Request": "true"}


def purchases() -> int:
    return _db.session.scalar(
        select(func.count()).select_from(Transfer).where(Transfer.kind == "purchase")
    )


@pytest.fixture
def shop(app):
    merchant = make_merchant(name="Ferme du Test")
    cashier = make_cashier(merchant, email="caisse@example.test")
    _db.session.commit()
    return merchant, cashier


@pytest.fixture
def member(app):
    person = make_member(first_name="Camille", last_name="Rivière", pin=PIN)
    fund(person, 10000)
    _db.session.commit()
    return person


@pytest.fixture
def till(client, auth, shop):
    """The test client signed in as the shop's cashier."""
    response = auth.login("caisse@example.test")
    assert response.status_code == 302
    return client


def receipt_of(response) -> str:
    """The receipt region of a response (a whole page also holds a per-request CSRF token)."""
    html = response.get_data(as_text=True)
    match = re.search(r'<section class="reg-receipt".*?</section>', html, re.S)
    assert match, html[:500]
    return match.group(0)


# --- access ------------------------------------------------------------------------------------


def test_the_register_is_for_cashiers_only(app, client, auth, shop):
    assert client.get("/caisse").status_code == 302
    assert "/connexion" in client.get("/caisse").headers["Location"]
    make_member(email="m@example.test")
    make_user("admin", email="admin@example.test")
    _db.session.commit()
    for email in ("m@example.test", "admin@example.test"):
        auth.login(email)
        assert client.get("/caisse").status_code == 403
        assert client.get("/caisse/ventes").status_code == 403
        assert client.get("/caisse/rapport").status_code == 403
        auth.logout()
    assert auth.login("caisse@example.test").headers["Location"].endswith("/caisse")
    assert client.get("/caisse").status_code == 200


def test_the_register_page_has_the_fields_and_lock_button(till):
    html = till.get("/caisse").get_data(as_text=True)
    assert "Numéro d’adhérent" in html
    assert "Scanner la carte" in html
    assert "Verrouiller / se déconnecter" in html
    assert re.search(r'href="/static/css/register\.[0-9a-f]{12}\.css"', html)
    assert re.search(r'src="/static/js/register\.[0-9a-f]{12}\.js"', html)
    assert (
        'qr-scanner.min.js"' not in html.split("data-scanner=")[0]
    )  # only named, never loaded upfront
    assert '<script src="/static/vendor/qr-scanner' not in html


def test_english_names_of_the_fields(till, member):
    html = till.get("/caisse?lang=en").get_data(as_text=True)
    assert ">Member number</label>" in html
    form = identify(till, member.number).get_data(as_text=True)
    assert ">Amount</label>" in form and ">PIN</label>" in form and ">Charge</button>" in form


# --- a full sale -------------------------------------------------------------------------------


def test_a_full_sale_without_javascript(app, till, member, shop):
    merchant, cashier = shop
    response = identify(till, member.number)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html  # a whole page: this works with plain forms
    assert "Camille R." in html and "Rivière" not in html
    assert "100,00" not in html  # never the balance before the sale
    assert 'name="pin"' in html and 'type="password"' in html and 'inputmode="numeric"' in html
    assert (
        ">Débiter</button>" in html and ">Montant</label>" in html and ">Code PIN</label>" in html
    )
    fields = {
        "csrf_token": csrf_from(html),
        "member": hidden(html, "member"),
        "key": hidden(html, "key"),
    }
    fruit = next(c for c in merchant.categories if c.slug == "fruits-legumes")
    receipt = charge(till, fields, amount="12,50", category=str(fruit.id))
    body = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert "12,50\u00a0€ payés, reste 87,50\u00a0€" in body
    assert "Vente suivante" in body
    sale = _db.session.scalars(select(Transfer).where(Transfer.kind == "purchase")).one()
    assert sale.reference in body
    assert (
        sale.amount_cents == 1250 and sale.category_id == fruit.id and sale.actor_id == cashier.id
    )
    assert balance_of(member) == 8750
    assert ledger.balance(ledger.merchant_account(merchant)) == 1250
    assert list(ledger.verify()) == []


def test_htmx_gets_fragments(till, member):
    page = till.get("/caisse").get_data(as_text=True)
    # The register's forms inherit the target, the double-tap guard, the money timeout and
    # leave the CSRF field to the X-CSRFToken header; the sale form waits in a template.
    region = re.search(r'<div id="register"[^>]*>', page).group(0)
    for attribute in (
        'hx-target="#register"',
        'data-sending="Envoi en cours…"',  # register.js's double-tap guard says it
        "hx-request='{\"timeout\": 8000}'",
        'hx-params="not csrf_token"',
    ):
        assert attribute in region
    # Not htmx's guard: `find button` disabled the keypad's "1" key instead of "Débiter".
    assert "hx-disabled-elt" not in region
    template = page[page.index('<template id="sale-template">') :]
    assert 'hx-post="/caisse/debit"' in template and "data-money" in template
    step = identify(till, member.number, headers=HX)
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and "<html" not in html and len(html) < 300
    assert 'data-name="Camille R."' in html and "Rivière" not in html
    assert "HX-Request" in step.headers["Vary"]
    fields = {
        "member": re.search(r'data-member="([^"]+)"', html).group(1),
        "key": re.search(r'data-key="([^"]+)"', html).group(1),
    }
    # htmx leaves the CSRF field out and sends the header.
    receipt = charge(till, fields, headers={**HX, "X-CSRFToken": csrf_from(page)})
    body = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert "<html" not in body and "data-sale-done" in body and len(body) < 700


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("12,50", 1250), ("12.50", 1250), ("12,5", 1250), ("12", 1200), (" 7,05 € ", 705)],
)
def test_amounts_typed_as_people_do(till, member, typed, cents):
    fields = sale_form(till, member.number)
    assert charge(till, fields, amount=typed).status_code == 200
    assert balance_of(member) == 10000 - cents


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_key_twice_moves_money_once_and_shows_the_same_receipt(till, member):
    fields = sale_form(till, member.number)
    first = charge(till, fields, amount="20")
    # Another sale in between: the replayed receipt still shows the balance left after the first.
    other = sale_form(till, member.number)
    assert charge(till, other, amount="5").status_code == 200
    again = charge(till, fields, amount="20")
    assert first.status_code == again.status_code == 200
    assert receipt_of(first) == receipt_of(again)
    assert "reste 80,00" in receipt_of(again)
    # As htmx asks for it: the very same bytes.
    assert (
        charge(till, fields, amount="20", headers=HX).get_data()
        == charge(till, fields, amount="20", headers=HX).get_data()
    )
    assert purchases() == 2
    assert balance_of(member) == 7500


def test_the_same_key_with_another_amount_shows_the_recorded_sale(till, member):
    """Edited while its answer was awaited: never "start again" for a sale that went through,
    but the receipt of the sale recorded, and what differed."""
    fields = sale_form(till, member.number)
    first = charge(till, fields, amount="20")
    assert first.status_code == 200
    for headers in ({}, HX):
        conflict = charge(till, fields, amount="21", category="1", headers=headers)
        html = conflict.get_data(as_text=True)
        assert conflict.status_code == 200, html
        reference = re.search(r'class="reg-ref">([^<]+)<', receipt_of(first)).group(1)
        assert f'class="reg-ref">{reference}<' in receipt_of(conflict)
        assert "20,00\u00a0€ payés, reste 80,00\u00a0€" in html
        assert "Cette vente était déjà enregistrée" in html
        assert "Le montant envoyé à nouveau (21,00\u00a0€) n’a pas été enregistré." in html
        assert "La catégorie envoyée à nouveau n’a pas été enregistrée." in html
        assert "recommencer" not in html
    assert purchases() == 1 and balance_of(member) == 8000


def test_a_retry_with_a_wrong_pin_after_the_sale_still_shows_the_receipt(till, member):
    """The replay does not ask the PIN again: the sale was made, the screen must say so."""
    fields = sale_form(till, member.number)
    first = charge(till, fields, amount="20")
    again = charge(till, fields, amount="20", pin="0000")
    assert again.status_code == 200 and receipt_of(again) == receipt_of(first)
    assert _db.session.get(Member, member.id).pin_failures == 0


def test_another_cashiers_key_never_replays_this_cashiers_sale(
    app, client, auth, till, member, shop
):
    fields = sale_form(till, member.number)
    assert charge(till, fields, amount="20").status_code == 200
    make_cashier(shop[0], email="caisse-bis@example.test")
    _db.session.commit()
    auth.logout()
    auth.login("caisse-bis@example.test")
    mine = sale_form(client, member.number)
    # The other cashier reuses the first cashier's key with their own member reference.
    response = charge(client, {**mine, "key": fields["key"]}, amount="20")
    assert response.status_code == 200
    assert purchases() == 2 and balance_of(member) == 6000


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "supérieur à zéro"),
        ("-5", "négatif"),
        ("12,345", "deux décimales"),
        ("abc", "en euros"),
        ("1e3", "en euros"),
        ("", "Saisissez un montant"),
        ("99999", "trop élevé"),
        ("1" * 10_000, "40 caractères"),
        ("12\x00,50", "en euros"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_debited(till, member, typed, message):
    fields = sale_form(till, member.number)
    response = charge(till, fields, amount=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error" id="amount-error"' in html
    error = re.search(r'id="amount-error">([^<]*)<', html).group(1)
    assert message.lower() in error.lower(), error
    assert purchases() == 0 and balance_of(member) == 10000
    assert _db.session.get(Member, member.id).pin_failures == 0
    # What was typed is kept, the PIN is not sent back.
    assert 'name="pin" type="password" value=""' in html or 'name="pin" type="password"' in html
    assert PIN not in html


@pytest.mark.parametrize("category", ["999", "abc", "<b>"])
def test_a_category_not_offered_is_refused(till, member, category):
    response = charge(till, sale_form(till, member.number), category=category)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(
        r'<legend>Catégorie \(facultatif\)</legend>.*<p class="error">[^<]+</p></fieldset>', html
    )
    assert purchases() == 0


def test_the_largest_single_sale_is_association_data(app, till, member):
    from app.core.settings import set_setting

    set_setting("max_sale_cents", 2000)
    _db.session.commit()
    fields = sale_form(till, member.number)
    assert charge(till, fields, amount="20,01").status_code == 422
    assert charge(till, fields, amount="20").status_code == 200


@pytest.mark.parametrize("pin", ["123", "12345", "", "abcd", "12 4"])
def test_a_pin_that_is_not_four_digits_is_refused_without_counting(till, member, pin):
    fields = sale_form(till, member.number)
    response = charge(till, fields, pin=pin)
    assert response.status_code == 422
    assert "Le code PIN a 4 chiffres." in response.get_data(as_text=True)
    assert _db.session.get(Member, member.id).pin_failures == 0 and purchases() == 0


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("12345", "6 chiffres"),
        ("abcdef", "6 chiffres"),
        ("000019", "n’est pas valide"),
        ("999995", "Aucun adhérent n’a ce numéro."),
        ("<b>1</b>" * 2000, "6 chiffres"),
    ],
)
def test_unknown_or_mistyped_member_numbers(till, member, number, message):
    response = identify(till, number)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "<b>1</b>" not in html  # what was typed comes back escaped


def test_a_typo_is_not_counted_against_the_lookup_limit(app, till, member):
    app.config["REGISTER_LOOKUP_LIMIT"] = 2
    try:
        for _ in range(5):
            assert identify(till, "000019").status_code == 422
        assert identify(till, member.number).status_code == 200
    finally:
        app.config.pop("REGISTER_LOOKUP_LIMIT")


def test_member_lookups_are_rate_limited_per_cashier(app, client, auth, till, member, shop):
    app.config["REGISTER_LOOKUP_LIMIT"] = 3
    try:
        for _ in range(3):
            assert identify(till, member.number).status_code == 200
        refused = identify(till, member.number)
        assert refused.status_code == 429
        assert "Trop de recherches d’adhérents depuis cette caisse" in refused.get_data(
            as_text=True
        )
        # Another cashier has a limit of their own.
        make_cashier(shop[0], email="caisse-ter@example.test")
        _db.session.commit()
        auth.logout()
        auth.login("caisse-ter@example.test")
        assert identify(client, member.number).status_code == 200
    finally:
        app.config.pop("REGISTER_LOOKUP_LIMIT")


# --- the card ----------------------------------------------------------------------------------


def test_the_cards_qr_token_identifies_the_member(till, member):
    page = till.get("/caisse")
    response = till.post(
        "/caisse/membre",
        data={
            "card": f"https://patias.test/carte/{member.card_token}",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 200 and "Camille R." in response.get_data(as_text=True)


def test_a_lost_cards_old_qr_no_longer_pays(till, member):
    from app.members import membership

    old = member.card_token
    membership.report_lost_card(member)
    _db.session.commit()
    page = till.get("/caisse")
    response = till.post(
        "/caisse/membre", data={"card": old, "csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "déclarée perdue" in html
    assert (
        'name="card" type="hidden" value=""' in html
    )  # the old token is not kept for the next try


def test_a_suspended_member_cannot_pay(till, member):
    member.status = "suspended"
    _db.session.commit()
    response = identify(till, member.number)
    assert response.status_code == 422
    assert "adhésion est suspendue" in response.get_data(as_text=True)


def test_a_member_without_pin_cannot_pay(till):
    person = make_member(pin=None)
    _db.session.commit()
    response = identify(till, person.number)
    assert response.status_code == 422 and "pas encore activée" in response.get_data(as_text=True)


def test_wrong_pins_give_the_attempts_left_then_lock_the_card(till, member):
    fields = sale_form(till, member.number)
    first = charge(till, fields, pin="0000")
    assert first.status_code == 422
    assert "Essais restants\u00a0: 2." in first.get_data(as_text=True)
    assert _db.session.get(Member, member.id).pin_failures == 1
    assert "Essais restants\u00a0: 1." in charge(till, fields, pin="0001").get_data(as_text=True)
    locked = charge(till, fields, pin="0002")
    assert locked.status_code == 422
    assert "bloquée" in locked.get_data(as_text=True) and "contact@patias.test" in locked.get_data(
        as_text=True
    )
    # Even the right PIN does not pay now, and the lock shows at identification.
    assert charge(till, fields, pin=PIN).status_code == 422
    assert purchases() == 0 and balance_of(member) == 10000
    refused = identify(till, member.number)
    assert refused.status_code == 422 and "bloquée" in refused.get_data(as_text=True)


def test_a_right_pin_resets_the_attempts(till, member):
    fields = sale_form(till, member.number)
    charge(till, fields, pin="0000")
    assert charge(till, fields).status_code == 200
    assert _db.session.get(Member, member.id).pin_failures == 0


# --- balance too low -------------------------------------------------------------------------


def test_balance_too_low_offers_to_debit_exactly_what_is_left(till, member):
    fields = sale_form(till, member.number)
    assert charge(till, fields, amount="92,60").status_code == 200  # 7,40 € left
    fields = sale_form(till, member.number)
    short = charge(till, fields, amount="12,50")
    html = short.get_data(as_text=True)
    assert short.status_code == 422
    assert "Solde insuffisant\u00a0: 7,40\u00a0€ disponibles." in html
    assert "Débiter 7,40\u00a0€" in html
    assert PIN not in html
    offer = html[
        html.index('<div class="reg-short"') : html.index('<form class="reg-step reg-sale"')
    ]
    data = {
        name: hidden(offer, name)
        for name in ("csrf_token", "member", "key", "approval", "amount", "category")
    }
    assert data["key"] != fields["key"] and data["amount"] == "7,40"
    paid = till.post("/caisse/debit", data=data)
    assert paid.status_code == 200
    assert "7,40\u00a0€ payés, reste 0,00\u00a0€" in paid.get_data(as_text=True)
    assert balance_of(member) == 0 and purchases() == 2
    # The one-tap offer serves once: posting it again replays, moving nothing.
    assert receipt_of(till.post("/caisse/debit", data=data)) == receipt_of(paid)
    assert purchases() == 2


def test_the_offer_only_debits_the_amount_it_was_made_for(till, member):
    fields = sale_form(till, member.number)
    charge(till, fields, amount="92,60")
    fields = sale_form(till, member.number)
    html = charge(till, fields, amount="12,50").get_data(as_text=True)
    offer = html[
        html.index('<div class="reg-short"') : html.index('<form class="reg-step reg-sale"')
    ]
    data = {
        name: hidden(offer, name)
        for name in ("csrf_token", "member", "key", "approval", "category")
    }
    tampered = till.post("/caisse/debit", data={**data, "amount": "7,39"})
    assert tampered.status_code == 422  # without a valid approval the PIN is asked
    assert purchases() == 1 and balance_of(member) == 740


def test_nothing_left_says_so_without_an_offer(till, member):
    fields = sale_form(till, member.number)
    charge(till, fields, amount="100")
    fields = sale_form(till, member.number)
    html = charge(till, fields, amount="1").get_data(as_text=True)
    assert "Solde insuffisant\u00a0: 0,00\u00a0€ disponibles." in html and "Débiter 0" not in html


# --- the merchant ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "since", "message"),
    [
        ("suspended", "2025-01-01", "a suspendu le conventionnement"),
        ("pending", None, "pas encore conventionné"),
        ("active", None, "pas encore conventionné"),
    ],
)
def test_only_a_conventioned_active_merchant_can_debit(till, member, shop, status, since, message):
    from datetime import date

    fields = sale_form(till, member.number)
    merchant = shop[0]
    merchant.status = status
    merchant.conventioned_since = date.fromisoformat(since) if since else None
    _db.session.commit()
    page = till.get("/caisse")
    assert page.status_code == 403 and message in page.get_data(as_text=True)
    assert identify(till, member.number).status_code == 403
    refused = charge(till, fields)
    assert refused.status_code == 403 and message in refused.get_data(as_text=True)
    assert purchases() == 0 and balance_of(member) == 10000


def test_a_suspended_shop_is_told_whom_to_contact_and_checks_again(till, shop):
    from app.core.settings import association

    shop[0].status = "suspended"
    _db.session.commit()
    page = till.get("/caisse")
    html = page.get_data(as_text=True)
    contact = association()
    assert page.status_code == 403 and "data-closed" in html
    assert contact["contact_phone"] in html and contact["contact_email"] in html
    assert "<h1" in html.split('class="reg-notice"')[1]


def test_the_sale_step_has_an_h1_a_hint_and_no_pin_cut(till, member):
    html = identify(till, member.number).get_data(as_text=True)
    sale = html[html.index('class="reg-step reg-sale"') :]
    assert '<h1 class="reg-title">Adhérent' in sale
    # A hint, never a placeholder that looks like an amount already typed.
    assert "placeholder" not in sale and "ex. 12,50" in sale
    assert 'aria-describedby="amount-hint"' in sale
    # A 5th digit is refused (server and register.js), never cut by maxlength.
    pin = re.search(r'<input[^>]*name="pin"[^>]*>', sale).group(0)
    assert 'maxlength="4"' not in pin


def test_a_cashier_without_merchant_cannot_debit(client, auth, member):
    make_user("cashier", email="lost@example.test")
    _db.session.commit()
    auth.login("lost@example.test")
    response = client.get("/caisse")
    assert (
        response.status_code == 403
        and "Ce compte n’est la caisse d’aucun commerce" in response.get_data(as_text=True)
    )


def test_a_member_reference_is_bound_to_its_cashier(client, auth, till, member, shop):
    fields = sale_form(till, member.number)
    make_cashier(shop[0], email="caisse-4@example.test")
    _db.session.commit()
    auth.logout()
    auth.login("caisse-4@example.test")
    csrf = csrf_from(client.get("/caisse").get_data(as_text=True))
    stolen = charge(client, {**fields, "csrf_token": csrf})
    assert stolen.status_code == 422 and "Identifiez de nouveau" in stolen.get_data(as_text=True)
    forged = charge(client, {**fields, "csrf_token": csrf, "member": "WzEsMl0.forged.sig"})
    assert forged.status_code == 422
    assert purchases() == 0


def test_the_sale_step_needs_csrf(till, member):
    fields = sale_form(till, member.number)
    response = charge(till, {**fields, "csrf_token": "nope"})
    assert response.status_code == 400 and purchases() == 0


def test_names_are_escaped(till):
    person = make_member(first_name="<script>x</script>", last_name="<b>", pin=PIN)
    fund(person, 1000)
    _db.session.commit()
    html = identify(till, person.number).get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


# --- session, lock, logs -----------------------------------------------------------------------


def test_the_cashier_session_and_csrf_token_last_a_market_day(app, till, member, monkeypatch):
    import itsdangerous.timed

    fields = sale_form(till, member.number)
    # 13 hours later, the same page's token and session still work.
    later = time_module.time() + 13 * 3600
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    response = charge(till, fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert app.permanent_session_lifetime.total_seconds() >= 12 * 3600
    assert app.config["WTF_CSRF_TIME_LIMIT"] >= 12 * 3600


def test_the_session_cookie_is_permanent_for_a_market_day(till):
    response = till.get("/caisse")
    cookie = till.get_cookie("session")
    assert cookie is not None and cookie.expires is not None
    assert cookie.expires.timestamp() - time_module.time() >= 12 * 3600
    assert response.headers["Cache-Control"] == "no-store"


def test_lock_signs_the_cashier_out(till):
    page = till.get("/caisse").get_data(as_text=True)
    lock = re.search(
        r'action="/caisse/verrouiller"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
        page,
    )
    response = till.post("/caisse/verrouiller", data={"csrf_token": lock.group(1)})
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert till.get("/caisse").status_code == 302
    assert till.get("/caisse/verrouiller").status_code == 405


def test_no_pin_in_the_logs(app, till, member, caplog):
    caplog.set_level(logging.DEBUG)
    fields = sale_form(till, member.number)
    charge(till, fields, pin="0000")
    charge(till, fields)
    sale = _db.session.scalars(select(Transfer).where(Transfer.kind == "purchase")).one()
    page = till.get(f"/caisse/ventes/{sale.id}/annuler").get_data(as_text=True)
    till.post(
        f"/caisse/ventes/{sale.id}/annuler",
        data={"csrf_token": csrf_from(page), "key": hidden(page, "key"), "pin": PIN},
    )
    assert any("sale" in record.getMessage() for record in caplog.records)  # the register does log
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(getattr(record, "__dict__", ""))
        assert PIN not in text and "0000" not in text, record.getMessage()


# --- the write lock (app/core/database.py, `@reads_first`) -------------------------------------------
# On SQLite the sale reads the signed-in user, the form's checks and the member in a deferred
# (read) transaction; the `BEGIN IMMEDIATE` that follows holds only the PIN attempt, the ledger's
# statements and the commit. A write before `start_writing()` in such a view raises instead of
# upgrading a read transaction (SQLITE_BUSY_SNAPSHOT when another writer got in between).


def _record_statements(engine) -> tuple[list[str], callable]:
    """Every statement the database runs, as SQLite's trace callback sees them (the ledger's own
    SQL goes to the driver directly, past SQLAlchemy's events); elsewhere SQLAlchemy's."""
    statements: list[str] = []

    def record(statement: str) -> None:
        statements.append(" ".join(statement.split())[:60])

    if engine.dialect.name == "sqlite":

        def checkout(dbapi_connection, _record, _proxy):
            dbapi_connection.set_trace_callback(record)

        def checkin(dbapi_connection, _record):
            dbapi_connection.set_trace_callback(None)

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)

        def stop() -> None:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)

        return statements, stop

    def before(_conn, _cursor, statement, _params, _context, _many):
        record(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


def test_a_sale_reads_before_it_takes_the_write_lock(app, engine_name, shop, till, member):
    # A first sale creates the shop's account: record a later one, as most of a market day's.
    assert charge(till, sale_form(till, member.number), amount="1,00").status_code == 200
    fields = sale_form(till, member.number)
    # The tests share one session with the requests: start the sale from none, as a server does.
    _db.session.commit()
    _db.session.remove()
    statements, stop = _record_statements(_db.engine)
    try:
        response = charge(till, fields, amount="3,00", headers={"HX-Request": "true"})
    finally:
        stop()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if engine_name != "sqlite":
        assert not any(s.startswith("BEGIN") for s in statements)  # PostgreSQL: one transaction
        return
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    assert [statements[i] for i in begins] == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"], statements
    # The read transaction ends just before the write transaction begins, on the same connection.
    assert statements[begins[1] - 1] == "COMMIT", statements
    reads, writes = statements[begins[0] + 1 : begins[1] - 1], statements[begins[1] + 1 :]
    # The cashier and their sign-in, read by hand in one query (`@light_user`): no ORM load.
    assert any(s.startswith("SELECT u.id, u.role") for s in reads), reads
    assert not any(s.startswith("SELECT user.") for s in statements), statements
    assert any(s.startswith("SELECT m.status, m.pin_hash") for s in reads), reads  # the member
    assert any("idempotency_key" in s for s in reads), reads  # the key was not used yet
    assert all(s.startswith("SELECT") for s in reads), reads
    # The write transaction starts with the PIN attempt and reads no user, form data or member.
    assert writes[0].startswith("UPDATE member SET pin_failures"), writes
    read_again = [
        s
        for s in writes
        if s.startswith("SELECT")
        and any(t in s for t in ("user.", "u.role", "m.status", "FROM setting", "category"))
    ]
    assert read_again == [], writes
    assert any(s.startswith("INSERT INTO transfer") for s in writes), writes
    assert writes[-1] == "COMMIT", writes
    assert len(writes) <= 11, writes


def test_a_write_before_start_writing_raises_on_sqlite(app, engine_name):
    update = text("UPDATE member SET pin_failures = pin_failures WHERE id = 0")
    with app.test_request_context("/caisse/debit", method="POST"):
        if engine_name == "sqlite":
            with pytest.raises(RuntimeError, match="start_writing"):
                _db.session.execute(update)
        else:  # PostgreSQL has no read phase: one transaction, row locks
            assert _db.session.execute(update).rowcount == 0
        _db.session.rollback()
        start_writing(_db.session)
        assert _db.session.execute(update).rowcount == 0  # after start_writing, writes go through
        _db.session.rollback()
