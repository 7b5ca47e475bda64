"""The register in Chromium: its fields, keypads and buttons, and what the ledger holds of a
member's purchases (for tests/e2e/test_register*.py; `PIN` is the e2e members' PIN)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from tests.support.axe import assert_no_axe_violations

PIN = "2468"
KEY_MIN_PX = 57  # 15 mm on a 10-inch 1280x800 tablet


def purchases(live_app, member) -> list[int]:
    """Amounts of the member's purchases, as the ledger holds them."""
    with live_app.app_context():
        account = ledger.member_account(member)
        amounts = list(
            db.session.scalars(
                select(Transfer.amount_cents).where(
                    Transfer.source_id == account.id, Transfer.kind == "purchase"
                )
            )
        )
        db.session.rollback()
        return amounts


def open_register(page, login, live_server, cashier="caisse2@patias.test"):
    login(page, cashier)
    page.goto(live_server + "/caisse")
    expect(page.get_by_role("heading", name="Qui paie ?")).to_be_visible()


def number_field(page):
    return page.get_by_role("textbox", name="Numéro d’adhérent")


def amount_field(page):
    return page.get_by_role("textbox", name="Montant")


def pin_field(page):
    return page.get_by_label("Code PIN")


NAMED_KEYS = {"<": "back", "C": "clear"}


def pad(page, field_id: str, keys):
    """Tap keys of the keypad beside a field: digits, "," (the cents), "<" (back), "C" (clear)."""
    for key in keys:
        page.locator(f"[data-pad-slot={field_id}] [data-key='{NAMED_KEYS.get(key, key)}']").click()


def identify(page, member):
    # Half on the keypad, half on a keyboard: both type into the same field; a 6th digit with
    # a valid check digit goes on by itself.
    pad(page, "number", member.number[:3])
    number_field(page).press_sequentially(member.number[3:])
    expect(page.get_by_text(member.short_name)).to_be_visible()


def type_sale(page, amount_keys: str, pin: str = PIN):
    pad(page, "amount", amount_keys)
    pad(page, "pin", pin)


def charge_button(page):
    return page.get_by_role("button", name="Débiter", exact=True)


def assert_keys_are_large(page):
    sizes = page.locator(".pad-key").evaluate_all(
        "keys => keys.map(k => [k.offsetWidth, k.offsetHeight])"
    )
    assert sizes, "no keypad on the screen"
    small = [size for size in sizes if min(size) < KEY_MIN_PX]
    assert not small, f"keys smaller than {KEY_MIN_PX} CSS px: {small}"


def contrast_below_7(page) -> list[dict]:
    """axe's AAA text-contrast rule (7:1), which the register promises for reading in the sun."""
    assert_no_axe_violations(page)  # also loads axe into the page
    return page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast-enhanced']}, resultTypes: ['violations']})"
        ".then(r => r.violations)"
    )
