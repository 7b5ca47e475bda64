"""The register in the field (issue 17), in Chromium with touch and a keyboard: a sale sent is
locked until its answer and a retry sends what was sent; the keys of an amount mean what the
server reads; Débiter says at once it was taken; the receipt stays; the taps of a sale; the
phone's layout; axe-core and a screenshot (test-artifacts/) in every state of the register."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from app.core.extensions import db
from app.core.i18n import money
from app.merchants.models import Merchant
from tests.support.amounts import KEYED_AMOUNTS, MAX_CENTS
from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, TABLET, screenshot
from tests.support.register_page import (
    PIN,
    amount_field,
    charge_button,
    contrast_below_7,
    identify,
    number_field,
    open_register,
    pad,
    pin_field,
    purchases,
)

TOUCH = {"has_touch": True}


def french(live_app, msgid: str, **values) -> str:
    with live_app.test_request_context("/"), force_locale("fr"):
        return gettext(msgid, **values)


# --- 1. locked while pending ------------------------------------------------------------------


def test_a_sale_awaiting_its_answer_cannot_be_changed(
    make_page, login, live_server, live_app, new_member
):
    """The first answer is lost (the sale is made), the retry too: meanwhile the amount, a chip,
    the PIN, the keypads and the keyboard change nothing, the retries send exactly what was sent,
    and the receipt of the one sale made shows."""
    page = make_page(viewport=TABLET, **TOUCH)
    member = new_member(10000)
    open_register(page, login, live_server)
    bodies = []

    def lose_two_answers(route):
        bodies.append(parse_qs(route.request.post_data))
        if len(bodies) == 1:
            route.fetch()  # the sale is made...
            route.abort("connectionreset")  # ...and the answer lost
        elif len(bodies) == 2:
            route.abort("connectionreset")  # the retry lost on its way
        else:
            route.continue_()

    page.route("**/caisse/debit", lose_two_answers)
    identify(page, member)
    pad(page, "amount", "7,3")
    page.locator(".reg-chip").nth(1).tap()
    pad(page, "pin", PIN)
    charge_button(page).tap()
    expect(page.locator(".reg-checking")).to_contain_text("vérification du résultat de la vente")
    # Everything that could change the sale, tried while it is checked:
    amount_field(page).press("9", timeout=2000) if amount_field(page).is_visible() else None
    page.keyboard.type("99")
    page.locator("[data-pad-slot=amount] [data-key='5']").tap(
        force=True, timeout=2000, no_wait_after=True
    )
    page.locator(".reg-chip").nth(2).tap(force=True, timeout=2000, no_wait_after=True)
    page.locator(".reg-chip").nth(2).click(force=True, timeout=2000, no_wait_after=True)
    expect(amount_field(page)).to_have_value("7,3")
    expect(page.locator(".reg-chip").nth(1).locator("input")).to_be_checked()
    expect(pin_field(page)).to_have_value(PIN)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"7,30\s€ payés, reste 92,70\s€"), timeout=20_000
    )
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2], bodies
    assert purchases(live_app, member) == [730]


def test_a_retry_with_other_values_shows_the_sale_that_was_recorded(
    page, login, live_server, live_app, new_member
):
    """A register that let the amount change (an older page, another tab): the server finds the
    key with other values and answers with the recorded sale's receipt and what differed."""
    member = new_member(10000)
    open_register(page, login, live_server)
    bodies = []

    def edited_retry(route):
        bodies.append(route.request.post_data)
        if len(bodies) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            form = parse_qs(route.request.post_data)
            form["amount"] = ["9,99"]
            route.continue_(post_data=urlencode(form, doseq=True))

    page.route("**/caisse/debit", edited_retry)
    identify(page, member)
    pad(page, "amount", "7,3")
    pad(page, "pin", PIN)
    charge_button(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"7,30\s€ payés, reste 92,70\s€"), timeout=15_000
    )
    notice = page.locator(".reg-changed")
    expect(notice).to_contain_text("Cette vente était déjà enregistrée")
    expect(notice).to_contain_text(re.compile(r"Le montant envoyé à nouveau \(9,99\s€\)"))
    expect(page.get_by_text("Rechargez la page")).to_have_count(0)
    assert purchases(live_app, member) == [730]
    assert_no_axe_violations(page)


# --- 2. one meaning per keystroke ---------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in KEYED_AMOUNTS])
def test_amount_keys_mean_what_the_server_reads(
    page, login, live_server, live_app, new_member, case
):
    member = new_member(10000)
    open_register(page, login, live_server)
    identify(page, member)
    field = amount_field(page)
    field.focus()
    error = page.locator("#amount-error")
    words = case.message and french(live_app, case.message, max=money(MAX_CENTS))
    for index, key in enumerate(case.keys):  # key by key, as a hardware keyboard sends them
        page.keyboard.press(key)
        if case.keys[: index + 1] == case.refused:  # refused at once, in the server's words
            expect(error).to_have_text(words)
            expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value(case.shown)
    if not case.message:
        expect(error).to_have_count(0)
    # The keypad: the same keys, the same text (it has digits and the comma).
    if set(case.keys) <= set("0123456789,."):
        field.press("Escape")  # clears, as the keypad has no room for C
        pad(page, "amount", case.keys.replace(".", ","))
        expect(field).to_have_value(case.shown)
    # Pasted in one go: the same words when the server would refuse it.
    field.fill(case.keys)
    if case.message:
        expect(error).to_have_text(words)


def test_a_pin_of_five_digits_is_refused_never_cut(page, login, live_server, live_app, new_member):
    member = new_member(10000)
    open_register(page, login, live_server)
    identify(page, member)
    pad(page, "amount", "2")
    pin_field(page).focus()
    page.keyboard.type(PIN)
    expect(charge_button(page)).to_be_focused()
    page.keyboard.press("7")  # a 5th digit, typed on
    expect(page.locator("#pin-error")).to_have_text("Le code PIN a 4 chiffres.")
    pad(page, "pin", "7")  # and on the keypad
    expect(pin_field(page)).to_have_value(PIN)
    expect(page.locator("#pin-error")).to_have_text("Le code PIN a 4 chiffres.")
    assert purchases(live_app, member) == []
    # Three digits: the server refuses them, nothing is charged.
    pad(page, "pin", "<")
    charge_button(page).click()
    expect(page.get_by_text("Le code PIN a 4 chiffres.")).to_be_visible()
    assert purchases(live_app, member) == []


# --- 3. Débiter taken, 4. the receipt stays ---------------------------------------------------


def test_charge_says_at_once_it_was_taken_and_the_receipt_stays(
    page, login, live_server, live_app, new_member
):
    member = new_member(10000)
    open_register(page, login, live_server)
    release = []

    def held(route):
        release.append(route)

    page.route("**/caisse/debit", held)
    identify(page, member)
    pad(page, "amount", "3")
    pad(page, "pin", PIN)
    keys_before = page.locator("[data-pad-slot] .pad-key").evaluate_all(
        "keys => keys.map(k => getComputedStyle(k).opacity + k.disabled)"
    )
    page.keyboard.press("Enter")  # Débiter is focused after the PIN: Enter presses it
    sending = page.locator(".reg-charge")
    expect(sending).to_be_disabled()
    expect(sending).to_have_text("Envoi en cours…")
    assert sending.evaluate("b => getComputedStyle(b, '::before').content") == '""'  # the spinner
    assert (
        page.locator("[data-pad-slot] .pad-key").evaluate_all(
            "keys => keys.map(k => getComputedStyle(k).opacity + k.disabled)"
        )
        == keys_before
    )  # keypads as they were: not one of them greyed
    screenshot(page, "register-field-sending")
    page.wait_for_timeout(100)
    release[0].continue_()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"3,00\s€ payés"))
    for _ in range(3):  # a stray Enter, again and again, in the first 1.5 s
        page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"3,00\s€ payés"))
    page.wait_for_timeout(1500)
    page.keyboard.press("Enter")  # later, on the focused "Vente suivante": the next sale
    expect(number_field(page)).to_be_visible()
    assert purchases(live_app, member) == [300]


# --- 5. taps ----------------------------------------------------------------------------------


def test_the_taps_of_a_sale_by_typed_number(make_page, login, live_server, live_app, new_member):
    page = make_page(viewport=TABLET, **TOUCH)
    member = new_member(10000)
    open_register(page, login, live_server)
    taps = 0

    def tap(locator):
        nonlocal taps
        taps += 1
        locator.tap()

    for digit in member.number:
        tap(page.locator(f"[data-pad-slot=number] [data-key='{digit}']"))
    expect(page.get_by_text(member.short_name)).to_be_visible()  # no "Continuer"
    for key in "12,5":
        tap(page.locator(f"[data-pad-slot=amount] [data-key='{key}']"))
    for digit in PIN:
        tap(page.locator(f"[data-pad-slot=pin] [data-key='{digit}']"))
    expect(charge_button(page)).to_be_focused()
    assert purchases(live_app, member) == []  # never a sale without an explicit Débiter
    tap(charge_button(page))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"12,50\s€ payés"))
    # 6 digits + 4 keys + 4 PIN digits + Débiter: 15 (17 before); see the report for 13.
    assert taps == 15
    assert purchases(live_app, member) == [1250]


# --- 6. layout, axe and a screenshot in every state ------------------------------------------


def suspended_cashier(live_app) -> tuple[str, int]:
    from tests.support.factories import make_cashier, make_merchant

    with live_app.app_context():
        merchant = make_merchant(status="suspended", name="Ferme suspendue")
        cashier = make_cashier(merchant, email=f"suspendue{merchant.id}@patias.test")
        db.session.commit()
        ids = cashier.email, merchant.id
        db.session.rollback()
    return ids


def locked_member(live_app, new_member):
    from app.members.models import Member

    member = new_member(1000)
    with live_app.app_context():
        db.session.get(Member, member.id).pin_failures = 3
        db.session.commit()
    return member


def check_state(page, name: str, viewport) -> None:
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    assert page.locator("h1").count() == 1, name
    size = f"{viewport[0]}x{viewport[1]}"
    shot = screenshot(page, f"register-state-{size}-{name}")
    assert shot.exists()
    if viewport == PHONE:
        header = page.locator(".reg-header").bounding_box()
        assert header["height"] <= 0.15 * PHONE[1], f"{name}: header {header['height']} px"
        # Every key and every message on the screen without scrolling.
        hidden = page.evaluate(
            """() => [...document.querySelectorAll('#register .pad-key, #register button, #register .reg-checking, #register .error, #net-status:not([hidden]), #register h1')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.textContent.trim(), e.getBoundingClientRect().bottom])
              .filter(([, bottom]) => bottom > window.innerHeight)"""
        )
        assert hidden == [], f"{name}: below the fold {hidden}"
    else:
        small = page.evaluate(
            """() => [...document.querySelectorAll('.reg-header a, .reg-header button, .reg-header summary, .reg-chip, .reg-link, .reg-btn, .pad-key')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().height), Math.round(e.getBoundingClientRect().width)])
              .filter(([, h, w]) => Math.min(h, w) < 57)"""
        )
        assert small == [], f"{name}: targets under 57 px {small}"


@pytest.mark.parametrize(
    "viewport", [pytest.param(TABLET, id="800x1280"), pytest.param(PHONE, id="390x844")]
)
def test_every_state_of_the_register(make_page, login, live_server, live_app, new_member, viewport):
    page = make_page(viewport=viewport, **TOUCH)
    member = new_member(10000)
    poor = new_member(500)
    open_register(page, login, live_server, "caisse3@patias.test")
    check_state(page, "identify", viewport)
    identify(page, member)
    check_state(page, "sale", viewport)
    pad(page, "amount", "2,5")
    pad(page, "pin", "1357")
    charge_button(page).click()
    expect(page.get_by_text(re.compile("Code PIN erroné"))).to_be_visible()
    check_state(page, "wrong-pin", viewport)
    pad(page, "pin", PIN)
    charge_button(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"2,50\s€ payés"))
    check_state(page, "receipt", viewport)
    page.wait_for_timeout(1600)
    page.get_by_role("link", name="Vente suivante").click()
    identify(page, poor)
    pad(page, "amount", "9")
    pad(page, "pin", PIN)
    charge_button(page).click()
    expect(page.get_by_text(re.compile("Solde insuffisant"))).to_be_visible()
    check_state(page, "balance-too-low", viewport)
    page.get_by_role("link", name="Changer d’adhérent").click()
    # Checking: the answer is lost; then offline while checking.
    lost = [True]
    page.route(
        "**/caisse/debit",
        lambda route: route.abort("connectionreset") if lost[0] else route.continue_(),
    )
    identify(page, member)
    pad(page, "amount", "1")
    pad(page, "pin", PIN)
    charge_button(page).click()
    expect(page.locator(".reg-checking")).to_contain_text("vérification")
    check_state(page, "checking", viewport)
    page.context.set_offline(True)
    expect(page.locator("#net-status")).to_contain_text("Pas de connexion")
    check_state(page, "offline", viewport)
    lost[0] = False
    page.context.set_offline(False)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"1,00\s€ payés"), timeout=15_000
    )
    page.wait_for_timeout(1600)
    page.get_by_role("link", name="Vente suivante").click()
    pad(page, "number", locked_member(live_app, new_member).number)
    expect(page.get_by_text(re.compile("carte est bloquée"))).to_be_visible()
    check_state(page, "locked-card", viewport)
    page.goto(live_server + "/caisse/ventes")
    check_state(page, "sales", viewport)
    page.locator(".table-wrap").focus()  # the table scrolls from the keyboard
    expect(page.locator(".table-wrap[role=region][tabindex='0']")).to_be_focused()
    page.get_by_role("link", name=re.compile("Annuler la vente")).first.click()
    check_state(page, "cancel", viewport)
    page.goto(live_server + "/caisse/rapport")
    check_state(page, "report", viewport)
    # A suspended shop: the association's contact, and the register checks again by itself.
    email, merchant_id = suspended_cashier(live_app)
    other = make_page(viewport=viewport, **TOUCH)
    login(other, email)
    other.goto(live_server + "/caisse")
    expect(other.locator("[data-closed]")).to_be_visible()
    with live_app.app_context():
        from app.core.settings import association

        phone = association()["contact_phone"]
    expect(other.locator("[data-closed]")).to_contain_text(phone)
    check_state(other, "suspended-merchant", viewport)
    with live_app.app_context():
        db.session.get(Merchant, merchant_id).status = "active"
        db.session.commit()
    other.context.set_offline(True)
    other.context.set_offline(False)  # back online: the register looks again by itself
    expect(other.get_by_role("heading", name="Qui paie ?")).to_be_visible(timeout=10_000)
