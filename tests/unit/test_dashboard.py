"""The dashboard's figures, checked against sums computed here from the transfers the test makes."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from app.core.calendar import Month
from app.core.extensions import db as _db
from app.ledger import allocation, contributions
from app.ledger import transfers as ledger
from app.members.models import Application, Commune
from app.merchants.models import Category
from app.reports import dashboard
from tests.support.factories import make_member, make_merchant


def _commune(name):
    return _db.session.scalar(_db.select(Commune).where(Commune.name == name))


def _category(slug):
    return _db.session.scalar(_db.select(Category).where(Category.slug == slug))


def test_periods():
    assert str(Month.parse("2026-01").shift(-1)) == "2025-12"
    assert str(Month.parse("2025-12").shift(1)) == "2026-01"
    assert dashboard.last_periods("2026-03", 12)[0] == "2025-04"
    assert Month.parse("2025-12").end.isoformat() == "2026-01-01"


@pytest.mark.parametrize(
    ("cents", "top"),
    [
        (0, 100),
        (99, 100),
        (101, 200),
        (95_000, 100_000),
        (100_001, 200_000),
        (230_000, 250_000),
        (260_000, 500_000),
        (7_100_000, 10_000_000),
    ],
)
def test_the_chart_scale_is_round_and_above_the_highest_bar(cents, top):
    assert dashboard._nice_ceiling(cents) == top


def test_figures_match_the_ledger(app, db):
    this = str(Month.current())
    last = str(Month.parse(this).shift(-1))
    start_this = Month.parse(this).first_day
    start_last = Month.parse(last).first_day
    boen, leigneux = _commune("Boën-sur-Lignon"), _commune("Leigneux")
    members = [
        make_member(commune_id=boen.id),
        make_member(commune_id=boen.id),
        make_member(commune_id=leigneux.id),
    ]
    make_member(status="suspended")
    locked = make_member(pin_failures=3, commune_id=leigneux.id)
    farm = make_merchant(name="Ferme A")
    shop = make_merchant(name="Épicerie B", kind="shop")
    veg, bread = _category("fruits-legumes"), _category("pain")
    _db.session.add(
        Application(
            first_name="A",
            last_name="B",
            commune_id=boen.id,
            address="x",
            email="a@b.test",
            contribution_cents=0,
            status="pending",
        )
    )
    _db.session.flush()

    expected = defaultdict(lambda: defaultdict(int))
    # Allocations: last month (members active then) and this month.
    run_last = allocation.allocate_month(last)
    run_this = allocation.allocate_month(this)
    expected[last]["allocations"] += run_last.total_cents
    expected[this]["allocations"] += run_this.total_cents
    expected[this]["expired"] += run_this.expired_cents
    # Contributions, one of them cancelled by a correction this month.
    for member, cents, day in (
        (members[0], 1500, start_last),
        (members[1], 2000, start_this),
        (members[2], 700, start_this),
    ):
        contributions.record_contribution(member, cents, day, "cash")
        expected[day.strftime("%Y-%m")]["contributions"] += cents
    wrong = contributions.record_contribution(members[2], 999, start_this, "cash")
    ledger.reverse(wrong, kind="correction", actor_id=None, memo="erreur de saisie")
    # Sales this month; one refunded, one corrected; one last month (not in this month's breakdown).
    sales = defaultdict(int)
    by_category, by_merchant, by_commune = defaultdict(int), defaultdict(int), defaultdict(int)

    def sell(member, merchant, category, cents, day=None):
        row = ledger.transfer(
            source=ledger.member_account(member),
            destination=ledger.merchant_account(merchant),
            amount_cents=cents,
            kind="purchase",
            category_id=category.id,
            occurred_on=day,
        )
        return row

    plan = [
        (members[0], farm, veg, 1250),
        (members[0], shop, bread, 480),
        (members[1], farm, veg, 2000),
        (members[2], shop, bread, 330),
        (locked, farm, veg, 900),
    ]
    rows = []
    for member, merchant, category, cents in plan:
        rows.append(sell(member, merchant, category, cents))
        sales["count"] += 1
        sales["cents"] += cents
        by_category[category.tr("name")] += cents
        by_merchant[merchant.name] += cents
        by_commune[member.commune.name if member.commune else None] += cents
    for reversal_kind, row in (("refund", rows[1]), ("correction", rows[2])):
        ledger.reverse(row, kind=reversal_kind, actor_id=None, memo="")
        sales["cents"] -= row.amount_cents
        by_category[row.category.tr("name")] -= row.amount_cents
        merchant = row.destination.merchant
        by_merchant[merchant.name] -= row.amount_cents
        by_commune[row.source.member.commune.name] -= row.amount_cents
    old_sale = sell(members[0], shop, bread, 1111, day=start_last + timedelta(days=3))
    db.session.commit()

    board = dashboard.compute()
    assert board.active_members == 4 and board.suspended_members == 1
    assert board.pending_applications == 1 and board.locked_cards == 1
    assert board.caisse_cents == ledger.balance(ledger.system_account("caisse"))
    member_total = sum(ledger.balance(ledger.member_account(m)) for m in [*members, locked])
    assert board.held_by_members_cents == member_total
    assert board.owed_to_merchants_cents == ledger.balance(
        ledger.merchant_account(farm)
    ) + ledger.balance(ledger.merchant_account(shop))
    # Only last month's sale is owed for a month already over.
    assert (board.unpaid_merchants, board.unpaid_cents) == (1, old_sale.amount_cents)
    months = {m.period: m for m in board.months}
    assert len(board.months) == 12 and board.months[-1].period == this
    for period in (last, this):
        assert months[period].contributions_cents == expected[period]["contributions"], period
        assert months[period].allocations_cents == expected[period]["allocations"], period
        assert months[period].expired_cents == expected[period]["expired"], period
    assert board.this_month.coverage == pytest.approx(2700 / expected[this]["allocations"])
    assert (board.sales_count, board.sales_total_cents) == (sales["count"], sales["cents"])
    assert {s.label: s.cents for s in board.by_category} == dict(by_category)
    assert {s.label: s.cents for s in board.by_merchant} == dict(by_merchant)
    assert {s.label: s.cents for s in board.by_commune} == dict(by_commune)
    assert sum(s.sales for s in board.by_merchant) == sales["count"]
    # Last month's breakdown holds last month's sale only.
    earlier = dashboard.compute(last)
    assert (earlier.sales_count, earlier.sales_total_cents) == (1, 1111)
    assert (earlier.unpaid_merchants, earlier.unpaid_cents) == (
        board.unpaid_merchants,
        board.unpaid_cents,
    )
    assert not ledger.verify()


def test_an_empty_caisse(app, db):
    board = dashboard.compute()
    assert (board.active_members, board.caisse_cents, board.sales_total_cents) == (0, 0, 0)
    assert board.this_month.coverage is None and not board.needs_attention
    chart = dashboard.chart(board.months, str, lambda m: m.period)
    assert len(chart.bars) == 24 and all(bar.height == 0 for bar in chart.bars)


def test_upcoming_events_fill_rate(app, db):
    from tests.support.factories import make_event, make_registration

    event = make_event(capacity=10)
    make_registration(event, people=3)
    make_event(days_ahead=-5)
    db.session.commit()
    [fill] = dashboard.compute().events
    assert (fill.event.id, fill.people, fill.capacity, fill.ratio) == (event.id, 3, 10, 0.3)
