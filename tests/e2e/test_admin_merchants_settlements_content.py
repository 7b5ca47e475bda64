"""Merchants, settlements and content of the back office in Chromium: the treasurer downloads the
month's SEPA file and pays the merchants (a double click pays once); axe-core finds no WCAG 2.2 AA
violation on these pages, their error states and the merchant's statements, at desktop and phone
size, and no page scrolls sideways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from playwright.sync_api import expect

from app.content.models import FaqEntry
from app.core.calendar import Month
from app.core.extensions import db
from app.events.models import Event
from app.ledger.models import Transfer
from app.members import communes
from app.merchants.models import Merchant
from app.payouts import settlement
from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, admin_login, assert_no_console_errors, login
from tests.support.live_server import last_month_sales

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
REFUSED = (r"status of 4\d\d",)  # a refused form answers 4xx, which Chromium logs as a failed load


def test_the_treasurer_pays_the_merchants(page, live_server, live_app, tmp_path):
    sold = last_month_sales(live_app)
    period = str(Month.last_closed())
    admin_login(page, live_server, live_app)
    page.get_by_role("link", name="Règlements", exact=True).click()
    expect(page.locator("h1")).to_contain_text(Month.parse(period).first_day.strftime("%Y"))

    with live_app.app_context():
        month = settlement.month_settlement(period)
        in_file = {line.merchant.id: line.payable_cents for line in month.in_transfer_file}
        blocking = [line.merchant.name for line in month.blocking]
        db.session.remove()
    assert in_file and set(in_file) <= set(sold)
    for name in blocking:  # owed but without a valid IBAN: named, with the reason
        expect(page.locator("#blocking")).to_contain_text(name)

    with page.expect_download() as download_info:
        page.locator("#sepa-link").click()
    xml_path = tmp_path / "sepa.xml"
    download_info.value.save_as(xml_path)
    xmlschema.XMLSchema(str(XSD)).validate(xml_path.read_text(encoding="utf-8"))
    total = re.search(
        r"<GrpHdr>.*?<CtrlSum>([\d.]+)</CtrlSum>", xml_path.read_text(encoding="utf-8"), re.S
    ).group(1)
    assert round(float(total) * 100) == sum(in_file.values())

    page.locator("#pay-all").dblclick()
    expect(page.locator(".flash-success")).to_be_visible()
    with live_app.app_context():
        payouts = db.session.execute(
            db.select(Transfer.source_id, db.func.count(), db.func.sum(Transfer.amount_cents))
            .where(Transfer.kind == "settlement", Transfer.period == period)
            .group_by(Transfer.source_id)
        ).all()
        db.session.remove()
    assert len(payouts) == len(in_file) and all(
        count == 1 for _, count, _ in payouts
    )  # a double click pays once
    assert sorted(total for _, _, total in payouts) == sorted(in_file.values())
    for merchant_id in in_file:
        expect(page.locator(f"#merchant-{merchant_id}")).to_contain_text("Payé")
    assert_no_console_errors(page, ignore=REFUSED)


def _ids(live_app) -> dict:
    with live_app.app_context():
        merchant = db.session.scalar(db.select(Merchant).order_by(Merchant.id))
        faq = db.session.scalar(db.select(FaqEntry).order_by(FaqEntry.position))
        event = db.session.scalar(db.select(Event).order_by(Event.starts_at.desc()))
        # The demo data has no "stay informed" subscriber: one, made as the public form does (twice is harmless).
        subscriber = communes.subscribe("e2e.abonne@example.test", "Roanne", "fr")
        db.session.commit()
        ids = {
            "merchant": merchant.id,
            "faq": faq.id,
            "event": event.id,
            "subscriber": subscriber.id,
        }
        db.session.remove()
    return ids


VIEWPORTS = pytest.mark.parametrize(
    "page",
    [{"viewport": (1280, 800)}, {"viewport": PHONE}],
    indirect=True,
    ids=["desktop", "phone"],
)


def _check(page, live_server, path: str) -> None:
    page.goto(live_server + path)
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path


@VIEWPORTS
def test_merchants_settlements_and_content_pages_have_no_axe_violations(
    page, live_server, live_app
):
    last_month_sales(live_app)
    ids = _ids(live_app)
    last, current = str(Month.last_closed()), str(Month.current())
    admin_login(page, live_server, live_app)
    for path in [
        "/admin/commercants",
        "/admin/commercants?q=ferme",
        "/admin/commercants?status=pending",
        "/admin/commercants/nouveau",
        f"/admin/commercants/{ids['merchant']}",
        f"/admin/commercants/{ids['merchant']}/modifier",
        "/admin/reglements",
        f"/admin/reglements?mois={current}",
        f"/admin/reglements?mois={Month.parse(last).shift(-1)}",
        f"/admin/reglements/{last}/commercants/{ids['merchant']}",
        "/admin/contenu",
        "/admin/contenu/faq",
        "/admin/contenu/faq/nouvelle",
        f"/admin/contenu/faq/{ids['faq']}",
        f"/admin/contenu/faq/{ids['faq']}/supprimer",
        "/admin/contenu/pages",
        "/admin/contenu/pages/confidentialite",
        "/admin/contenu/evenements",
        "/admin/contenu/evenements/nouveau",
        f"/admin/contenu/evenements/{ids['event']}",
        "/admin/contenu/avis",
        "/admin/contenu/abonnes",
        "/admin/contenu/abonnes?q=abonne",
        "/admin/contenu/abonnes?q=nobody",
        f"/admin/contenu/abonnes/{ids['subscriber']}/supprimer",
        "/admin/contenu/abonnes?lang=en",
        "/admin/commercants?lang=en",
        "/admin/reglements?lang=en",
        "/admin/contenu/faq?lang=fr",
    ]:
        _check(page, live_server, path)

    # Error states: a wrong IBAN, a question without its English text, an event ending before it starts,
    # a month that does not exist.
    page.goto(live_server + "/admin/commercants/nouveau")
    page.get_by_label("Nom de la ferme ou du commerce").fill("Ferme de l’essai")
    page.get_by_label(re.compile(r"^IBAN")).fill("FR76 3000 1007 9412 3456 7890 186")
    page.get_by_role("button", name="Créer le commerçant").click()
    expect(page.locator("#iban-error")).to_contain_text("clé de contrôle")
    assert_no_axe_violations(page)
    page.goto(live_server + "/admin/contenu/faq/nouvelle")
    page.get_by_label("Question en français").fill("Une question ?")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#question_en-error")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto(live_server + "/admin/contenu/evenements/nouveau")
    page.get_by_label("Titre en français").fill("Réunion")
    page.get_by_label("Titre en anglais").fill("Meeting")
    page.get_by_label("Début le").fill("2031-05-10T18:30")
    page.get_by_label("Fin le").fill("2031-05-10T17:30")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#ends_at-error")).to_be_visible()
    assert_no_axe_violations(page)
    _check(page, live_server, "/admin/reglements?mois=2031-13")
    expect(page.locator("#mois-error")).to_be_visible()
    # Removing a subscriber: the confirmation page, then the list with the flash message.
    page.goto(live_server + f"/admin/contenu/abonnes/{ids['subscriber']}/supprimer")
    page.get_by_role("button", name="Retirer", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("e2e.abonne@example.test")
    expect(page.locator("#subscriber-results")).not_to_contain_text("e2e.abonne@example.test")
    assert_no_axe_violations(page)
    assert_no_console_errors(page, ignore=REFUSED)


@VIEWPORTS
def test_the_merchant_reads_its_statements(page, live_server, live_app):
    last_month_sales(live_app)
    last = str(Month.last_closed())
    login(page, live_server, "caisse1@patias.test")
    page.goto(live_server + "/caisse/releves")
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.locator("#statements-table a").nth(
        1
    ).click()  # last month (the first row is the month in progress)
    expect(page).to_have_url(f"{live_server}/caisse/releves/{last}")
    expect(page.locator("#statement-due")).to_be_visible()
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert_no_console_errors(page)
