"""Money under concurrency, on a file SQLite and on PostgreSQL: every thread has its own app
context, session and connection, and they all start together at a barrier."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.allocation import allocate_month
from app.ledger.errors import InsufficientBalance
from app.ledger.models import Account, Transfer
from app.members.models import Commune
from app.merchants.models import Merchant
from tests.support.concurrency import run_together
from tests.support.factories import make_member

A = 10000


def _merchant_account() -> Account:
    commune = db.session.scalars(select(Commune)).first()
    merchant = Merchant(name="Ferme concurrente", commune_id=commune.id, status="active")
    db.session.add(merchant)
    db.session.flush()
    return ledger.merchant_account(merchant)


def _funded_member(cents: int) -> tuple[int, int]:
    member_account = ledger.member_account(make_member())
    shop = _merchant_account()
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=member_account,
        amount_cents=cents,
        kind="grant",
    )
    db.session.commit()
    return member_account.id, shop.id


def test_fifty_concurrent_debits_of_ten_euros_on_a_hundred_euros(app):
    member_id, shop_id = _funded_member(100_00)

    def buy(index: int):
        return ledger.transfer(
            source=db.session.get(Account, member_id),
            destination=db.session.get(Account, shop_id),
            amount_cents=10_00,
            kind="purchase",
            idempotency_key=f"sale-{index}",
        ).id

    results = run_together(app, 50, buy)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == Counter({"int": 10, "InsufficientBalance": 40}), kinds
    assert all(r.available_cents == 0 for r in results if isinstance(r, InsufficientBalance))
    db.session.expire_all()
    assert ledger.balance(db.session.get(Account, member_id)) == 0
    assert ledger.balance(db.session.get(Account, shop_id)) == 100_00
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "purchase")
        )
        == 10
    )
    assert list(ledger.verify()) == []


def test_concurrent_retries_with_one_key_move_money_once(app):
    # The sale takes the whole balance: a retry must be answered with it, not "insufficient".
    member_id, shop_id = _funded_member(12_50)

    def buy(_index: int):
        row = ledger.transfer(
            source=db.session.get(Account, member_id),
            destination=db.session.get(Account, shop_id),
            amount_cents=12_50,
            kind="purchase",
            idempotency_key="one-sale",
        )
        return row.id, row.replayed

    results = run_together(app, 12, buy)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({transfer_id for transfer_id, _ in results}) == 1
    assert sum(not replayed for _, replayed in results) == 1
    db.session.expire_all()
    assert ledger.balance(db.session.get(Account, member_id)) == 0
    assert list(ledger.verify()) == []


def test_concurrent_refunds_of_one_sale_refund_it_once(app):
    member_id, shop_id = _funded_member(100_00)
    sale = ledger.transfer(
        source=db.session.get(Account, member_id),
        destination=db.session.get(Account, shop_id),
        amount_cents=30_00,
        kind="purchase",
    )
    db.session.commit()
    sale_id = sale.id

    def refund(index: int):
        return ledger.reverse(
            db.session.get(Transfer, sale_id),
            kind="refund",
            actor_id=None,
            idempotency_key=f"r-{index}",
        ).id

    results = run_together(app, 8, refund)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == Counter({"int": 1, "AlreadyReversed": 7}), kinds
    db.session.expire_all()
    assert ledger.balance(db.session.get(Account, member_id)) == 100_00
    assert list(ledger.verify()) == []


def test_sales_and_refunds_in_both_directions_do_not_deadlock(app):
    member_id, shop_id = _funded_member(100_00)
    sales = []
    for index in range(10):
        sales.append(
            ledger.transfer(
                source=db.session.get(Account, member_id),
                destination=db.session.get(Account, shop_id),
                amount_cents=1_00,
                kind="purchase",
                idempotency_key=f"first-{index}",
            ).id
        )
    db.session.commit()

    def work(index: int):
        if index % 2:
            return ledger.reverse(
                db.session.get(Transfer, sales[index // 2]), kind="refund", actor_id=None
            ).id
        return ledger.transfer(
            source=db.session.get(Account, member_id),
            destination=db.session.get(Account, shop_id),
            amount_cents=1_00,
            kind="purchase",
        ).id

    results = run_together(app, 20, work)
    assert all(isinstance(r, int) for r in results), results
    db.session.expire_all()
    assert ledger.balance(db.session.get(Account, member_id)) == 100_00 - 10_00 - 10_00 + 10_00
    assert list(ledger.verify()) == []


def test_four_allocation_runs_at_once_credit_each_member_once(app):
    members = [make_member() for _ in range(30)]
    make_member(status="suspended")
    ledger.system_account("caisse")
    db.session.commit()

    results = run_together(
        app, 4, lambda _i: allocate_month("2030-06", batch_size=7).members_credited
    )
    assert sorted(results) == [0, 0, 0, 30], results
    per_member = dict(
        db.session.execute(
            select(Transfer.destination_id, func.count())
            .where(Transfer.kind == "allocation")
            .group_by(Transfer.destination_id)
        ).all()
    )
    assert sorted(per_member.values()) == [1] * 30
    assert [ledger.balance(ledger.member_account(m)) for m in members] == [A] * 30
    assert list(ledger.verify()) == []


def test_an_allocation_run_among_concurrent_sales_keeps_the_books(app):
    members = [make_member() for _ in range(20)]
    shop_id = _merchant_account().id
    allocate_month("2030-01")
    db.session.commit()
    account_ids = [ledger.member_account(m).id for m in members]

    def work(index: int):
        if index < 3:
            return allocate_month("2030-02", batch_size=6).members_credited
        return ledger.transfer(
            source=db.session.get(Account, account_ids[index % 20]),
            destination=db.session.get(Account, shop_id),
            amount_cents=45_00,
            kind="purchase",
        ).amount_cents

    results = run_together(app, 23, work)
    assert not [
        r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientBalance)
    ], results
    assert sorted(results[:3]) == [0, 0, 20]
    sold = sum(r for r in results[3:] if isinstance(r, int))
    db.session.expire_all()
    held = sum(ledger.balance(db.session.get(Account, i)) for i in account_ids)
    assert held == 20 * 2 * A - sold
    assert list(ledger.verify()) == []
