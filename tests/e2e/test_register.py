"""The register in Chromium, on a 10-inch tablet in both orientations: a full sale with the typed
member number, a double click, the balance too low, a lost answer retried with the same key, the
connection banner, keyboards and keypads, no JavaScript, axe (AA, and 7:1 text contrast)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from app.core.extensions import db
from app.ledger import transfers as ledger
from tests.support.axe import assert_no_axe_violations
from tests.support.browser import TABLET, assert_no_console_errors, screenshot
from tests.support.register_page import (
    PIN,
    amount_field,
    assert_keys_are_large,
    charge_button,
    contrast_below_7,
    identify,
    number_field,
    open_register,
    pad,
    pin_field,
    purchases,
    type_sale,
)

TABLETS = [
    pytest.param({"viewport": (1280, 800)}, id="1280x800"),
    pytest.param({"viewport": TABLET}, id="800x1280"),
]


@pytest.mark.parametrize("page", TABLETS, indirect=True)
def test_a_full_sale_with_the_typed_member_number(
    page, login, live_server, live_app, new_member, request
):
    member = new_member(10000)
    open_register(page, login, live_server)
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    identify(page, member)
    assert "100,00" not in page.content()  # never the balance before the sale
    type_sale(page, "12,5")
    expect(amount_field(page)).to_have_value("12,5")
    expect(charge_button(page)).to_be_focused()  # the PIN's 4th digit
    chip = page.locator(".reg-chip").nth(1)
    chip.click()
    expect(chip.locator("input")).to_be_checked()
    expect(pin_field(page)).to_have_value(PIN)
    expect(pin_field(page)).to_have_attribute("type", "password")
    assert_keys_are_large(page)
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    charge_button(page).click()
    receipt = page.get_by_role("heading", level=1)
    expect(receipt).to_have_text(re.compile(r"12,50\s€ payés, reste 87,50\s€"))
    expect(page.locator(".reg-ok-icon")).to_be_visible()  # not colour alone
    shot = screenshot(page, f"register-receipt-{request.node.callspec.id.split('-')[0]}")
    assert shot.exists() and shot.stat().st_size > 1000
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    assert purchases(live_app, member) == [1250]
    # "Next sale": the member's data leave the screen, the number field waits, empty.
    page.get_by_role("link", name="Vente suivante").click()
    expect(number_field(page)).to_have_value("")
    expect(number_field(page)).to_be_focused()
    assert member.short_name not in page.locator("main").inner_text()
    assert_no_console_errors(page)


def test_a_double_click_on_charge_makes_one_sale(page, login, live_server, live_app, new_member):
    member = new_member(10000)
    open_register(page, login, live_server)
    posts = []
    page.on(
        "request",
        lambda r: (
            posts.append(r) if r.method == "POST" and r.url.endswith("/caisse/debit") else None
        ),
    )
    identify(page, member)
    type_sale(page, "5")
    charge_button(page).dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"5,00\s€ payés"))
    page.wait_for_timeout(300)
    assert purchases(live_app, member) == [500]
    assert len(posts) == 1  # the second click hit a disabled button
    assert_no_console_errors(page)


@pytest.mark.parametrize("page", TABLETS, indirect=True)
def test_balance_too_low_debits_what_is_left_in_one_tap(
    page, login, live_server, live_app, new_member
):
    member = new_member(740)
    open_register(page, login, live_server, "caisse3@patias.test")
    identify(page, member)
    type_sale(page, "12,5")
    charge_button(page).click()
    expect(
        page.get_by_text(re.compile(r"Solde insuffisant\s: 7,40\s€ disponibles\."))
    ).to_be_visible()
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    page.get_by_role("button", name=re.compile(r"Débiter 7,40\s€")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"7,40\s€ payés, reste 0,00\s€")
    )
    assert purchases(live_app, member) == [740]
    assert_no_console_errors(page, ignore=(r"status of 422",))


def test_a_lost_answer_is_retried_with_the_same_key(page, login, live_server, live_app, new_member):
    """The sale reaches the server but the answer is lost: the screen says the outcome is being
    checked, sends the same form again, and shows the receipt of the one sale made."""
    member = new_member(10000)
    open_register(page, login, live_server)
    bodies = []

    def lose_first_answer(route):
        bodies.append(parse_qs(route.request.post_data))
        if len(bodies) == 1:
            route.fetch()  # the server makes the sale...
            route.abort("connectionreset")  # ...and the tablet never hears back
        else:
            route.continue_()

    page.route("**/caisse/debit", lose_first_answer)
    identify(page, member)
    type_sale(page, "7,3")
    charge_button(page).click()
    expect(page.locator(".reg-checking")).to_contain_text("vérification du résultat de la vente")
    expect(page.locator("#net-status")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"7,30\s€ payés, reste 92,70\s€"), timeout=15_000
    )
    assert len(bodies) == 2 and bodies[0]["key"] == bodies[1]["key"]
    assert purchases(live_app, member) == [730]
    expect(page.locator("#net-status")).to_be_hidden()
    assert_no_console_errors(
        page,
        ignore=(
            r"ERR_CONNECTION_RESET",
            r"Failed to load resource",
            r"htmx:(afterRequest|sendError)",
        ),
    )


def test_a_lost_connection_is_visible(page, login, live_server):
    open_register(page, login, live_server)
    banner = page.locator("#net-status")
    expect(banner).to_be_hidden()
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Pas de connexion")
    page.context.set_offline(False)
    expect(banner).to_be_hidden()


def test_typos_wrong_pins_and_the_hardware_keyboard(page, login, live_server, live_app, new_member):
    member = new_member(10000)
    open_register(page, login, live_server)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    wrong = member.number[:5] + str((int(member.number[5]) + 1) % 10)
    number_field(page).press_sequentially(wrong)
    expect(page.get_by_text("Ce numéro d’adhérent n’est pas valide")).to_be_visible()
    assert requests == []  # caught at once, in the page
    pad(page, "number", "C")
    identify(page, member)
    # A hardware keyboard types euros as the keypad does, and Backspace takes a key back.
    amount_field(page).focus()
    page.keyboard.type("12,5")
    expect(amount_field(page)).to_have_value("12,5")
    page.keyboard.press("Backspace")
    expect(amount_field(page)).to_have_value("12,")
    pad(page, "amount", "<<<<<")  # more times back than keys: empty
    expect(amount_field(page)).to_have_value("")
    pad(page, "amount", ",5")
    expect(amount_field(page)).to_have_value("0,5")
    pad(page, "pin", "1111")
    charge_button(page).click()
    expect(
        page.get_by_text(re.compile(r"Code PIN erroné\. Essais restants\s: 2\."))
    ).to_be_visible()
    expect(pin_field(page)).to_have_value("")
    expect(pin_field(page)).to_be_focused()
    assert purchases(live_app, member) == []
    assert_no_console_errors(page, ignore=(r"status of 422",))


def test_the_amount_can_be_typed_as_soon_as_the_name_shows(
    page, login, live_server, live_app, new_member
):
    # htmx settles a swap after a delay (20 ms by default, stretched here): the keypads and the
    # keyboard must work from the moment the member's name shows, and must not be bound a second
    # time when the settle comes (each key would then count twice).
    member = new_member(10000)
    open_register(page, login, live_server)
    page.evaluate("htmx.config.defaultSettleDelay = 1500")
    identify(page, member)
    amount_field(page).focus()
    page.keyboard.type("12")
    expect(amount_field(page)).to_have_value("12")
    expect(page.locator("#register")).to_have_class(
        re.compile(r"\bhtmx-settling\b")
    )  # not settled yet
    expect(page.locator("#register")).not_to_have_class(
        re.compile(r"\bhtmx-settling\b"), timeout=5000
    )
    page.keyboard.type(",5")
    expect(amount_field(page)).to_have_value("12,5")
    pad(page, "amount", "<")
    expect(amount_field(page)).to_have_value("12,")


def test_the_register_works_without_javascript(make_page, live_server, live_app, new_member):
    from tests.support.browser import login

    member = new_member(10000)
    page = make_page(java_script_enabled=False)
    login(page, live_server, "caisse2@patias.test")
    page.goto(live_server + "/caisse")
    expect(page.get_by_role("button", name="Scanner la carte")).to_be_hidden()
    number_field(page).fill(member.number)
    page.get_by_role("button", name="Continuer").click()
    amount_field(page).fill("3,20")
    pin_field(page).fill(PIN)
    charge_button(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"3,20\s€ payés, reste 96,80\s€")
    )
    assert purchases(live_app, member) == [320]
    # Reloading the receipt page posts the same form again: a replay, not a second sale.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"3,20\s€ payés, reste 96,80\s€")
    )
    assert purchases(live_app, member) == [320]


def test_the_scanner_is_loaded_only_when_asked_for(page, login, live_server):
    loaded = []
    page.on("request", lambda r: loaded.append(r.url) if "qr-scanner" in r.url else None)
    open_register(page, login, live_server)
    page.wait_for_load_state("networkidle")
    assert loaded == []
    page.get_by_role("button", name="Scanner la carte").click()
    page.wait_for_timeout(1500)
    assert any(
        re.search(r"/static/vendor/qr-scanner/qr-scanner\.min\.[0-9a-f]{12}\.js$", url)
        for url in loaded
    )
    # Headless Chromium has no camera: the cashier is told to type the number instead.
    expect(page.get_by_text("La caméra n’est pas disponible")).to_be_visible()
    expect(number_field(page)).to_be_focused()


def test_the_sound_is_off_until_turned_on_and_remembered(page, login, live_server):
    open_register(page, login, live_server)
    sound = page.get_by_role("button", name="Son")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_role("button", name="Son")).to_have_attribute("aria-pressed", "true")
    assert_no_console_errors(page)


@pytest.mark.parametrize("page", TABLETS, indirect=True)
def test_sales_cancellation_and_report_pages(page, login, live_server, live_app, new_member):
    member = new_member(10000)
    open_register(page, login, live_server, "caisse3@patias.test")
    identify(page, member)
    type_sale(page, "9,9")
    charge_button(page).click()
    reference = page.locator(".reg-ref").inner_text()
    page.get_by_role("link", name="Ventes du jour").click()
    expect(page.get_by_role("cell", name=reference, exact=True)).to_be_visible()
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    page.get_by_role("link", name=f"Annuler la vente {reference}").click()
    assert_no_axe_violations(page)
    pad(page, "pin", PIN)
    page.get_by_role("button", name="Annuler la vente et rembourser").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Vente {reference} annulée")
    assert purchases(live_app, member) == [990]
    with live_app.app_context():
        assert ledger.balance(ledger.member_account(member)) == 10000
        db.session.rollback()
    page.get_by_role("link", name="Rapport du jour").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rapport du jour")
    assert_no_axe_violations(page)
    assert contrast_below_7(page) == []
    page.emulate_media(media="print")
    expect(page.locator(".reg-header")).to_be_hidden()
    assert_no_console_errors(page, ignore=(r"status of 422",))


def qr_video(text: str, path, width: int = 640, height: int = 480, scale: int = 8) -> None:
    """A few frames of raw video (YUV4MPEG2) showing a card's QR code, for Chromium's fake camera."""
    import segno

    rows = [list(row) for row in segno.make(text, error="m").matrix]
    quiet, side = 4, (len(rows) + 8) * scale
    luma = bytearray([235]) * (width * height)
    left, top = (width - side) // 2, (height - side) // 2
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + (r + quiet) * scale + dy) * width + left + (c + quiet) * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            handle.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


def test_scanning_the_card_identifies_the_member(
    browser, live_server, live_app, new_member, tmp_path
):
    """The card's QR code in front of a (fake) camera: qr-scanner, loaded on demand from our
    static files with its worker, reads the token and the sale step opens."""
    from tests.support.browser import CHROMIUM_ARGS, login

    member = new_member(10000)
    with live_app.app_context():
        from app.members.models import Member

        token = db.session.get(Member, member.id).card_token
        db.session.rollback()
    video = tmp_path / "card.y4m"
    qr_video(token, video)
    camera = browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera.new_context(viewport={"width": 800, "height": 1280}, locale="fr-FR")
        context.grant_permissions(["camera"], origin=live_server)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        login(page, live_server, "caisse2@patias.test")
        page.goto(live_server + "/caisse")
        page.get_by_role("button", name="Scanner la carte").click()
        expect(page.get_by_text(member.short_name)).to_be_visible(timeout=20_000)
        expect(amount_field(page)).to_be_focused()
        assert errors == []
    finally:
        camera.close()


def test_a_sale_without_answer_times_out_and_is_checked_again(
    page, login, live_server, live_app, new_member
):
    """The server is slow to answer (more than the 8-second timeout): the tablet gives up on that
    request, says it is checking, and sends the same sale again, which shows the one sale made."""
    member = new_member(10000)
    open_register(page, login, live_server)
    keys = []

    def slow_first_answer(route):
        keys.append(parse_qs(route.request.post_data)["key"])
        if len(keys) == 1:
            response = route.fetch()  # the sale is made...
            page.wait_for_timeout(9_000)  # ...but the answer comes after the tablet's timeout
            route.fulfill(response=response)
        else:
            route.continue_()

    page.route("**/caisse/debit", slow_first_answer)
    identify(page, member)
    type_sale(page, "4,15")
    charge_button(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"4,15\s€ payés, reste 95,85\s€"), timeout=30_000
    )
    assert len(keys) == 2 and keys[0] == keys[1]
    assert purchases(live_app, member) == [415]


def test_an_expired_form_token_brings_a_fresh_register(page, login, live_server):
    """A whole error page (the CSRF token refused) is not squeezed into the register: the page
    reloads, nothing was charged, and the cashier starts again."""
    open_register(page, login, live_server)
    page.evaluate(
        """() => document.body.setAttribute('hx-headers', '{"X-CSRFToken": "expired"}')"""
    )
    with page.expect_navigation():
        number_field(page).fill("000018")  # a valid 6th digit sends the number by itself
    expect(page.get_by_role("heading", name="Qui paie ?")).to_be_visible()
    page.wait_for_load_state("load")
    expect(number_field(page)).to_be_focused()
    assert page.locator("#register h1").count() == 1
    assert_no_console_errors(page, ignore=(r"status of 400", r"Error Code 400"))


@pytest.mark.parametrize("page", [{"viewport": (390, 844)}], indirect=True)
def test_the_connection_banner_stays_on_screen_on_a_phone(
    page, login, live_server, live_app, new_member
):
    member = new_member(10000)
    open_register(page, login, live_server)
    identify(page, member)
    page.context.set_offline(True)
    charge_button(page).scroll_into_view_if_needed()
    banner = page.locator("#net-status")
    expect(banner).to_be_visible()
    # The sale step fits a phone's screen (issue 17): the banner and Débiter both in view;
    # were the page scrolled, the banner would stick to its top.
    top = banner.evaluate("b => b.getBoundingClientRect().top")
    assert top == 0 if page.evaluate("window.scrollY") > 0 else 0 <= top < 130
    assert charge_button(page).evaluate("b => b.getBoundingClientRect().bottom") <= 844
    page.context.set_offline(False)
