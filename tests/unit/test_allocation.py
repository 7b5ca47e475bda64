"""The monthly allocation: once per member and month, the roll-over rules, late approvals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.calendar import Month
from app.core.errors import InvalidPeriod
from app.core.extensions import db
from app.core.settings import set_setting
from app.ledger import transfers as ledger
from app.ledger.allocation import allocate_member_now, allocate_month, balance_cap
from app.ledger.models import Account, Transfer
from app.members.models import Commune
from app.merchants.models import Merchant
from tests.support.factories import make_member

A = 10000  # allocation_cents of app/data/association.json


def _merchant_account() -> Account:
    commune = db.session.scalars(select(Commune)).first()
    merchant = Merchant(name="Ferme test", commune_id=commune.id, status="active")
    db.session.add(merchant)
    db.session.flush()
    return ledger.merchant_account(merchant)


def _spend(member, cents: int) -> None:
    ledger.transfer(
        source=ledger.member_account(member),
        destination=_shop_account(),
        amount_cents=cents,
        kind="purchase",
    )


def _shop_account() -> Account:
    account = db.session.scalars(select(Account).where(Account.kind == "merchant")).first()
    return account or _merchant_account()


def _allocations(period: str | None = None) -> dict[int, int]:
    query = (
        select(Transfer.destination_id, func.count())
        .where(Transfer.kind == "allocation")
        .group_by(Transfer.destination_id)
    )
    if period:
        query = query.where(Transfer.period == period)
    return dict(db.session.execute(query).all())


def _balances(members) -> list[int]:
    return [ledger.balance(ledger.member_account(m)) for m in members]


def test_three_runs_in_a_row_credit_each_active_member_once(app):
    members = [make_member() for _ in range(5)]
    suspended = make_member(status="suspended")
    db.session.commit()
    first = allocate_month("2030-01", batch_size=2)
    db.session.commit()
    second = allocate_month("2030-01", batch_size=2)
    third = allocate_month("2030-01")
    db.session.commit()
    assert (first.members_credited, first.total_cents) == (5, 5 * A)
    assert (second.members_credited, third.members_credited) == (0, 0)
    counts = _allocations("2030-01")
    assert sorted(counts.values()) == [1] * 5
    assert ledger.member_account(suspended).id not in counts
    assert _balances(members) == [A] * 5
    assert ledger.balance(ledger.system_account("caisse")) == -5 * A
    assert list(ledger.verify()) == []


def test_accounts_loaded_before_a_run_show_the_new_balance(app):
    member = make_member()
    account = ledger.member_account(member)
    assert account.balance_cents == 0
    allocate_month("2030-01")
    assert account.balance_cents == A


def test_the_cap_rule_returns_the_excess_to_the_caisse(app):
    set_setting("rollover", {"rule": "cap", "cap_months": 2})
    saver, spender = make_member(), make_member()
    allocate_month("2030-01")
    allocate_month("2030-02")
    _spend(spender, 2500)
    third = allocate_month("2030-03")
    # saver: 200 + 100 capped at 200; spender: 175 + 100 capped at 200.
    assert _balances([saver, spender]) == [2 * A, 2 * A]
    assert (third.expired_members, third.expired_cents) == (2, A + (A - 2500))
    expiries = db.session.execute(
        select(Transfer.source_id, Transfer.amount_cents, Transfer.period).where(
            Transfer.kind == "expiry"
        )
    ).all()
    assert sorted(expiries) == sorted(
        [
            (ledger.member_account(saver).id, A, "2030-03"),
            (ledger.member_account(spender).id, A - 2500, "2030-03"),
        ]
    )
    assert list(ledger.verify()) == []


def test_a_month_where_no_balance_passes_the_cap_writes_no_expiry_statement(app):
    """The expiry statement runs only when some credited balance passed the cap (most months)."""
    from sqlalchemy import event

    set_setting("rollover", {"rule": "cap", "cap_months": 2})
    make_member(), make_member()
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        allocate_month("2030-01")  # 0 -> 100 €
        allocate_month("2030-02")  # 100 -> 200 €: at the cap, not above
        ordinary = [s for s in statements if "'expiry'" in s and s.lstrip().startswith("INSERT")]
        statements.clear()
        capped = allocate_month("2030-03")  # 200 -> 300 €: 100 € each return to the caisse
        expiry = [s for s in statements if "'expiry'" in s and s.lstrip().startswith("INSERT")]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert ordinary == []
    assert len(expiry) == 1 and (capped.expired_members, capped.expired_cents) == (2, 2 * A)
    assert list(ledger.verify()) == []


def test_the_expire_rule_returns_what_was_left_before_the_credit(app):
    set_setting("rollover", {"rule": "expire"})
    member, other = make_member(), make_member()
    allocate_month("2030-01")
    _spend(member, 3000)
    summary = allocate_month("2030-02")
    assert _balances([member, other]) == [A, A]
    assert (summary.expired_members, summary.expired_cents) == (2, (A - 3000) + A)
    _spend(member, A)  # spent everything: nothing left to expire next month
    summary = allocate_month("2030-03")
    assert summary.expired_members == 1 and summary.expired_cents == A
    assert list(ledger.verify()) == []


def test_the_none_rule_keeps_everything(app):
    set_setting("rollover", {"rule": "none"})
    member = make_member()
    for period in ("2030-01", "2030-02", "2030-03", "2030-04"):
        summary = allocate_month(period)
        assert summary.expired_cents == 0
    assert _balances([member]) == [4 * A]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "expiry")
        )
        == 0
    )


def test_a_rerun_expires_nothing_more(app):
    set_setting("rollover", {"rule": "expire"})
    member = make_member()
    allocate_month("2030-01")
    allocate_month("2030-02")
    again = allocate_month("2030-02")
    assert (again.members_credited, again.expired_members, again.expired_cents) == (0, 0, 0)
    assert _balances([member]) == [A]


@pytest.mark.parametrize(
    ("rollover", "cap"),
    [
        ({"rule": "cap", "cap_months": 2}, 2 * A),
        ({"rule": "cap", "cap_months": 3}, 3 * A),
        ({"rule": "expire"}, A),
        ({"rule": "none"}, None),
    ],
)
def test_balance_cap_follows_the_association_data(app, rollover, cap):
    set_setting("rollover", rollover)
    assert balance_cap() == cap


def test_an_unknown_rule_is_refused(app):
    set_setting("rollover", {"rule": "lottery"})
    make_member()
    with pytest.raises(ValueError):
        allocate_month("2030-01")


def test_the_amount_comes_from_the_association_data(app):
    set_setting("allocation_cents", 7500)
    member = make_member()
    summary = allocate_month("2030-01")
    assert summary.total_cents == 7500 and _balances([member]) == [7500]


def test_members_without_an_account_get_one(app):
    member = make_member()
    assert db.session.scalar(select(Account).where(Account.member_id == member.id)) is None
    allocate_month("2030-01")
    assert ledger.balance(ledger.member_account(member)) == A


def test_progress_reports_every_batch(app):
    for _ in range(5):
        make_member()
    seen = []
    allocate_month("2030-01", batch_size=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5) and [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) == 3


@pytest.mark.parametrize("bad", ["2030-13", "2030-1", "30-01", "2030/01", "", "janvier", "2030-00"])
def test_months_are_written_yyyy_mm(bad):
    with pytest.raises(InvalidPeriod):
        Month.parse(bad)


def test_allocation_rows_carry_period_date_and_unique_references(app):
    for _ in range(3):
        make_member()
    allocate_month("2030-07", actor_id=None)
    rows = db.session.scalars(select(Transfer).where(Transfer.kind == "allocation")).all()
    assert {r.period for r in rows} == {"2030-07"}
    assert {r.occurred_on.isoformat() for r in rows} == {"2030-07-01"}
    assert all(r.reference == ledger.reference_for(r.id) for r in rows)
    assert all(r.source_id == ledger.system_account("caisse").id for r in rows)


def test_a_member_approved_after_the_run_is_credited_at_approval(app):
    make_member()
    period = str(Month.current())
    allocate_month(period)
    late = make_member()
    row = allocate_member_now(late)
    assert row is not None and row.period == period and row.amount_cents == A
    assert allocate_member_now(late) is None
    assert allocate_month(period).members_credited == 0
    assert _balances([late]) == [A]
    assert list(ledger.verify()) == []


def test_a_member_approved_before_the_run_is_not_credited_twice(app):
    early = make_member()
    assert allocate_member_now(early) is not None
    summary = allocate_month(str(Month.current()))
    assert summary.members_credited == 0 and _balances([early]) == [A]


def test_allocate_member_now_skips_inactive_members_and_applies_the_cap(app):
    assert allocate_member_now(make_member(status="suspended")) is None
    set_setting("rollover", {"rule": "expire"})
    member = make_member()
    allocate_month("2000-01")
    row = allocate_member_now(member)
    assert row is not None and _balances([member]) == [A]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "expiry")
        )
        == 1
    )


def test_cli_allocate_prints_a_summary_and_runs_once(app, runner):
    for _ in range(3):
        make_member()
    db.session.commit()
    result = runner.invoke(args=["ssa", "allocate", "--month", "2025-05"])
    assert result.exit_code == 0, result.output
    assert "2025-05: 3 member(s) credited, total 300.00 EUR" in result.output
    again = runner.invoke(args=["ssa", "allocate", "--month", "2025-05"])
    assert again.exit_code == 0 and "0 member(s) credited" in again.output
    assert sorted(_allocations("2025-05").values()) == [1, 1, 1]


@pytest.mark.parametrize("month", ["2030-13", "05-2030", "may"])
def test_cli_allocate_refuses_a_bad_month(app, runner, month):
    make_member()
    db.session.commit()
    result = runner.invoke(args=["ssa", "allocate", "--month", month])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output
    assert _allocations() == {}
