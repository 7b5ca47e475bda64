"""The association's lists in Chromium (communes, categories, pickup points, markets): an admin
adds a commune with a 4-digit postcode, sees the message next to the field with what was typed
kept, corrects it; axe-core finds no WCAG 2.2 AA violation on each page, its error state and an
edit page, at desktop and phone size, and no page scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, admin_login

PAGES = (
    "/admin/parametres/communes",
    "/admin/parametres/categories",
    "/admin/parametres/points-de-covoiturage",
    "/admin/parametres/marches",
)

VIEWPORTS = pytest.mark.parametrize(
    "page",
    [{"viewport": (1280, 800)}, {"viewport": PHONE}],
    indirect=True,
    ids=["desktop", "phone"],
)


def _fits(page) -> None:
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


@VIEWPORTS
def test_the_lists_have_no_axe_violations_with_their_error_states(page, live_server, live_app):
    admin_login(page, live_server, live_app)
    for path in PAGES:
        page.goto(live_server + path)
        _fits(page)
        # The add form sent empty: the error state.
        page.locator("form.form button[type=submit]").last.click()
        expect(page.locator("#form-errors")).to_be_visible()
        _fits(page)
        page.goto(live_server + path)
        edit = page.locator("table.data a[href*='/admin/parametres/']").first
        if edit.count():
            edit.click()
            expect(page.locator("h1")).to_be_visible()
            _fits(page)


@pytest.mark.parametrize("page", [{"viewport": PHONE}], indirect=True, ids=["phone"])
def test_a_commune_with_a_four_digit_postcode_then_corrected(page, live_server, live_app):
    admin_login(page, live_server, live_app)
    page.goto(live_server + "/admin/parametres/communes")
    page.get_by_label("Nom", exact=True).fill("Saint-Bonnet-le-Courreau")
    page.get_by_label("Code postal").fill("4299")
    page.get_by_role("button", name="Ajouter la commune").click()
    expect(page.locator("#postcode-error")).to_contain_text("5 chiffres")
    expect(page.get_by_label("Nom", exact=True)).to_have_value("Saint-Bonnet-le-Courreau")
    expect(page.get_by_label("Code postal")).to_have_value("4299")
    page.get_by_label("Code postal").fill("42940")
    page.get_by_role("button", name="Ajouter la commune").click()
    expect(page.locator(".flash-success")).to_contain_text("Saint-Bonnet-le-Courreau")
    expect(page.locator("#communes-table")).to_contain_text("42940")
