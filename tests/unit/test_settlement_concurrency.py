"""Two treasurers (or two tabs) marking the same month paid at the same moment pay it once:
on a file SQLite and on PostgreSQL, each thread with its own app context, session and connection."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.core.calendar import Month
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.merchants.models import Merchant
from app.payouts import settlement
from tests.support.concurrency import run_together
from tests.support.factories import make_member, make_merchant


def _merchant_owed(cents: int, later_cents: int = 0) -> int:
    member = ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=member,
        amount_cents=10_000_00,
        kind="grant",
    )
    shop = make_merchant()
    last = str(Month.last_closed())
    ledger.transfer(
        source=member,
        destination=ledger.merchant_account(shop),
        amount_cents=cents,
        kind="purchase",
        occurred_on=Month.parse(last).first_day + timedelta(days=2),
    )
    if later_cents:
        ledger.transfer(
            source=member,
            destination=ledger.merchant_account(shop),
            amount_cents=later_cents,
            kind="purchase",
        )
    return shop.id


def _settle_in_thread(merchant_id: int):
    def work(_index: int):
        row = settlement.settle(
            db.session.get(Merchant, merchant_id), str(Month.last_closed()), actor_id=None
        )
        return row.id, row.amount_cents

    return work


def test_two_concurrent_settlements_of_a_month_pay_once(app):
    merchant_id = _merchant_owed(45_00)
    results = run_together(app, 2, _settle_in_thread(merchant_id), join_timeout=120)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == results[1] and results[0][1] == 45_00
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "settlement")
        )
        == 1
    )
    assert ledger.balance(ledger.merchant_account(db.session.get(Merchant, merchant_id))) == 0
    assert list(ledger.verify()) == []


def test_concurrent_settlements_pay_once_even_when_the_account_could_pay_twice(app):
    """This month's sales keep money on the account: only the idempotency key stops a second debit."""
    merchant_id = _merchant_owed(30_00, later_cents=70_00)
    results = run_together(app, 4, _settle_in_thread(merchant_id), join_timeout=120)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1 and results[0][1] == 30_00
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "settlement")
        )
        == 1
    )
    assert ledger.balance(ledger.merchant_account(db.session.get(Merchant, merchant_id))) == 70_00
    assert list(ledger.verify()) == []
