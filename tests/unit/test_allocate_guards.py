"""`flask ssa allocate`'s guards: no future month, no month before the association's first
allocation, and a past month never allocated only with `--force`, its preview printed first."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.calendar import Month
from app.core.extensions import db
from app.ledger.allocation import allocate_month, check_month, first_allocated_month
from app.ledger.errors import EarlierMonthNeedsForce, MonthBeforeFirstAllocation, MonthInFuture
from app.ledger.models import Transfer
from tests.support.factories import make_member

CURRENT = Month(2026, 6)  # the guards' "now", given explicitly


def _allocations(period: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Transfer)
        .where(Transfer.kind == "allocation", Transfer.period == period)
    )


def test_a_future_month_is_refused(app):
    with pytest.raises(MonthInFuture):
        check_month(CURRENT.shift(1), current=CURRENT)
    with pytest.raises(MonthInFuture):
        check_month(Month(2100, 12), force=True, current=CURRENT)


def test_before_any_allocation_every_month_up_to_now_goes(app):
    assert first_allocated_month() is None
    check_month(CURRENT, current=CURRENT)
    check_month(Month(2024, 1), current=CURRENT)  # the first run may start in the past


def test_a_month_before_the_first_allocation_is_refused_even_forced(app):
    make_member()
    allocate_month("2026-03")
    assert first_allocated_month() == Month(2026, 3)
    with pytest.raises(MonthBeforeFirstAllocation) as refused:
        check_month(Month(2026, 2), force=True, current=CURRENT)
    assert refused.value.first == "2026-03"


def test_a_past_month_never_allocated_needs_force(app):
    make_member()
    allocate_month("2026-03")
    with pytest.raises(EarlierMonthNeedsForce):
        check_month(Month(2026, 4), current=CURRENT)
    check_month(Month(2026, 4), force=True, current=CURRENT)


def test_a_past_month_already_allocated_and_the_current_month_go(app):
    make_member()
    allocate_month("2026-03")
    check_month(Month(2026, 3), current=CURRENT)  # a re-run: credits only those missed
    check_month(CURRENT, current=CURRENT)  # the monthly run


# --- the command (its "now" is the real current month: months are taken relative to it) ---


def _run(runner, *args):
    return runner.invoke(args=["ssa", "allocate", *args])


def test_cli_refuses_a_future_month(app, runner):
    make_member()
    db.session.commit()
    future = str(Month.current().shift(1))
    result = _run(runner, "--month", future)
    assert result.exit_code == 2, result.output
    assert "has not begun" in result.output
    assert _allocations(future) == 0
    assert _run(runner, "--month", future, "--force").exit_code == 2


def test_cli_refuses_a_month_before_the_first_allocation(app, runner):
    make_member()
    first = Month.current().shift(-2)
    allocate_month(str(first))
    db.session.commit()
    before = str(first.shift(-1))
    for extra in ((), ("--force",)):
        result = _run(runner, "--month", before, *extra)
        assert result.exit_code == 2, result.output
        assert f"before the association's first allocation ({first})" in result.output
    assert _allocations(before) == 0


def test_cli_refuses_an_unallocated_past_month_without_force_and_prints_the_preview(app, runner):
    for _ in range(2):
        make_member()
    first = Month.current().shift(-2)
    allocate_month(str(first))
    db.session.commit()
    missed = str(first.shift(1))
    result = _run(runner, "--month", missed)
    assert result.exit_code == 2, result.output
    assert f"{missed} would credit 2 member(s)" in result.output
    assert "total 200.00 EUR" in result.output
    assert "--force" in result.output
    assert _allocations(missed) == 0


def test_cli_with_force_prints_the_preview_then_credits(app, runner):
    for _ in range(2):
        make_member()
    first = Month.current().shift(-2)
    allocate_month(str(first))
    db.session.commit()
    missed = str(first.shift(1))
    result = _run(runner, "--month", missed, "--force")
    assert result.exit_code == 0, result.output
    preview = result.output.index(f"{missed} would credit 2 member(s)")
    summary = result.output.index(f"{missed}: 2 member(s) credited")
    assert preview < summary
    assert _allocations(missed) == 2


def test_cli_runs_the_current_month_without_force(app, runner):
    make_member()
    allocate_month(str(Month.current().shift(-1)))
    db.session.commit()
    result = _run(runner)
    assert result.exit_code == 0, result.output
    assert _allocations(str(Month.current())) == 1


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "13-2026", "2026-13", "", "9" * 5000])
def test_cli_refuses_a_month_out_of_range_or_badly_written(app, runner, month):
    make_member()
    db.session.commit()
    result = _run(runner, "--month", month)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
