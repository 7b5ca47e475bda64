"""The settings page `/admin/parametres` in Chromium, on a phone (390x844) and a PC (1280x800):
no WCAG 2.2 AA violation found by axe-core on the page, on its preview of the next allocation,
and on a refused form; the page never scrolls sideways. Nothing is saved, so the shared live
server's settings stay as the other tests expect them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import admin_login, assert_no_console_errors

BAD_STATUS = (r"status of 409", r"status of 422")
FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize(
    "page",
    [{"viewport": (390, 844)}, {"viewport": (1280, 800)}],
    indirect=True,
    ids=["phone", "pc"],
)
def test_the_settings_page_and_its_preview_pass_axe(page, live_server, live_app):
    admin_login(page, live_server, live_app)
    page.goto(live_server + "/admin/parametres")
    expect(page.get_by_role("heading", name="Paramètres", level=1)).to_be_visible()
    assert_no_axe_violations(page)
    assert page.evaluate(FITS)

    # The preview of a lower amount: the figures, and the confirmation it asks for.
    page.get_by_label("Allocation mensuelle par membre (€)").fill("40")
    with page.expect_navigation():
        page.get_by_role("button", name="Aperçu").click()
    expect(page.locator("#preview-table")).to_be_visible()
    expect(page.locator("#preview-total")).to_contain_text("€")
    assert_no_axe_violations(page)
    assert page.evaluate(FITS)

    # Saved without ticking the confirmation: refused next to the checkbox, nothing saved.
    if page.locator("#confirm").count():
        with page.expect_navigation():
            page.get_by_role("button", name="Enregistrer les règles d’allocation").click()
        expect(page.locator("#confirm-error")).to_be_visible()
        assert_no_axe_violations(page)

    # A wrong IBAN: the message next to the field, what was typed kept.
    page.goto(live_server + "/admin/parametres#bank")
    page.get_by_label("IBAN").fill("FR76 3000 1000 0000 0000 1234 548")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer le compte bancaire").click()
    expect(page.locator("#iban-error")).to_be_visible()
    expect(page.get_by_label("IBAN")).to_have_value("FR76 3000 1000 0000 0000 1234 548")
    assert_no_axe_violations(page)
    assert page.evaluate(FITS)
    assert_no_console_errors(page, ignore=BAD_STATUS)


def test_the_preview_works_with_the_keyboard_and_without_javascript(
    make_page, live_server, live_app
):
    page = make_page(viewport=(390, 844), java_script_enabled=False)
    admin_login(page, live_server, live_app)
    page.goto(live_server + "/admin/parametres")
    amount = page.get_by_label("Allocation mensuelle par membre (€)")
    amount.fill("150")
    amount.press("Enter")  # the form's first button: the preview
    page.wait_for_load_state()
    expect(page.locator("#preview-table")).to_be_visible()
    expect(page.get_by_label("Allocation mensuelle par membre (€)")).to_have_value("150")
