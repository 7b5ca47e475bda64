"""From `flask ssa init` to the first allocation of a new association, in Chromium: the
coordinator signs in with the password and the authenticator's code printed by `init`, fills
the settings page (identity, bank account, allocation of 80 € without a cap), adds the
communes, and runs the month's allocation from its page. axe-core finds no WCAG 2.2 AA
violation on each page visited, at 1280x800 and at phone size (390x844)."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import expect

from app.core.calendar import Month
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.members.models import Commune, Member
from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE
from tests.support.factories import make_member
from tests.support.first_run import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BANK,
    COMMUNES,
    IDENTITY,
)

DESKTOP = (1280, 800)


def _accessible_at_both_sizes(page) -> None:
    for width, height in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": height})
        assert_no_axe_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})


def _submit(page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f"form[action*='{action}'] button[type=submit]").last.click()


def test_a_coordinator_goes_from_init_to_the_first_allocation(fresh_server, page):
    base, app, secret = fresh_server
    month = str(Month.current())

    # Password, then the first code of the authenticator app confirms the second factor.
    page.goto(f"{base}/connexion")
    page.locator("input[name=login]").fill(ADMIN_EMAIL)
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/securite/inscription"))
    assert_no_axe_violations(page)
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Confirmer").click()
    expect(page).to_have_url(re.compile(r"/admin/"))

    # The settings page.
    page.goto(f"{base}/admin/parametres")
    _accessible_at_both_sizes(page)
    for name, value in IDENTITY.items():
        page.locator(f"#identity [name={name}]").fill(value.replace("\r\n", "\n"))
    _submit(page, "/parametres/identite")
    expect(page.locator(".flash, [role=status], .notice").first).to_be_visible()
    for name, value in BANK.items():
        page.locator(f"#bank [name={name}]").fill(value)
    _submit(page, "/parametres/banque")
    page.locator("#allocation [name=amount]").fill("80")
    page.locator("#allocation [name=start]").fill(month)
    page.locator("#allocation input[name=rule][value=none]").check()
    with page.expect_navigation():
        page.locator("#allocation button[value=save]").click()
    expect(page.locator("#allocation")).to_contain_text("80,00")
    _accessible_at_both_sizes(page)

    # The communes, one by one.
    page.goto(f"{base}/admin/parametres/communes")
    _accessible_at_both_sizes(page)
    for commune in COMMUNES:
        page.locator("form [name=name]").first.fill(commune["name"])
        page.locator("form [name=postcode]").first.fill(commune["postcode"])
        with page.expect_navigation():
            page.locator("form:has([name=postcode]) button[type=submit]").first.click()
        expect(page.locator("main")).to_contain_text(commune["name"])
    _accessible_at_both_sizes(page)

    # A member of the new association (approved on the members' pages in
    # tests/web/test_other_association.py; made directly here to keep the browser on the path).
    with app.app_context():
        crest = db.session.scalar(db.select(Commune).filter_by(name="Crest"))
        member_id = make_member(first_name="Camille", commune_id=crest.id).id
        db.session.commit()
        db.session.remove()

    # The month's allocation, from its page.
    page.goto(f"{base}/admin/allocations")
    expect(page.locator("#preview-to-credit")).to_have_text("1")
    expect(page.locator("#preview-total")).to_have_text(re.compile(r"80,00\s€"))
    _accessible_at_both_sizes(page)
    with page.expect_navigation():
        page.locator("form[action$='/admin/allocations'] button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("1 adhérent crédité, 80,00")
    expect(page.locator("#preview-credited")).to_have_text("1")
    _accessible_at_both_sizes(page)
    with app.app_context():
        assert ledger.balance(ledger.member_account(db.session.get(Member, member_id))) == 8_000
        db.session.remove()

    # The public home page is the new association's.
    page.goto(f"{base}/")
    expect(page.locator("main")).to_contain_text("SSA Vallée Verte")
    expect(page.locator("main")).to_contain_text("Dans 3 communes")
    expect(page.locator("main")).not_to_contain_text("Boën")
    _accessible_at_both_sizes(page)
