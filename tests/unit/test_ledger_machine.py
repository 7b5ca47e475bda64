"""A Hypothesis state machine drives the ledger through random sequences of allocations, sales,
retries, conflicting retries, refunds, expiries and contributions, and checks after every step
that the five invariants hold and that every balance in the database equals an in-memory model.

Each example works inside one transaction that its teardown rolls back: a clean database per
example without the cost of committing.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from flask import g
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.core.extensions import db
from app.core.settings import set_setting
from app.ledger import transfers as ledger
from app.ledger.allocation import allocate_month
from app.ledger.contributions import record_contribution
from app.ledger.errors import AlreadyReversed, IdempotencyConflict, InsufficientBalance
from app.ledger.models import Account, Transfer
from app.members.models import Commune, Member
from app.merchants.models import Merchant
from tests.support.factories import make_member

A = 10000
PERIODS = ("2025-01", "2025-02", "2025-03", "2025-04")
KEYS = ("k1", "k2", "k3", "k4")
RULES = {
    "cap": {"rule": "cap", "cap_months": 2},
    "expire": {"rule": "expire"},
    "none": {"rule": "none"},
}
CAPS = {"cap": 2 * A, "expire": A, "none": None}


class LedgerMachine(RuleBasedStateMachine):
    # Members, merchant and accounts made and committed once by the test; each example runs in
    # a transaction of its own that the teardown rolls back (a clean ledger per example).
    world: ClassVar[dict] = {}
    examples = 0

    @initialize()
    def open_books(self):
        type(self).examples += 1
        db.session.rollback()
        g.pop("association", None)
        self.members = [db.session.get(Member, i) for i in self.world["members"]]
        self.accounts = [db.session.get(Account, i) for i in self.world["accounts"]]
        self.shop = db.session.get(Account, self.world["shop"])
        self.caisse = ledger.system_account("caisse")
        self.contributions = ledger.system_account("contributions")
        self.payouts = ledger.system_account("payouts")
        self.model = dict.fromkeys(self.world["account_ids"], 0)
        self.allocated: set[tuple[int, str]] = set()
        self.keys: dict[str, tuple[tuple, int]] = {}
        self.sales: list[tuple[int, int, int]] = []  # (transfer id, member account id, amount)
        self.refunded: set[int] = set()

    def teardown(self):
        db.session.rollback()
        g.pop("association", None)

    def _move(self, source: int, destination: int, amount: int) -> None:
        self.model[source] -= amount
        self.model[destination] += amount

    @rule(period=st.sampled_from(PERIODS), rule_name=st.sampled_from(sorted(RULES)))
    def allocate(self, period, rule_name):
        set_setting("rollover", RULES[rule_name])
        summary = allocate_month(period)
        credited = expired = expired_cents = 0
        for account in self.accounts:
            if (account.id, period) in self.allocated:
                continue
            self.allocated.add((account.id, period))
            self._move(self.caisse.id, account.id, A)
            credited += 1
            cap = CAPS[rule_name]
            if cap is not None and self.model[account.id] > cap:
                excess = self.model[account.id] - cap
                self._move(account.id, self.caisse.id, excess)
                expired += 1
                expired_cents += excess
        assert (summary.members_credited, summary.total_cents) == (credited, credited * A)
        assert (summary.expired_members, summary.expired_cents) == (expired, expired_cents)

    def _sell(self, index: int, amount: int, key: str | None):
        account = self.accounts[index]
        request = (account.id, amount)
        if key is not None and key in self.keys:
            stored, transfer_id = self.keys[key]
            if stored == request:
                row = ledger.transfer(
                    source=account,
                    destination=self.shop,
                    amount_cents=amount,
                    kind="purchase",
                    idempotency_key=key,
                )
                assert row.replayed and row.id == transfer_id
            else:
                with pytest.raises(IdempotencyConflict):
                    ledger.transfer(
                        source=account,
                        destination=self.shop,
                        amount_cents=amount,
                        kind="purchase",
                        idempotency_key=key,
                    )
            return
        if self.model[account.id] < amount:
            with pytest.raises(InsufficientBalance) as caught:
                ledger.transfer(
                    source=account,
                    destination=self.shop,
                    amount_cents=amount,
                    kind="purchase",
                    idempotency_key=key,
                )
            assert caught.value.available_cents == self.model[account.id]
            return
        row = ledger.transfer(
            source=account,
            destination=self.shop,
            amount_cents=amount,
            kind="purchase",
            idempotency_key=key,
        )
        assert not row.replayed
        self._move(account.id, self.shop.id, amount)
        self.sales.append((row.id, account.id, amount))
        if key is not None:
            self.keys[key] = (request, row.id)

    @rule(index=st.integers(0, 2), amount=st.integers(1, 25000), key=st.sampled_from((None, *KEYS)))
    def debit(self, index, amount, key):
        self._sell(index, amount, key)

    @precondition(lambda self: self.keys)
    @rule(data=st.data())
    def retry_same_key(self, data):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        (account_id, amount), _ = self.keys[key]
        index = [a.id for a in self.accounts].index(account_id)
        self._sell(index, amount, key)

    @precondition(lambda self: self.keys)
    @rule(data=st.data(), extra=st.integers(1, 500))
    def same_key_other_amount(self, data, extra):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        (account_id, amount), _ = self.keys[key]
        index = [a.id for a in self.accounts].index(account_id)
        self._sell(index, amount + extra, key)

    @precondition(lambda self: self.sales)
    @rule(data=st.data())
    def refund(self, data):
        transfer_id, account_id, amount = data.draw(st.sampled_from(self.sales))
        original = db.session.get(Transfer, transfer_id)
        if transfer_id in self.refunded:
            with pytest.raises(AlreadyReversed):
                ledger.reverse(original, kind="refund", actor_id=None)
            return
        if self.model[self.shop.id] < amount:  # the merchant was paid out meanwhile
            with pytest.raises(InsufficientBalance):
                ledger.reverse(original, kind="refund", actor_id=None)
            return
        row = ledger.reverse(original, kind="refund", actor_id=None)
        assert (row.source_id, row.destination_id, row.amount_cents) == (
            self.shop.id,
            account_id,
            amount,
        )
        self.refunded.add(transfer_id)
        self._move(self.shop.id, account_id, amount)

    @rule(amount=st.integers(1, 30000))
    def settle_merchant(self, amount):
        payouts = self.payouts
        if self.model[self.shop.id] < amount:
            with pytest.raises(InsufficientBalance):
                ledger.transfer(
                    source=self.shop, destination=payouts, amount_cents=amount, kind="settlement"
                )
            return
        ledger.transfer(
            source=self.shop, destination=payouts, amount_cents=amount, kind="settlement"
        )
        self._move(self.shop.id, payouts.id, amount)

    @rule(index=st.integers(0, 2), amount=st.integers(1, 20000))
    def expire(self, index, amount):
        account = self.accounts[index]
        if self.model[account.id] < amount:
            with pytest.raises(InsufficientBalance):
                ledger.transfer(
                    source=account, destination=self.caisse, amount_cents=amount, kind="expiry"
                )
            return
        ledger.transfer(source=account, destination=self.caisse, amount_cents=amount, kind="expiry")
        self._move(account.id, self.caisse.id, amount)

    @rule(
        index=st.integers(0, 2),
        amount=st.integers(1, 50000),
        method=st.sampled_from(("transfer", "cash", "cheque", "direct_debit")),
    )
    def contribution(self, index, amount, method):
        from datetime import date

        record_contribution(self.members[index], amount, date(2025, 1, 15), method)
        self._move(self.contributions.id, self.caisse.id, amount)

    @invariant()
    def books_hold(self):
        if not hasattr(self, "model"):
            return
        assert list(ledger.verify()) == []
        stored = dict(db.session.execute(select(Account.id, Account.balance_cents)).all())
        assert stored == {**dict.fromkeys(stored, 0), **self.model}
        allocations = db.session.execute(
            select(Transfer.destination_id, Transfer.period).where(Transfer.kind == "allocation")
        ).all()
        assert set(allocations) == self.allocated and len(allocations) == len(self.allocated)


def _world() -> dict:
    members = [make_member() for _ in range(3)]
    make_member(status="suspended")
    commune = db.session.scalars(select(Commune)).first()
    merchant = Merchant(name="Ferme du modèle", commune_id=commune.id, status="active")
    db.session.add(merchant)
    db.session.flush()
    world = {
        "members": [m.id for m in members],
        "accounts": [ledger.member_account(m).id for m in members],
        "shop": ledger.merchant_account(merchant).id,
        "account_ids": list(db.session.scalars(select(Account.id))),
    }
    db.session.commit()
    return world


def test_ledger_state_machine(app):
    LedgerMachine.world = _world()
    LedgerMachine.examples = 0
    try:
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=200,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        LedgerMachine.world = {}
    assert LedgerMachine.examples >= 200
