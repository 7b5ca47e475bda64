"""`verify()` and `flask ssa verify-ledger` catch each breach of the five invariants.

Breaches are made with raw SQL, behind the services' back. Invariants that a database
constraint guards (3: CHECK, 4 and 5: unique indexes) are broken inside a transaction that first
swaps the table for an unconstrained copy (transactional DDL on both engines), then rolled back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.allocation import allocate_month
from tests.support.factories import make_member


@pytest.fixture
def books(app):
    """Two allocated members and a contribution, committed: a sound ledger."""
    first, second = make_member(), make_member()
    allocate_month("2030-01")
    ledger.transfer(
        source=ledger.member_account(first),
        destination=ledger.member_account(second),
        amount_cents=700,
        kind="correction",
        idempotency_key="key-1",
    )
    db.session.commit()
    assert list(ledger.verify()) == []
    return ledger.member_account(first), ledger.member_account(second)


def _unconstrained(table: str) -> None:
    db.session.execute(text(f"ALTER TABLE {table} RENAME TO {table}_constrained"))
    db.session.execute(text(f"CREATE TABLE {table} AS SELECT * FROM {table}_constrained"))


def _raw_transfer(id_: int, kind: str, source: int, destination: int, amount: int, **extra) -> None:
    columns = {
        "id": id_,
        "kind": kind,
        "source_id": source,
        "destination_id": destination,
        "amount_cents": amount,
        "created_at": "2030-01-01 00:00:00",
        "occurred_on": "2030-01-01",
        "reference": ledger.reference_for(id_),
        "memo": "",
        **extra,
    }
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    db.session.execute(text(f"INSERT INTO transfer ({names}) VALUES ({values})"), columns)


def _next_id() -> int:
    return db.session.execute(text("SELECT max(id) + 1 FROM transfer")).scalar_one()


def test_a_sound_ledger_passes_and_prints_counts_and_totals(books, runner):
    result = runner.invoke(args=["ssa", "verify-ledger"])
    assert result.exit_code == 0, result.output
    assert "Accounts: member 2, system 4." in result.output
    assert "Transfers allocation: 2, 200.00 EUR." in result.output
    assert "Balance of caisse: -200.00 EUR." in result.output
    assert "Ledger OK" in result.output


def test_a_corrupted_cached_balance_is_caught(books, runner):
    first, _ = books
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents + 1 WHERE id = :id"),
        {"id": first.id},
    )
    db.session.commit()
    breaches = ledger.verify()
    assert [b[:2] for b in breaches] == ["1.", "2."]
    assert f"account {first.id}: cached 9301, transfers 9300" in breaches[1]
    result = runner.invoke(args=["ssa", "verify-ledger"])
    assert result.exit_code == 1
    assert "BREACH 1. the sum of all balances is 1 cents, not 0" in result.output
    assert "BREACH 2. 1 cached balance(s) differ" in result.output


def test_a_deleted_transfer_is_caught(books, runner):
    db.session.execute(text("DELETE FROM transfer WHERE idempotency_key = 'key-1'"))
    db.session.commit()
    breaches = ledger.verify()
    assert len(breaches) == 1 and breaches[0].startswith("2. 2 cached balance(s) differ")
    assert runner.invoke(args=["ssa", "verify-ledger"]).exit_code == 1


def test_a_member_below_zero_is_caught(books):
    first, _ = books
    caisse = ledger.system_account("caisse")
    _unconstrained("account")
    # A debit without the balance check: member to caisse, more than the member has.
    _raw_transfer(_next_id(), "expiry", first.id, caisse.id, 10000)
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents - 10000 WHERE id = :id"),
        {"id": first.id},
    )
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents + 10000 WHERE id = :id"),
        {"id": caisse.id},
    )
    breaches = ledger.verify()
    db.session.rollback()
    assert [b[:30] for b in breaches] == [
        "3. 1 member or merchant accoun",
        "3. 1 member or merchant accoun",
    ]
    assert f"account {first.id}: -700" in breaches[0] and "in their history" in breaches[1]
    assert list(ledger.verify()) == []


def test_a_dip_below_zero_in_the_history_is_caught(books):
    _, second = books
    caisse = ledger.system_account("caisse")
    # Spent before it was received: the balance ends right but went below zero in between.
    start = _next_id()
    _raw_transfer(start, "expiry", second.id, caisse.id, 20000)
    _raw_transfer(start + 1, "correction", caisse.id, second.id, 20000)
    db.session.commit()
    breaches = ledger.verify()
    assert len(breaches) == 1 and "went below 0 in their history" in breaches[0]
    assert f"account {second.id}: -9300" in breaches[0]


def test_two_transfers_with_one_idempotency_key_are_caught(books):
    first, second = books
    _unconstrained("transfer")
    _raw_transfer(_next_id(), "correction", second.id, first.id, 1, idempotency_key="key-1")
    _raw_transfer(_next_id(), "correction", first.id, second.id, 1, idempotency_key="key-1")
    breaches = ledger.verify()
    db.session.rollback()
    assert breaches == ["4. 1 idempotency key(s) used by more than one transfer ('key-1' x3)"]


def test_two_allocations_in_one_month_are_caught(books, runner):
    first, _ = books
    caisse = ledger.system_account("caisse")
    _unconstrained("transfer")
    _raw_transfer(_next_id(), "allocation", caisse.id, first.id, 10000, period="2030-01")
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents + 10000 WHERE id = :id"),
        {"id": first.id},
    )
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents - 10000 WHERE id = :id"),
        {"id": caisse.id},
    )
    breaches = ledger.verify()
    db.session.rollback()
    assert breaches == [
        f"5. 1 member(s) allocated more than once in a month (account {first.id} in 2030-01 x2)"
    ]


def test_an_allocation_to_a_system_account_is_caught(books):
    caisse = ledger.system_account("caisse")
    grants = ledger.system_account("grants")
    wrong = _next_id()
    _raw_transfer(wrong, "allocation", caisse.id, grants.id, 5, period="2030-01")
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents + 5 WHERE id = :id"),
        {"id": grants.id},
    )
    db.session.execute(
        text("UPDATE account SET balance_cents = balance_cents - 5 WHERE id = :id"),
        {"id": caisse.id},
    )
    db.session.commit()
    assert ledger.verify() == [
        f"5. 1 allocation(s) without a month or not to a member account (transfer {wrong})"
    ]


def test_the_database_refuses_what_it_guards(books):
    """Without the swap above, the constraints themselves stop these breaches."""
    first, second = books
    caisse = ledger.system_account("caisse")
    for statement in (
        lambda: db.session.execute(
            text("UPDATE account SET balance_cents = -1 WHERE id = :id"), {"id": first.id}
        ),
        lambda: _raw_transfer(
            _next_id(), "correction", second.id, first.id, 1, idempotency_key="key-1"
        ),
        lambda: _raw_transfer(_next_id(), "allocation", caisse.id, first.id, 1, period="2030-01"),
        lambda: _raw_transfer(_next_id(), "correction", second.id, first.id, 0),
    ):
        with pytest.raises(Exception) as caught, db.session.begin_nested():
            statement()
        assert "IntegrityError" in type(caught.value).__name__
