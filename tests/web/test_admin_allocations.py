"""Allocations admin: monthly runs from the ledger, preview, run the month once."""

from __future__ import annotations

import re

from app.audit.models import AuditEntry
from app.core.calendar import Month
from app.core.extensions import db as _db
from app.ledger import allocation
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from tests.support.factories import make_member
from tests.support.http import csrf_from


def _run_form(client, period=None) -> dict:
    html = client.get("/admin/allocations").get_data(as_text=True)
    period = period or re.search(r'name="period" type="hidden" value="([^"]+)"', html).group(1)
    return {"csrf_token": csrf_from(html), "period": period}


def _run(client, period=None):
    return client.post("/admin/allocations", data=_run_form(client, period))


def _allocations(period):
    return list(
        _db.session.scalars(
            _db.select(Transfer).where(Transfer.kind == "allocation", Transfer.period == period)
        )
    )


def test_preview_then_run_then_nothing_twice(client, admin, db):
    members = [make_member() for _ in range(3)]
    make_member(status="suspended")
    allocation.allocate_member_now(members[0])
    # A member holding two months already: the cap of two allocations returns the third.
    rich = members[1]
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(rich),
        amount_cents=20_000,
        kind="grant",
    )
    db.session.commit()
    period = str(Month.current())
    html = client.get("/admin/allocations?lang=en").get_data(as_text=True)
    assert re.search(r'id="preview-credited">1<', html)
    assert re.search(r'id="preview-to-credit">2<', html)
    assert re.search(r'id="preview-total">€200.00<', html)
    assert "1 balance above €200.00: €100.00 back to the caisse" in html

    form = _run_form(client)
    response = client.post("/admin/allocations", data=form)
    assert response.status_code == 302
    assert {t.destination.member_id for t in _allocations(period)} == {m.id for m in members}
    expiries = list(_db.session.scalars(_db.select(Transfer).where(Transfer.kind == "expiry")))
    assert [(e.source.member_id, e.amount_cents) for e in expiries] == [(rich.id, 10_000)]
    [entry] = _db.session.scalars(
        _db.select(AuditEntry).where(AuditEntry.action == "allocation.run")
    )
    assert (
        entry.details["members_credited"],
        entry.details["total_cents"],
        entry.details["expired_cents"],
    ) == (2, 20_000, 10_000)

    # Clicked twice (the same form posted again): nobody is credited twice.
    again = client.post("/admin/allocations?lang=en", data=form, follow_redirects=True)
    assert "nobody was credited twice" in again.get_data(as_text=True)
    assert len(_allocations(period)) == 3
    assert not ledger.verify()
    html = client.get("/admin/allocations?lang=en").get_data(as_text=True)
    assert "run-allocation" not in html
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', html).group(1)
    assert ">3<" in row and "€300.00" in row and "€100.00" in row


def test_runs_of_earlier_months_are_listed(client, admin, db):
    make_member()
    make_member()
    allocation.allocate_month("2025-01")
    db.session.commit()
    html = client.get("/admin/allocations?lang=en").get_data(as_text=True)
    row = re.search(r'<tr data-period="2025-01">(.*?)</tr>', html).group(1)
    assert ">2<" in row and "€200.00" in row


def test_only_the_current_month_runs_from_the_page(client, admin, db):
    make_member()
    db.session.commit()
    response = _run(client, period="2025-02")
    assert response.status_code == 302
    assert _allocations("2025-02") == [] and _allocations(str(Month.current())) == []
    html = client.get("/admin/allocations")
    assert (
        client.post(
            "/admin/allocations",
            data={"csrf_token": csrf_from(html.get_data(as_text=True)), "period": "not-a-month"},
        ).status_code
        == 400
    )
    assert (
        client.post("/admin/allocations", data={"period": str(Month.current())}).status_code == 400
    )
