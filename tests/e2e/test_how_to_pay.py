"""How to pay, in Chromium: a member sees the association's bank details, their reference and the
places; the EPC QR code, photographed from the page (an element screenshot) and read with
zxing-cpp, holds the association's IBAN, the pledge and the reference. axe-core finds no WCAG 2.2
AA violation on each new state (with and without a pledge, the application's confirmation, the
activation letter) at phone and desktop size.

The live server's demo data is shared by the whole session: these tests only add (an
application, a member without e-mail for the letter), never change what others read.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, assert_no_console_errors
from tests.support.qr import decode_png, epc_fields

DESKTOP = (1280, 800)
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
IBAN = "FR7630001000000000001234549"
IBAN_GROUPED = "FR76 3000 1000 0000 0000 1234 549"
_unique = itertools.count(1)


def _member_facts(live_app, email: str) -> dict:
    from app.core.extensions import db
    from app.members import payment
    from app.members.models import Member

    with live_app.app_context():
        member = db.session.scalar(db.select(Member).where(Member.email == email))
        facts = {
            "number": member.number,
            "pledge_cents": member.pledge_cents,
            "reference": payment.payment_reference(member.number),
        }
        db.session.remove()
    return facts


def _read_qr(page) -> dict:
    qr = page.locator("section.how-to-pay .epc-qr")
    expect(qr).to_be_visible()
    qr.scroll_into_view_if_needed()
    [payload] = decode_png(qr.screenshot())
    return epc_fields(payload)


@SIZES
def test_a_member_sees_how_to_pay_and_the_qr_code_reads_back(make_page, live_app, login, size):
    facts = _member_facts(live_app, "membre1@patias.test")
    assert facts["pledge_cents"] > 0
    page = make_page(viewport=size)
    login(page, "membre1@patias.test")
    page.get_by_role("navigation", name="Mon compte").get_by_role(
        "link", name="Cotisation", exact=True
    ).click()
    section = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(section).to_be_visible()
    expect(section.locator(".pay-iban")).to_have_text(IBAN_GROUPED)
    expect(section.locator(".pay-reference")).to_have_text(facts["reference"])
    expect(section.get_by_text("Mairie de Boën-sur-Lignon", exact=False)).to_be_visible()
    expect(section.get_by_role("img", name=re.compile(facts["reference"]))).to_be_visible()

    fields = _read_qr(page)
    assert fields["service"] == "BCD" and fields["identification"] == "SCT"
    assert fields["iban"] == IBAN and fields["bic"] == "BDFEFRPP"
    assert fields["name"] == "SSA PATIAS"
    euros, cents = divmod(facts["pledge_cents"], 100)
    expected = f"EUR{euros}" + (f".{cents:02d}".rstrip("0") if cents else "")
    assert fields["amount"] == expected
    assert fields["text"] == facts["reference"] == f"PATIAS {facts['number']}"

    # Nothing wider than the screen, large text for the bank details.
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    size_px = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.pay-iban')).fontSize)"
    )
    assert size_px >= 18, size_px
    assert_no_axe_violations(page)
    assert_no_console_errors(page)

    page.goto(page.url.split("/compte")[0] + "/compte")
    overview = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(overview.locator(".pay-reference")).to_have_text(facts["reference"])
    overview.get_by_role("link", name=re.compile("QR code")).click()
    expect(page).to_have_url(re.compile(r"/compte/cotisation#how-to-pay$"))
    assert_no_axe_violations(page)


@SIZES
def test_a_member_without_a_pledge_is_led_to_the_form(make_page, live_app, login, size):
    facts = _member_facts(live_app, "membre4@patias.test")
    assert facts["pledge_cents"] == 0
    page = make_page(viewport=size)
    login(page, "membre4@patias.test")
    section = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(section.locator(".pay-reference")).to_have_text(facts["reference"])
    assert_no_axe_violations(page)
    section.get_by_role("link", name="Choisir le montant de votre cotisation").click()
    expect(page).to_have_url(re.compile(r"/compte/cotisation$"))
    section = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(section.locator(".epc-qr")).to_have_count(0)
    section.get_by_role("link", name="Choisir le montant de votre cotisation").click()
    expect(page).to_have_url(re.compile(r"/compte/cotisation#amount$"))
    expect(page.locator("#amount")).to_be_in_viewport()
    assert_no_axe_violations(page)
    assert_no_console_errors(page)


@SIZES
def test_an_applicant_is_told_how_to_pay_without_a_reference(make_page, live_server, size):
    page = make_page(viewport=size)
    page.goto(live_server + "/adherer")
    page.locator("#first_name").fill("Aline")
    page.locator("#last_name").fill("Virement")
    page.locator("#commune").fill("Boën-sur-Lignon")
    page.locator("#address").fill("2 rue du Lignon")
    page.locator("#email").fill(f"aline{next(_unique)}-{size[0]}@example.test")
    page.locator("#contribution").fill("9,50")
    page.locator("#consent").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page).to_have_url(re.compile(r"/adherer/merci$"))
    section = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(section.locator(".pay-iban")).to_have_text(IBAN_GROUPED)
    expect(section).to_contain_text("9,50")
    expect(section.locator(".pay-reference")).to_have_count(0)
    expect(section.locator(".epc-qr")).to_have_count(0)
    assert_no_axe_violations(page)
    assert_no_console_errors(page)


@SIZES
def test_the_activation_letter_carries_a_readable_qr_code(make_page, live_server, live_app, size):
    from app.core.extensions import db
    from app.members import auth, membership, payment
    from tests.support.factories import make_member

    with live_app.test_request_context("/"):
        member = make_member(email="", password=None, first_name="Lettre", last_name="Papier")
        member.pledge_cents = 2250
        issued = auth.issue_activation_code(member.user)
        db.session.commit()
        html = membership.render_activation_letter(member, issued)
        reference = payment.payment_reference(member.number)
        db.session.remove()

    page = make_page(viewport=size)
    url = live_server + "/__test__/lettre"
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(url)
    section = page.get_by_role("region", name="Comment payer votre cotisation")
    expect(section.locator(".pay-reference")).to_have_text(reference)
    expect(section.get_by_role("img", name=re.compile(reference))).to_be_visible()
    fields = _read_qr(page)
    assert (fields["iban"], fields["amount"], fields["text"]) == (IBAN, "EUR22.5", reference)
    assert_no_axe_violations(page)
    page.emulate_media(media="print")
    expect(section.locator(".epc-qr")).to_be_visible()
