"""The allocation's schedule of amounts (an amount from its month on, never retroactive) and the
preview of the next run (its figures are what the run then does)."""

from __future__ import annotations

import pytest

from app.core.calendar import Month
from app.core.extensions import db
from app.core.settings import association, scheduled_allocation, set_setting
from app.ledger import allocation
from app.ledger import transfers as ledger
from app.ledger.admin import allocation_runs
from app.setup import settings_admin
from app.setup.errors import ConfirmationNeeded, InvalidSetting
from tests.support.factories import make_member

MARCH = "2026-03"


def _grant(member, cents: int) -> None:
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=cents,
        kind="grant",
    )


def _summary(period: str) -> tuple:
    """What the ledger holds for the month: (credited, total, expired members, expired cents)."""
    run = next(r for r in allocation_runs() if r.period == period)
    return run.members_credited, run.total_cents, run.expired_members, run.expired_cents


@pytest.mark.parametrize(
    "period, cents",
    [
        ("2026-01", 10_000),
        ("2026-02", 10_000),
        ("2026-03", 8_000),
        ("2026-05", 8_000),
        ("2026-06", 12_000),
        ("2027-01", 12_000),
    ],
)
def test_an_amount_applies_from_its_month_on(period, cents):
    rules = {
        "allocation_cents": 10_000,
        "allocation_schedule": [
            {"from": "2026-06", "cents": 12_000},
            {"from": "2026-03", "cents": 8_000},
        ],
    }
    assert scheduled_allocation(rules, period) == cents


def test_without_a_schedule_the_amount_is_allocation_cents():
    assert scheduled_allocation({"allocation_cents": 7_500}, "2030-01") == 7_500


def test_the_run_credits_the_amount_of_its_month(app):
    member = make_member()
    set_setting("allocation_schedule", [{"from": MARCH, "cents": 8_000}])
    allocation.allocate_month("2026-02")
    allocation.allocate_month(MARCH)
    db.session.commit()
    assert _summary("2026-02")[1] == 10_000
    assert _summary(MARCH)[1] == 8_000
    # The cap follows the month's amount too: two allocations of 80 € in March.
    assert _summary(MARCH)[3] == 2_000
    assert ledger.balance(ledger.member_account(member)) == 16_000
    assert not ledger.verify()


def test_a_new_amount_is_never_applied_to_a_month_already_allocated(app):
    make_member()
    current = Month.current()
    allocation.allocate_month(str(current))
    db.session.commit()
    with pytest.raises(InvalidSetting) as refused:
        settings_admin.save_allocation(5_000, str(current), "cap", 2, True, None)
    assert refused.value.details["field"] == "start"
    with pytest.raises(InvalidSetting):
        settings_admin.save_allocation(5_000, str(current.shift(-1)), "cap", 2, True, None)
    # From next month: saved; this month's credit is unchanged.
    settings_admin.save_allocation(5_000, str(current.shift(1)), "cap", 2, True, None)
    assert allocation.allocation_cents(str(current)) == 10_000
    assert allocation.allocation_cents(str(current.shift(1))) == 5_000
    assert _summary(str(current))[1] == 10_000


def test_a_later_decision_replaces_entries_from_its_month(app):
    current = Month.current()
    settings_admin.save_allocation(9_000, str(current.shift(2)), "cap", 2, True, None)
    settings_admin.save_allocation(11_000, str(current.shift(1)), "cap", 2, True, None)
    assert association()["allocation_schedule"] == [
        {"from": str(current.shift(1)), "cents": 11_000}
    ]
    # The amount already in effect: no entry is added.
    settings_admin.save_allocation(11_000, str(current.shift(3)), "cap", 2, True, None)
    assert association()["allocation_schedule"] == [
        {"from": str(current.shift(1)), "cents": 11_000}
    ]


@pytest.mark.parametrize("cents", [0, 99, 1_000_000, 100_001])
def test_amounts_out_of_bounds_are_refused(app, cents):
    with pytest.raises(InvalidSetting) as refused:
        settings_admin.plan_allocation(cents, allocation.next_period(), "cap", 2)
    assert refused.value.details["field"] == "amount"


@pytest.mark.parametrize("cap", [0, None, -1, 25])
def test_a_cap_of_zero_is_refused(app, cap):
    with pytest.raises(InvalidSetting) as refused:
        settings_admin.plan_allocation(10_000, allocation.next_period(), "cap", cap)
    assert refused.value.details["field"] == "cap_months"


def _population():
    members = [make_member() for _ in range(4)]
    make_member(status="suspended")
    _grant(members[0], 25_000)
    _grant(members[1], 12_000)
    _grant(members[2], 3_000)
    db.session.commit()
    return members


@pytest.mark.parametrize(
    "rollover",
    [
        {"rule": "cap", "cap_months": 2},
        {"rule": "cap", "cap_months": 1},
        {"rule": "expire"},
        {"rule": "none"},
    ],
)
@pytest.mark.parametrize("cents", [10_000, 6_000, 15_000])
def test_the_preview_equals_what_the_run_then_does(app, rollover, cents):
    _population()
    period = "2026-04"
    rules = {
        **association(),
        "allocation_schedule": [{"from": period, "cents": cents}],
        "rollover": rollover,
    }
    expected = allocation.preview(period, rules)
    set_setting("allocation_schedule", rules["allocation_schedule"])
    set_setting("rollover", rollover)
    done = allocation.allocate_month(period)
    db.session.commit()
    assert expected == done
    assert (done.members_credited, done.total_cents) == (4, 4 * cents)
    assert _summary(period) == (
        expected.members_credited,
        expected.total_cents,
        expected.expired_members,
        expected.expired_cents,
    )


def test_the_preview_skips_members_already_credited_and_writes_nothing(app):
    members = _population()
    period = str(Month.current())
    allocation.allocate_member_now(members[3])
    db.session.commit()
    before = ledger.balance(ledger.system_account("caisse"))
    figures = allocation.preview(period)
    assert figures.members_credited == 3
    # 250 + 100 above 200: 150 back; 120 + 100 above 200: 20 back.
    assert (figures.expired_members, figures.expired_cents) == (2, 17_000)
    assert ledger.balance(ledger.system_account("caisse")) == before
    assert allocation.allocate_month(period) == figures


def test_the_next_period_is_this_month_until_it_is_allocated(app):
    make_member()
    current = Month.current()
    assert allocation.next_period() == str(current)
    allocation.allocate_month(str(current))
    assert allocation.next_period() == str(current.shift(1))


def test_lowering_the_amount_needs_a_confirmation_when_balances_expire(app):
    _population()
    period = allocation.next_period()
    with pytest.raises(ConfirmationNeeded):
        settings_admin.save_allocation(5_000, period, "cap", 2, False, None)
    plan = settings_admin.plan_allocation(5_000, period, "cap", 2)
    assert plan.more_expiry
    assert plan.proposed.expired_cents > plan.current.expired_cents
    assert association()["allocation_schedule"] == []
    settings_admin.save_allocation(5_000, period, "cap", 2, True, None)
    assert allocation.allocation_cents(period) == 5_000


def test_raising_the_amount_or_loosening_the_rule_needs_no_confirmation(app):
    _population()
    period = allocation.next_period()
    assert not settings_admin.plan_allocation(12_000, period, "cap", 2).more_expiry
    assert not settings_admin.plan_allocation(10_000, period, "none", None).more_expiry
    assert settings_admin.plan_allocation(10_000, period, "expire", None).more_expiry


def test_a_lower_amount_from_a_later_month_is_previewed_for_that_month_too(app):
    _population()
    later = str(Month.parse(allocation.next_period()).shift(2))
    plan = settings_admin.plan_allocation(4_000, later, "cap", 2)
    assert plan.proposed == plan.current  # the next run is unchanged
    assert plan.proposed_start is not None and plan.proposed_start.period == later
    assert plan.more_expiry
