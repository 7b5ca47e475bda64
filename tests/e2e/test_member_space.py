"""A member in Chromium: signs in, sees the balance, the history and the card; axe-core finds no
WCAG 2.2 AA violation on any member page (nor on their error states), at desktop and phone size.

The live server's demo data is shared by the whole browser session: these tests change nothing
in it (no lost card, no pledge saved), they only read and submit forms that are refused.
"""

from __future__ import annotations

import re

import pytest
from babel.dates import get_month_names
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, TABLET, assert_no_console_errors

MEMBER_PAGES = [
    "/compte",
    "/compte/historique",
    "/compte/cotisation",
    "/compte/carte",
    "/compte/carte/perdue",
    "/compte/pin",
    "/compte/donnees",
    "/compte/appareils",
]
AUTH_PAGES = ["/connexion", "/mot-de-passe-oublie", "/activation", "/activation/not-a-valid-token"]
# A wrong link answers 400 (Chromium logs the status of the page itself as a failed load).
BAD_STATUS = (r"status of 400",)


def _demo_member(live_app, number: str):
    """The demo member's balance (formatted as the page does) and name, read from the server's database."""
    from flask_babel import force_locale

    from app.core.extensions import db
    from app.core.i18n import money
    from app.members import membership
    from app.members.models import Member

    with live_app.test_request_context("/"), force_locale("fr"):
        member = db.session.scalar(db.select(Member).where(Member.number == number))
        facts = {
            "balance": money(membership.current_balance(member)),
            "name": member.full_name,
            "first_name": member.first_name,
        }
        db.session.remove()
    return facts


def test_a_member_logs_in_and_sees_balance_history_and_card(page, live_server, live_app, login):
    facts = _demo_member(live_app, "000018")
    login(page, "membre1@patias.test")
    expect(page).to_have_url(f"{live_server}/compte")
    expect(page.get_by_role("heading", level=1)).to_contain_text(facts["first_name"])
    balance = page.locator("#balance")
    expect(balance).to_have_text(facts["balance"])
    # The balance is the biggest text of the page.
    sizes = page.evaluate("""() => {
        const b = parseFloat(getComputedStyle(document.querySelector('#balance')).fontSize);
        const h1 = parseFloat(getComputedStyle(document.querySelector('h1')).fontSize);
        return [b, h1];
    }""")
    assert sizes[0] > sizes[1], sizes
    expect(page.get_by_text("Prochaine allocation")).to_be_visible()

    page.get_by_role("navigation", name="Mon compte").get_by_role("link", name="Historique").click()
    expect(page).to_have_url(f"{live_server}/compte/historique")
    expect(page.get_by_role("heading", level=1, name="Historique")).to_be_visible()
    expect(page.get_by_role("cell", name="Allocation mensuelle").first).to_be_visible()
    # A French month name and a year ("Décembre 2026"): the browser's `\w` does not match "é".
    months = "|".join(name.capitalize() for name in get_month_names("wide", locale="fr").values())
    expect(page.locator("section.month h2").first).to_have_text(
        re.compile(rf"^({months}) \d{{4}}$")
    )
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Tout télécharger")).click()
    assert download.value.suggested_filename == "patias-historique-000018.csv"

    page.get_by_role("navigation", name="Mon compte").get_by_role("link", name="Ma carte").click()
    card = page.locator(".member-card")
    expect(card).to_contain_text(facts["name"])
    expect(card).to_contain_text("000 018")
    qr = page.get_by_role("img", name="QR code de votre carte")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", qr.element_handle())
    expect(
        page.get_by_role("button", name="Imprimer ma carte")
    ).to_be_visible()  # shown by account.js
    assert_no_console_errors(page)


def test_the_card_prints_at_bank_card_size(page, live_server, login):
    login(page, "membre1@patias.test")
    page.goto(f"{live_server}/compte/carte")
    page.emulate_media(media="print")
    box = page.locator(".member-card").bounding_box()
    millimetre = 96 / 25.4  # CSS pixels
    assert abs(box["width"] - 85.60 * millimetre) < 1.5, box
    assert abs(box["height"] - 53.98 * millimetre) < 1.5, box
    expect(page.locator(".account-nav")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()


def test_a_member_without_email_logs_in_with_the_member_number(page, live_server, login):
    login(page, "000 026")
    expect(page).to_have_url(f"{live_server}/compte")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def test_a_typo_in_the_number_is_explained_next_to_the_field(page, live_server, login):
    login(page, "000027")
    field = page.get_by_label("E-mail ou numéro d’adhérent")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#login-error")).to_have_text(re.compile("pas valide"))
    assert_no_axe_violations(page)


@pytest.mark.parametrize("viewport", [(1280, 800), PHONE, TABLET])
def test_axe_finds_nothing_on_any_member_page(make_page, live_server, login, viewport):
    page = make_page(viewport=viewport)
    login(page, "membre1@patias.test")
    for path in MEMBER_PAGES:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        assert_no_axe_violations(page)
        # Nothing wider than the screen (phones scroll vertically only).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the {viewport} screen"
    assert_no_console_errors(page)


def test_on_a_phone_the_amounts_of_the_history_are_on_screen(make_page, live_server, login):
    """At 390 px the history's shop and category go under the movement: the amount column,
    the figure members look for, needs no sideways scroll. On a tablet they keep their columns."""
    page = make_page(viewport=PHONE)
    login(page, "membre1@patias.test")
    page.goto(f"{live_server}/compte/historique")
    width = page.evaluate("window.innerWidth")
    amounts = page.locator("section.month td.num")
    assert amounts.count() > 0
    for index in range(min(amounts.count(), 8)):
        box = amounts.nth(index).bounding_box()
        assert box["x"] + box["width"] <= width, (index, box, width)
    expect(page.get_by_role("columnheader", name="Commerce").first).to_be_hidden()
    sale = page.locator("section.month tr", has=page.locator(".narrow-only")).first
    expect(sale.locator(".narrow-only")).to_be_visible()
    expect(sale.locator(".narrow-only")).not_to_be_empty()

    tablet = make_page(viewport=TABLET)
    login(tablet, "membre1@patias.test")
    tablet.goto(f"{live_server}/compte/historique")
    expect(tablet.get_by_role("columnheader", name="Commerce").first).to_be_visible()
    expect(tablet.locator("section.month .narrow-only").first).to_be_hidden()


def test_axe_finds_nothing_on_member_forms_with_errors(page, live_server, login):
    login(page, "membre1@patias.test")
    page.goto(f"{live_server}/compte/cotisation")
    amount = page.get_by_label("Cotisation mensuelle (€)")
    amount.fill("12,505")
    page.get_by_role("button", name="Enregistrer ma cotisation").click()
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_have_value("12,505")  # what was typed is kept
    assert_no_axe_violations(page)

    page.goto(f"{live_server}/compte/pin")
    page.get_by_label("Votre mot de passe").fill("patias-demo")
    page.get_by_label("Nouveau code PIN (4 chiffres)").fill("4826")
    page.get_by_label("Le même code PIN, une seconde fois").fill("4862")
    page.get_by_role("button", name="Enregistrer mon nouveau code").click()
    expect(page.locator("#pin_confirm-error")).to_have_text(
        "Les deux codes PIN ne sont pas identiques."
    )
    assert_no_axe_violations(page)

    page.goto(f"{live_server}/compte/carte/perdue")
    page.get_by_role("button", name="Bloquer mon ancienne carte et en faire une nouvelle").click()
    expect(page.locator("#confirm-error")).to_have_text("Cochez la case pour confirmer.")
    assert_no_axe_violations(page)

    page.goto(f"{live_server}/compte/donnees")
    page.get_by_role("button", name="Effacer mes données et fermer mon compte").click()
    expect(page.locator(".error").first).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", [(1280, 800), PHONE])
def test_axe_finds_nothing_on_the_sign_in_and_activation_pages(make_page, live_server, viewport):
    page = make_page(viewport=viewport)
    for path in AUTH_PAGES:
        page.goto(live_server + path)
        assert_no_axe_violations(page)
    page.goto(f"{live_server}/activation")
    page.get_by_role("button", name="Activer mon compte").click()
    expect(page.locator(".error").first).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_console_errors(page, ignore=BAD_STATUS)


def test_the_member_space_works_without_javascript(make_page, live_server):
    page = make_page(java_script_enabled=False)
    page.goto(f"{live_server}/connexion")
    page.locator("input[name=login]").fill("membre3@patias.test")
    page.locator("input[name=password]").fill("patias-demo")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{live_server}/compte")
    page.goto(f"{live_server}/compte/historique")
    expect(page.get_by_role("heading", level=1, name="Historique")).to_be_visible()
    page.goto(f"{live_server}/compte/carte")
    expect(page.get_by_role("img", name="QR code de votre carte")).to_be_visible()
    # Without JavaScript the print button stays hidden and the page says how to print.
    expect(page.get_by_role("button", name="Imprimer ma carte")).to_be_hidden()
    expect(page.get_by_text(re.compile("commande Imprimer"))).to_be_visible()


def test_sign_out_of_every_device_by_keyboard_without_javascript(make_page, live_server):
    page = make_page(java_script_enabled=False)
    page.goto(f"{live_server}/connexion")
    page.locator("input[name=login]").fill("membre3@patias.test")
    page.locator("input[name=password]").fill("patias-demo")
    remember = page.get_by_label("Rester connecté sur cet appareil")
    remember.focus()
    page.keyboard.press("Space")
    expect(remember).to_be_checked()
    page.keyboard.press("Tab")  # to the "Se connecter" button
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/compte")
    cookie = next(c for c in page.context.cookies() if c["name"] == "session")
    assert cookie["expires"] > 0  # remembered: a cookie that outlives the browser
    page.get_by_role("link", name="Mes appareils").click()
    expect(page.get_by_text("(cet appareil)")).to_be_visible()
    button = page.get_by_role("button", name="Se déconnecter de tous les appareils")
    button.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/connexion")
    expect(page.get_by_text("Vous êtes déconnecté de tous les appareils")).to_be_visible()
    page.goto(f"{live_server}/compte")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))


def test_another_member_is_not_reachable_and_staff_pages_are_refused(page, live_server, login):
    login(page, "membre1@patias.test")
    response = page.goto(f"{live_server}/caisse")
    assert response.status == 403
    response = page.goto(f"{live_server}/admin/")
    assert response.status == 403
    page.goto(f"{live_server}/compte?member=2")
    expect(page.locator("#balance")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("000026")
