"""Settlements `/admin/reglements` and the merchant's statements `/caisse/releves`: figures per
merchant, printable and CSV statements, the SEPA file, and "mark paid" recorded once."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.audit.models import AuditEntry
from app.core.calendar import Month
from app.core.extensions import db as _db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.payouts import settlement
from tests.support.factories import make_cashier, make_member, make_merchant
from tests.support.http import csrf_from

GOOD_IBAN = "FR7630001007941234567890185"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


@pytest.fixture
def admin(admin, client):
    """The signed-in admin (tests/web/conftest.py), reading the pages in English."""
    client.set_cookie("lang", "en")
    return admin


@pytest.fixture
def last():
    return str(Month.last_closed())


def _sales(merchant, *amounts, period=None, member_account=None):
    member_account = member_account or ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=member_account,
        amount_cents=10_000_00,
        kind="grant",
    )
    day = Month.parse(period or str(Month.last_closed())).first_day + timedelta(days=3)
    rows = [
        ledger.transfer(
            source=member_account,
            destination=ledger.merchant_account(merchant),
            amount_cents=a,
            kind="purchase",
            occurred_on=day,
        )
        for a in amounts
    ]
    _db.session.commit()
    return rows


def _english_label(period: str) -> str:
    with force_locale("en"):
        return settlement.period_label(period)


def _settlements():
    return list(_db.session.scalars(_db.select(Transfer).where(Transfer.kind == "settlement")))


def _pay_form(html: str, merchant_id: int) -> dict:
    form = re.search(
        rf'<form method="post" action="(/admin/reglements/[^"]+/commercants/{merchant_id}/payer)">(.*?)</form>',
        html,
        re.S,
    )
    assert form, "no pay form for this merchant"
    fields = dict(re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"', form.group(2)))
    fields.update(dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2))))
    return {"action": form.group(1), **fields}


def test_month_page_shows_each_merchant_and_the_blocking_ones(client, admin, db, last):
    paid_by_transfer = make_merchant(name="Ferme Payable", iban=GOOD_IBAN)
    no_iban = make_merchant(name="Ferme Sans IBAN", iban="")
    _sales(paid_by_transfer, 12_00, 3_50)
    _sales(no_iban, 7_00)
    html = client.get("/admin/reglements").get_data(as_text=True)
    assert _english_label(last) in html
    row = re.search(rf'<tr id="merchant-{paid_by_transfer.id}">(.*?)</tr>', html, re.S).group(1)
    assert "€15.50" in row and "2 sales: €15.50" in row  # the breakdown under the name
    blocking = re.search(r'<div class="blocking".*?</div>', html, re.S).group(0)
    assert "Ferme Sans IBAN" in blocking and "€7.00" in blocking and "IBAN missing" in blocking
    assert "Ferme Payable" not in blocking
    assert re.search(r'id="total-payable">€22.50<', html)
    assert f'href="/admin/reglements/{last}/sepa.xml"' in html
    assert "Mark the transfer paid (€15.50)" in html


def test_month_picker_and_bad_months(client, admin, db, last):
    before = str(Month.parse(last).shift(-1))
    assert client.get(f"/admin/reglements?mois={before}").status_code == 200
    bad = client.get("/admin/reglements?mois=2026-13")
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)
    assert client.get("/admin/reglements?mois=<script>").status_code == 400
    for far in ("1999-01", f"{ledger.today().year + 2}-01"):
        response = client.get(f"/admin/reglements?mois={far}")
        html = response.get_data(as_text=True)
        assert (
            response.status_code == 400
            and "This month is out of range: choose a month from 2000-01 to" in html
        ), far
        assert "use the format YYYY-MM" not in html
    assert client.get("/admin/reglements/2026-13/sepa.xml").status_code == 404
    assert client.get("/admin/reglements/abcd/commercants/1").status_code == 404
    current = client.get(f"/admin/reglements?mois={Month.current()}").get_data(as_text=True)
    assert "This month is not over" in current and "/payer" not in current


def test_mark_paid_twice_pays_once(client, admin, db, last):
    shop = make_merchant(name="Ferme Double", iban=GOOD_IBAN)
    _sales(shop, 20_00)
    html = client.get(f"/admin/reglements?mois={last}").get_data(as_text=True)
    form = _pay_form(html, shop.id)
    assert form["key"] == f"settle:{last}:{shop.id}" and form["amount"] == "2000"
    data = {"csrf_token": csrf_from(html), "key": form["key"], "amount": form["amount"]}
    first = client.post(form["action"], data=data)
    second = client.post(form["action"], data=data)
    assert first.status_code == second.status_code == 303
    rows = _settlements()
    assert len(rows) == 1 and rows[0].amount_cents == 20_00 and rows[0].actor_id == admin.id
    assert ledger.balance(ledger.merchant_account(shop)) == 0
    assert ledger.balance(ledger.system_account("payouts")) == 20_00
    followed = client.get(f"/admin/reglements?mois={last}").get_data(as_text=True)
    assert "already marked paid" in followed or "is recorded" in followed
    assert (
        len(
            list(
                _db.session.scalars(
                    _db.select(AuditEntry).where(AuditEntry.action == "settlement.paid")
                )
            )
        )
        == 1
    )
    assert list(ledger.verify()) == []


def test_mark_paid_refuses_tampered_or_stale_forms(client, admin, db, last):
    shop = make_merchant(iban=GOOD_IBAN)
    _sales(shop, 20_00)
    html = client.get(f"/admin/reglements?mois={last}").get_data(as_text=True)
    form = _pay_form(html, shop.id)
    token = csrf_from(html)
    wrong_key = client.post(
        form["action"], data={"csrf_token": token, "key": "settle:2020-01:1", "amount": "2000"}
    )
    assert wrong_key.status_code == 422
    stale = client.post(
        form["action"], data={"csrf_token": token, "key": form["key"], "amount": "1999"}
    )
    assert stale.status_code == 409 and "has changed" in stale.get_data(as_text=True)
    garbage = client.post(
        form["action"], data={"csrf_token": token, "key": form["key"], "amount": "douze"}
    )
    assert garbage.status_code == 422
    no_csrf = client.post(form["action"], data={"key": form["key"], "amount": "2000"})
    assert no_csrf.status_code == 400
    current = f"/admin/reglements/{Month.current()}/commercants/{shop.id}/payer"
    not_over = client.post(
        current,
        data={
            "csrf_token": token,
            "key": f"settle:{Month.current()}:{shop.id}",
            "amount": "2000",
        },
    )
    assert not_over.status_code == 409 and "not over" in not_over.get_data(as_text=True)
    assert _settlements() == []


def test_mark_all_paid_pays_the_transfer_file_once(client, admin, db, last):
    shops = [
        make_merchant(iban=GOOD_IBAN),
        make_merchant(iban="FR7610107001011234567890129"),
        make_merchant(iban=""),
    ]
    for shop, cents in zip(shops, (10_00, 20_00, 30_00), strict=True):
        _sales(shop, cents)
    html = client.get(f"/admin/reglements?mois={last}").get_data(as_text=True)
    form = re.search(rf'action="(/admin/reglements/{last}/payer)">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'name="(key|total)" type="hidden" value="([^"]*)"', form.group(2)))
    assert fields["total"] == "3000"
    data = {"csrf_token": csrf_from(html), **fields}
    assert client.post(form.group(1), data=data).status_code == 303
    again = client.post(form.group(1), data=data)
    assert again.status_code == 409  # nothing left in the transfer file
    assert sorted(row.amount_cents for row in _settlements()) == [10_00, 20_00]
    assert ledger.balance(ledger.merchant_account(shops[2])) == 30_00


def test_sepa_download_matches_the_page_and_the_statements(client, admin, db, last):
    a = make_merchant(name="Ferme A", iban=GOOD_IBAN)
    b = make_merchant(name="Ferme B", iban="FR7610107001011234567890129")
    _sales(a, 11_11, 22_22)
    _sales(b, 5_00)
    response = client.get(f"/admin/reglements/{last}/sepa.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert f'filename="patias-reglements-{last}.xml"' in response.headers["Content-Disposition"]
    root = ET.fromstring(response.data)
    total = Decimal(root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", NS).text) * 100
    statements = 0
    for shop in (a, b):
        html = client.get(f"/admin/reglements/{last}/commercants/{shop.id}").get_data(as_text=True)
        statements += int(
            Decimal(
                re.search(r'id="statement-payable">€([\d.,]+)<', html).group(1).replace(",", "")
            )
            * 100
        )
    assert total == statements == 38_33


def test_sepa_refusals_are_explained(client, admin, db, last):
    response = client.get(f"/admin/reglements/{last}/sepa.xml")
    assert response.status_code == 409 and "no transfer to make" in response.get_data(as_text=True)
    shop = make_merchant(iban="")
    _sales(shop, 5_00)
    blocked = client.get(f"/admin/reglements/{last}/sepa.xml")
    assert blocked.status_code == 409
    assert client.get(f"/admin/reglements/{Month.current()}/sepa.xml").status_code == 409


def test_statement_page_and_csv(client, admin, db, last):
    shop = make_merchant(name="Ferme ;=Formule", iban=GOOD_IBAN)
    sale, kept = _sales(shop, 9_99, 4_01)
    page = client.get(f"/admin/reglements/{last}/commercants/{shop.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "data-print" in html
    assert re.search(r'id="statement-due">€14.00<', html)
    csv_response = client.get(f"/admin/reglements/{last}/commercants/{shop.id}.csv")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert csv_response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Ferme ;=Formule"  # quoted by the CSV writer; it does not start with =
    references = {row[2] for row in rows[2:] if len(row) > 2}
    assert {sale.reference, kept.reference} <= references
    assert any(row[-1] == "9.99" for row in rows)  # English: a point (the reader's language)
    assert client.get(f"/admin/reglements/{last}/commercants/999999").status_code == 404


def test_the_merchant_sees_only_its_own_statements(client, db, auth, last):
    own = make_merchant(name="Ferme du Caissier", iban=GOOD_IBAN)
    other = make_merchant(name="Ferme Voisine", iban=GOOD_IBAN)
    cashier = make_cashier(own, email="caissier@example.test")
    _sales(own, 8_00)
    _sales(other, 99_00)
    auth.login("caissier@example.test")
    client.set_cookie("lang", "en")
    listing = client.get("/caisse/releves")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and _english_label(last) in html and "€8.00" in html
    assert "€99.00" not in html and "Ferme Voisine" not in html
    statement = client.get(f"/caisse/releves/{last}").get_data(as_text=True)
    assert (
        "Ferme du Caissier" in statement
        and "€8.00" in statement
        and "Ferme Voisine" not in statement
    )
    csv_response = client.get(f"/caisse/releves/{last}.csv")
    assert (
        csv_response.status_code == 200
        and b"8.00" in csv_response.data
        and b"99.00" not in csv_response.data
    )
    assert client.get("/caisse/releves/2099-01").status_code == 404
    assert client.get("/caisse/releves/nope").status_code == 404
    # Admin pages stay closed to a cashier.
    assert client.get(f"/admin/reglements/{last}/commercants/{other.id}").status_code == 403
    assert cashier.merchant_id == own.id


def test_a_member_cannot_read_statements(client, db, auth):
    member = make_member(email="membre@example.test")
    db.session.commit()
    auth.login("membre@example.test")
    assert client.get("/caisse/releves").status_code == 403
    assert member.id
