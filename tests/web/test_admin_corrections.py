"""Corrections: a sale given back to the member with a reason, once, visible to the member."""

from __future__ import annotations

import re

import pytest

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.ledger import allocation
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from tests.support.factories import make_member, make_merchant
from tests.support.http import csrf_from


@pytest.fixture
def sale(db):
    member = make_member(first_name="Camille", last_name="Roche")
    merchant = make_merchant(name="Les Jardins du Lignon")
    allocation.allocate_member_now(member)
    row = ledger.transfer(
        source=ledger.member_account(member),
        destination=ledger.merchant_account(merchant),
        amount_cents=2350,
        kind="purchase",
    )
    db.session.commit()
    return row


def _correct(client, sale_id, reason, key=None):
    html = client.get(f"/admin/corrections/{sale_id}").get_data(as_text=True)
    key = key or re.search(r'name="key" type="hidden" value="([^"]+)"', html).group(1)
    return client.post(
        f"/admin/corrections/{sale_id}",
        data={"csrf_token": csrf_from(html), "key": key, "reason": reason},
    ), key


def test_find_a_sale_by_reference_or_member_number(client, admin, sale):
    member = sale.source.member
    for query in (sale.reference, sale.reference.lower(), member.number):
        html = client.get("/admin/corrections", query_string={"q": query}).get_data(as_text=True)
        assert f'data-sale="{sale.reference}"' in html and f"/admin/corrections/{sale.id}" in html
    html = client.get("/admin/corrections?q=ZZZZZZZ&lang=en").get_data(as_text=True)
    assert "No sale has this receipt reference" in html
    html = client.get("/admin/corrections?q=000019&lang=en").get_data(as_text=True)
    assert "not valid" in html


def test_a_members_sales_are_listed_newest_first(client, admin, sale):
    from datetime import timedelta

    member, merchant_account = sale.source.member, sale.destination
    day = sale.occurred_on
    for days_before in (1, -1, 2):  # written in this order, not in the days' order
        ledger.transfer(
            source=ledger.member_account(member),
            destination=merchant_account,
            amount_cents=100,
            kind="purchase",
            occurred_on=day - timedelta(days=days_before),
        )
    _db.session.commit()
    html = client.get("/admin/corrections", query_string={"q": member.number}).get_data(
        as_text=True
    )
    sales = _db.session.scalars(_db.select(Transfer).where(Transfer.kind == "purchase")).all()
    by_reference = {t.reference: t.occurred_on for t in sales}
    shown = [by_reference[r] for r in re.findall(r'data-sale="([^"]+)"', html)]
    assert len(shown) == 4 and shown == sorted(shown, reverse=True)


def test_correct_a_sale_with_a_reason(app, client, admin, sale):
    member_account = sale.source
    merchant_account = sale.destination
    before = ledger.balance(member_account), ledger.balance(merchant_account)
    response, _key = _correct(client, sale.id, "Double saisie au marché")
    assert response.status_code == 302
    correction = _db.session.scalar(_db.select(Transfer).where(Transfer.kind == "correction"))
    assert (
        correction.reverses_id,
        correction.amount_cents,
        correction.memo,
        correction.actor_id,
    ) == (sale.id, 2350, "Double saisie au marché", admin.id)
    assert (ledger.balance(member_account), ledger.balance(merchant_account)) == (
        before[0] + 2350,
        before[1] - 2350,
    )
    [entry] = _db.session.scalars(
        _db.select(AuditEntry).where(AuditEntry.action == "transfer.corrected")
    )
    assert (
        entry.details["reason"] == "Double saisie au marché"
        and entry.details["sale"] == sale.reference
    )
    assert not ledger.verify()
    # The member sees it, with the reason, in their history.
    member_client = app.test_client()
    page = member_client.get("/connexion")
    member_client.post(
        "/connexion",
        data={
            "login": member_account.member.email,
            "password": "patias-demo",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    history = member_client.get("/compte/historique?lang=en").get_data(as_text=True)
    assert "Correction by the association" in history and "Double saisie au marché" in history


def test_a_sale_is_corrected_once(client, admin, sale):
    response, key = _correct(client, sale.id, "Erreur")
    assert response.status_code == 302
    # Double click: the same key answers the same correction.
    html = client.get(f"/admin/corrections/{sale.id}").get_data(as_text=True)
    again = client.post(
        f"/admin/corrections/{sale.id}",
        data={"csrf_token": csrf_from(html), "key": key, "reason": "Erreur"},
    )
    assert again.status_code == 302
    # Another attempt is refused.
    other = client.post(
        f"/admin/corrections/{sale.id}",
        data={"csrf_token": csrf_from(html), "key": "another-key", "reason": "Erreur"},
    )
    assert other.status_code == 409
    assert (
        _db.session.scalar(
            _db.select(_db.func.count()).select_from(Transfer).where(Transfer.kind == "correction")
        )
        == 1
    )
    assert (
        len(
            list(
                _db.session.scalars(
                    _db.select(AuditEntry).where(AuditEntry.action == "transfer.corrected")
                )
            )
        )
        == 1
    )


def test_a_refunded_sale_cannot_be_corrected(client, admin, sale):
    ledger.reverse(sale, kind="refund", actor_id=None)
    _db.session.commit()
    html = client.get(f"/admin/corrections?q={sale.reference}&lang=en").get_data(as_text=True)
    assert "Cancelled at the register" in html and f'/admin/corrections/{sale.id}"' not in html
    response, _key = _correct(client, sale.id, "Erreur", key="key-one-1")
    assert response.status_code == 409


def test_a_paid_out_merchant_account_is_explained(client, admin, sale):
    ledger.transfer(
        source=sale.destination,
        destination=ledger.system_account("payouts"),
        amount_cents=2350,
        kind="settlement",
    )
    _db.session.commit()
    response, _key = _correct(client, sale.id, "Erreur", key="key-two-2")
    assert response.status_code == 409
    assert (
        _db.session.scalar(
            _db.select(_db.func.count()).select_from(Transfer).where(Transfer.kind == "correction")
        )
        == 0
    )


def test_reason_required_and_only_sales(client, admin, sale):
    response, _key = _correct(client, sale.id, "  ")
    assert response.status_code == 400
    allocation_row = _db.session.scalar(_db.select(Transfer).where(Transfer.kind == "allocation"))
    assert client.get(f"/admin/corrections/{allocation_row.id}").status_code == 404
    assert client.get("/admin/corrections/999999").status_code == 404
    assert client.get("/admin/corrections?q=" + "x" * 5000).status_code == 400
