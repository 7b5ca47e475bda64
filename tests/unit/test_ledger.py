"""The ledger core: transfers, refusals, idempotency, reversals, references, verification."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.errors import (
    AlreadyAllocated,
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientBalance,
)
from app.ledger.models import Transfer
from tests.support.factories import make_member


def _funded(amount: int = 10000):
    """A member account holding `amount`, and a second member account."""
    payer = ledger.member_account(make_member())
    payee = ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"), destination=payer, amount_cents=amount, kind="grant"
    )
    return payer, payee


def test_a_transfer_moves_money_and_keeps_the_books_balanced(app):
    payer, payee = _funded(10000)
    row = ledger.transfer(
        source=payer, destination=payee, amount_cents=2550, kind="correction", memo="test"
    )
    db.session.commit()
    assert (ledger.balance(payer), ledger.balance(payee)) == (7450, 2550)
    assert ledger.balance(ledger.system_account("caisse")) == -10000
    assert row.reference == ledger.reference_for(row.id) and len(row.reference) == 7
    assert row.replayed is False
    assert list(ledger.verify()) == []


def test_insufficient_balance_moves_nothing_and_says_what_is_there(app):
    payer, payee = _funded(1000)
    before = db.session.scalar(db.select(db.func.count()).select_from(Transfer))
    with pytest.raises(InsufficientBalance) as caught:
        ledger.transfer(source=payer, destination=payee, amount_cents=1001, kind="correction")
    assert caught.value.available_cents == 1000
    db.session.commit()
    assert (ledger.balance(payer), ledger.balance(payee)) == (1000, 0)
    assert db.session.scalar(db.select(db.func.count()).select_from(Transfer)) == before
    assert list(ledger.verify()) == []


def test_system_accounts_may_go_below_zero_members_may_not(app):
    payer, payee = _funded(0 + 1)
    caisse = ledger.system_account("caisse")
    ledger.transfer(source=caisse, destination=payee, amount_cents=5_000_000, kind="grant")
    assert ledger.balance(caisse) == -5_000_001
    with pytest.raises(InsufficientBalance):
        ledger.transfer(source=payer, destination=caisse, amount_cents=2, kind="expiry")


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", None])
def test_amounts_must_be_positive_integers(app, amount):
    payer, payee = _funded()
    with pytest.raises(ValueError):
        ledger.transfer(source=payer, destination=payee, amount_cents=amount, kind="correction")


def test_unknown_kind_method_and_self_transfer_are_refused(app):
    payer, payee = _funded()
    with pytest.raises(ValueError):
        ledger.transfer(source=payer, destination=payee, amount_cents=1, kind="gift")
    with pytest.raises(ValueError):
        ledger.transfer(
            source=payer, destination=payee, amount_cents=1, kind="correction", method="bitcoin"
        )
    with pytest.raises(ValueError):
        ledger.transfer(source=payer, destination=payer, amount_cents=1, kind="correction")


def test_same_key_same_request_returns_the_first_transfer_and_moves_nothing(app):
    payer, payee = _funded(10000)
    first = ledger.transfer(
        source=payer, destination=payee, amount_cents=1000, kind="correction", idempotency_key="k-1"
    )
    db.session.commit()
    again = ledger.transfer(
        source=payer, destination=payee, amount_cents=1000, kind="correction", idempotency_key="k-1"
    )
    assert again.id == first.id and again.replayed is True
    assert ledger.balance(payer) == 9000
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(Transfer)
            .where(Transfer.idempotency_key == "k-1")
        )
        == 1
    )


def test_same_key_other_request_is_a_conflict(app):
    payer, payee = _funded(10000)
    ledger.transfer(
        source=payer, destination=payee, amount_cents=1000, kind="correction", idempotency_key="k-2"
    )
    with pytest.raises(IdempotencyConflict):
        ledger.transfer(
            source=payer,
            destination=payee,
            amount_cents=1001,
            kind="correction",
            idempotency_key="k-2",
        )
    with pytest.raises(IdempotencyConflict):
        ledger.transfer(
            source=payer,
            destination=payee,
            amount_cents=1000,
            kind="correction",
            idempotency_key="k-2",
            request_hash=ledger.request_hash(form="other"),
        )
    assert ledger.balance(payer) == 9000


def test_request_hash_is_stable_and_content_sensitive():
    assert ledger.request_hash(a=1, b="x") == ledger.request_hash(b="x", a=1)
    assert ledger.request_hash(a=1) != ledger.request_hash(a=2)
    assert len(ledger.request_hash()) == 64


def test_reverse_moves_the_amount_back_once(app):
    payer, payee = _funded(10000)
    original = ledger.transfer(
        source=payer, destination=payee, amount_cents=1234, kind="correction"
    )
    back = ledger.reverse(original, kind="correction", actor_id=None, memo="typo")
    assert (back.source_id, back.destination_id, back.amount_cents) == (payee.id, payer.id, 1234)
    assert back.reverses_id == original.id
    assert (ledger.balance(payer), ledger.balance(payee)) == (10000, 0)
    with pytest.raises(AlreadyReversed):
        ledger.reverse(original, kind="correction", actor_id=None)
    with pytest.raises(ValueError):
        ledger.reverse(original, kind="refund", actor_id=None)  # a refund cancels a purchase only
    assert list(ledger.verify()) == []


def test_a_reversal_retried_with_its_key_is_replayed(app):
    payer, payee = _funded(10000)
    original = ledger.transfer(source=payer, destination=payee, amount_cents=500, kind="correction")
    back = ledger.reverse(original, kind="correction", actor_id=None, idempotency_key="rev-1")
    again = ledger.reverse(original, kind="correction", actor_id=None, idempotency_key="rev-1")
    assert again.id == back.id and again.replayed
    assert ledger.balance(payer) == 10000


def test_one_allocation_per_member_and_month_even_through_transfer(app):
    member_account = ledger.member_account(make_member())
    caisse = ledger.system_account("caisse")
    ledger.transfer(
        source=caisse,
        destination=member_account,
        amount_cents=10000,
        kind="allocation",
        period="2030-01",
    )
    with pytest.raises(AlreadyAllocated):
        ledger.transfer(
            source=caisse,
            destination=member_account,
            amount_cents=10000,
            kind="allocation",
            period="2030-01",
        )
    ledger.transfer(
        source=caisse,
        destination=member_account,
        amount_cents=10000,
        kind="allocation",
        period="2030-02",
    )
    assert ledger.balance(member_account) == 20000


def test_accounts_are_created_once(app):
    member = make_member()
    assert ledger.member_account(member).id == ledger.member_account(member).id
    assert ledger.system_account("caisse").id == ledger.system_account("caisse").id
    with pytest.raises(ValueError):
        ledger.system_account("bank")
    codes = db.session.scalars(
        db.select(ledger.Account.code).where(ledger.Account.kind == "system")
    ).all()
    assert sorted(codes) == sorted(ledger.SYSTEM_ACCOUNTS)


def test_references_are_unique_and_the_sql_expression_agrees(app):
    ids = [1, 2, 3, 30, 31, 961, 29_791, 29_792, 123_456, 10**9, ledger.REFERENCE_CAPACITY - 1]
    references = [ledger.reference_for(i) for i in ids]
    assert len(set(references)) == len(ids)
    assert all(len(r) == 7 and set(r) <= set(ledger.REFERENCE_ALPHABET) for r in references)
    assert (
        len({ledger.reference_for(i) for i in range(1, 70001)}) == 70000
    )  # across block boundaries
    for transfer_id, expected in zip(ids, references, strict=True):
        computed = db.session.execute(
            text(f"SELECT {ledger.reference_sql(':i')}"), {"i": transfer_id}
        ).scalar_one()
        assert computed == expected
