"""The back office's dashboard: where the caisse stands, computed from the ledger.

Every figure is a set-based aggregate (a few GROUP BY queries, no row per member or sale in
Python), so the page stays quick with a million sales. Monthly figures use each transfer's own
date (`occurred_on`, Europe/Paris): a correction or refund counts in the month it was made.

- Contributions received: money from the `contributions` system account into the caisse, minus
  corrections sending it back.
- Allocations credited: allocation transfers minus corrections of allocations; expiries (the
  roll-over rule giving unspent money back to the caisse) are shown apart.
- Coverage: contributions received ÷ allocations credited, for the month.
- Sales: purchases minus their refunds and corrections, by product category, merchant and the
  member's commune.
- Unpaid settlements: what merchants' accounts hold beyond the current month's net sales, that
  is euros owed for months already over.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from app.core.calendar import Month
from app.core.extensions import db
from app.events import registrations as event_service
from app.ledger import transfers as ledger
from app.ledger.models import Account
from app.members.cards import MAX_PIN_FAILURES
from app.members.models import Application, Commune, Member
from app.merchants.models import Category, Merchant

MONTHS = 12


def last_periods(period: str, count: int = MONTHS) -> list[str]:
    """The `count` months ending with `period`, oldest first."""
    month = Month.of(period)
    return [str(month.shift(offset)) for offset in range(-(count - 1), 1)]


@dataclass(frozen=True)
class MonthFigures:
    period: str
    contributions_cents: int = 0
    allocations_cents: int = 0
    expired_cents: int = 0

    @property
    def coverage(self) -> float | None:
        """Contributions ÷ allocations credited (None when nothing was credited)."""
        if self.allocations_cents <= 0:
            return None
        return self.contributions_cents / self.allocations_cents

    @property
    def start(self) -> date:
        return Month.of(self.period).first_day


@dataclass(frozen=True)
class Share:
    label: str
    cents: int
    sales: int


@dataclass(frozen=True)
class EventFill:
    event: object
    people: int
    capacity: int | None

    @property
    def ratio(self) -> float | None:
        return None if not self.capacity else self.people / self.capacity


@dataclass
class Dashboard:
    period: str
    active_members: int = 0
    suspended_members: int = 0
    pending_applications: int = 0
    locked_cards: int = 0
    caisse_cents: int = 0
    held_by_members_cents: int = 0
    owed_to_merchants_cents: int = 0
    unpaid_merchants: int = 0
    unpaid_cents: int = 0
    months: list[MonthFigures] = field(default_factory=list)
    sales_total_cents: int = 0
    sales_count: int = 0
    by_category: list[Share] = field(default_factory=list)
    by_merchant: list[Share] = field(default_factory=list)
    by_commune: list[Share] = field(default_factory=list)
    events: list[EventFill] = field(default_factory=list)

    @property
    def this_month(self) -> MonthFigures:
        return self.months[-1] if self.months else MonthFigures(self.period)

    @property
    def needs_attention(self) -> bool:
        return bool(self.pending_applications or self.locked_cards or self.unpaid_merchants)


def _month_sql(column: str) -> str:
    """'YYYY-MM' of a DATE column, on either engine."""
    if db.session.get_bind().dialect.name == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"substr({column}, 1, 7)"


def _system_ids() -> dict[str, int]:
    ledger.system_account("caisse")  # creates the system accounts of an empty ledger
    return dict(
        db.session.execute(select(Account.code, Account.id).where(Account.kind == "system")).all()
    )


def member_counts() -> dict[str, int]:
    rows = db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all()
    return {status: int(count) for status, count in rows}


def monthly_flows(periods: list[str]) -> list[MonthFigures]:
    """Contributions, allocations and expiries per month, net of their corrections."""
    start, end = Month.of(periods[0]).first_day, Month.of(periods[-1]).end
    systems = _system_ids()
    month = _month_sql("t.occurred_on")
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = db.session.execute(
        text(
            f"""SELECT {month} AS month, t.kind,
                       sum(CASE WHEN t.destination_id = :caisse THEN t.amount_cents ELSE -t.amount_cents END)
                FROM transfer t
                WHERE t.kind IN ('contribution', 'correction') AND t.occurred_on >= :start AND t.occurred_on < :end
                  AND ((t.source_id = :contributions AND t.destination_id = :caisse)
                       OR (t.source_id = :caisse AND t.destination_id = :contributions))
                GROUP BY {month}, t.kind"""
        ),
        {
            "start": start,
            "end": end,
            "caisse": systems["caisse"],
            "contributions": systems["contributions"],
        },
    ).all()
    for period, _kind, cents in rows:
        figures[period]["contributions"] += int(cents or 0)
    rows = db.session.execute(
        text(
            f"""SELECT {month} AS month, t.kind, sum(t.amount_cents) FROM transfer t
                WHERE t.kind IN ('allocation', 'expiry') AND t.occurred_on >= :start AND t.occurred_on < :end
                GROUP BY {month}, t.kind"""
        ),
        {"start": start, "end": end},
    ).all()
    for period, kind, cents in rows:
        figures[period]["allocations" if kind == "allocation" else "expired"] += int(cents or 0)
    # Corrections of allocations and expiries are rare: join them to what they undo.
    rows = db.session.execute(
        text(
            f"""SELECT {month} AS month, o.kind, sum(t.amount_cents) FROM transfer t
                JOIN transfer o ON o.id = t.reverses_id
                WHERE t.kind = 'correction' AND o.kind IN ('allocation', 'expiry')
                  AND t.occurred_on >= :start AND t.occurred_on < :end
                GROUP BY {month}, o.kind"""
        ),
        {"start": start, "end": end},
    ).all()
    for period, kind, cents in rows:
        figures[period]["allocations" if kind == "allocation" else "expired"] -= int(cents or 0)
    return [
        MonthFigures(
            p, figures[p]["contributions"], figures[p]["allocations"], figures[p]["expired"]
        )
        for p in periods
    ]


# Net sales: purchases count positive, their refunds and corrections negative. A purchase goes
# from a member's account to a merchant's; its reversal the other way. Refunds only ever reverse
# purchases; corrections may reverse anything, so those are kept only between a merchant's and a
# member's account (a handful of rows, joined).
#
# The month's million purchases are read from the covering index `ix_transfer_kind_day` alone
# (kind, day, category, merchant's account, member's account, amount), twice, with one kind per
# part so that no CASE is evaluated per row: the merchant's side grouped by (day, category,
# merchant's account), which is the index's own order (no sort; a few thousand rows summed
# again), and the member's side grouped by the member's account (a few thousand totals, then
# joined to the members' communes). Refunds and corrections, a few percent, are grouped apart.

_MERCHANT_SIDE = """
    SELECT p.category_id, p.account, sum(p.cents), sum(p.sales) FROM (
        SELECT t.category_id AS category_id, t.destination_id AS account,
               sum(t.amount_cents) AS cents, count(*) AS sales
        FROM transfer t
        WHERE t.kind = 'purchase' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.occurred_on, t.category_id, t.destination_id
        UNION ALL
        SELECT t.category_id, t.source_id, -sum(t.amount_cents), 0
        FROM transfer t
        WHERE t.kind = 'refund' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.category_id, t.source_id
        UNION ALL
        SELECT t.category_id, t.source_id, -sum(t.amount_cents), 0
        FROM transfer t
        JOIN account ma ON ma.id = t.source_id AND ma.kind = 'merchant'
        JOIN account ba ON ba.id = t.destination_id AND ba.kind = 'member'
        WHERE t.kind = 'correction' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.category_id, t.source_id
    ) p
    GROUP BY p.category_id, p.account"""

_MEMBER_SIDE = """
    SELECT m.commune_id, sum(g.cents), sum(g.sales) FROM (
        SELECT t.source_id AS account, sum(t.amount_cents) AS cents, count(*) AS sales
        FROM transfer t
        WHERE t.kind = 'purchase' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.source_id
        UNION ALL
        SELECT t.destination_id, -sum(t.amount_cents), 0
        FROM transfer t
        WHERE t.kind = 'refund' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.destination_id
        UNION ALL
        SELECT t.destination_id, -sum(t.amount_cents), 0
        FROM transfer t
        JOIN account ma ON ma.id = t.source_id AND ma.kind = 'merchant'
        JOIN account ba ON ba.id = t.destination_id AND ba.kind = 'member'
        WHERE t.kind = 'correction' AND t.occurred_on >= :start AND t.occurred_on < :end
        GROUP BY t.destination_id
    ) g
    JOIN account a ON a.id = g.account
    JOIN member m ON m.id = a.member_id
    GROUP BY m.commune_id"""


@dataclass(frozen=True)
class MonthSales:
    by_merchant_account: dict[
        tuple[int | None, int], tuple[int, int]
    ]  # (category, account) -> (cents, sales)
    by_commune: dict[int | None, tuple[int, int]]

    @property
    def total_cents(self) -> int:
        return sum(cents for cents, _ in self.by_merchant_account.values())

    @property
    def count(self) -> int:
        return sum(sales for _, sales in self.by_merchant_account.values())

    def merchant_totals(self) -> dict[int, int]:
        totals: dict[int, int] = defaultdict(int)
        for (_category, account), (cents, _sales) in self.by_merchant_account.items():
            totals[account] += cents
        return totals


def month_sales(period: str) -> MonthSales:
    """Net sales of `period` by (category, merchant's account) and by the member's commune."""
    month = Month.of(period)
    params = {"start": month.first_day, "end": month.end}
    merchant_side = {
        (category, account): (int(cents or 0), int(sales or 0))
        for category, account, cents, sales in db.session.execute(text(_MERCHANT_SIDE), params)
    }
    communes = {
        commune: (int(cents or 0), int(sales or 0))
        for commune, cents, sales in db.session.execute(text(_MEMBER_SIDE), params)
    }
    return MonthSales(merchant_side, communes)


def _shares(totals: dict, labels: dict, unknown: str) -> list[Share]:
    shares = [
        Share(labels.get(key, unknown) if key is not None else unknown, cents, sales)
        for key, (cents, sales) in totals.items()
    ]
    return sorted(shares, key=lambda s: (-s.cents, s.label))


def breakdowns(sales: MonthSales) -> tuple[list[Share], list[Share], list[Share]]:
    """(by category, by merchant, by the member's commune), largest first, labelled."""
    by_category: dict = defaultdict(lambda: (0, 0))
    by_account: dict = defaultdict(lambda: (0, 0))
    for (category, account), (cents, count) in sales.by_merchant_account.items():
        by_category[category] = (by_category[category][0] + cents, by_category[category][1] + count)
        by_account[account] = (by_account[account][0] + cents, by_account[account][1] + count)
    categories = {
        c.id: c.tr("name")
        for c in db.session.scalars(
            select(Category).where(Category.id.in_([k for k in by_category if k is not None]))
        )
    }
    owners = dict(
        db.session.execute(
            select(Account.id, Account.merchant_id).where(Account.id.in_(list(by_account)))
        ).all()
    )
    names = dict(
        db.session.execute(
            select(Merchant.id, Merchant.name).where(
                Merchant.id.in_([m for m in owners.values() if m is not None])
            )
        ).all()
    )
    by_merchant: dict = defaultdict(lambda: (0, 0))
    for account, (cents, count) in by_account.items():
        merchant = owners.get(account)
        by_merchant[merchant] = (by_merchant[merchant][0] + cents, by_merchant[merchant][1] + count)
    communes = dict(
        db.session.execute(
            select(Commune.id, Commune.name).where(
                Commune.id.in_([k for k in sales.by_commune if k is not None])
            )
        ).all()
    )
    return (
        _shares(by_category, categories, str(_l("No category"))),
        _shares(by_merchant, names, str(_l("Unknown merchant"))),
        _shares(sales.by_commune, communes, str(_l("No commune (erased member)"))),
    )


def merchant_dues(this_month: MonthSales) -> tuple[int, int, int]:
    """(merchants owed money for months already over, their total, all that merchants hold).

    A merchant's account holds its net sales not paid out yet; what exceeds the current month's
    net sales (`this_month`) belongs to months already over: a settlement is due.
    """
    current = this_month.merchant_totals()
    balances = db.session.execute(
        select(Account.id, Account.balance_cents).where(Account.kind == "merchant")
    ).all()
    past_due = [int(balance) - current.get(account_id, 0) for account_id, balance in balances]
    past_due = [cents for cents in past_due if cents > 0]
    return len(past_due), sum(past_due), sum(int(balance) for _id, balance in balances)


def upcoming_events(limit: int = 5) -> list[EventFill]:
    events = event_service.upcoming(limit=limit, include_cancelled=False)
    people = event_service.people_by_event(e.id for e in events)
    return [EventFill(e, people.get(e.id, 0), e.capacity) for e in events]


def compute(period: str | None = None) -> Dashboard:
    """Every figure of the dashboard; `period` ('YYYY-MM') chooses the month (default: this one)."""
    period = str(Month.parse(period) if period else Month.current())
    board = Dashboard(period=period)
    counts = member_counts()
    board.active_members = counts.get("active", 0)
    board.suspended_members = counts.get("suspended", 0)
    board.pending_applications = db.session.scalar(
        select(func.count()).select_from(Application).where(Application.status == "pending")
    )
    board.locked_cards = db.session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.pin_failures >= MAX_PIN_FAILURES, Member.status != "erased")
    )
    systems = _system_ids()
    held = dict(
        db.session.execute(
            select(Account.kind, func.coalesce(func.sum(Account.balance_cents), 0))
            .where(Account.kind != "system")
            .group_by(Account.kind)
        ).all()
    )
    board.caisse_cents = db.session.scalar(
        select(Account.balance_cents).where(Account.id == systems["caisse"])
    )
    board.held_by_members_cents = int(held.get("member", 0))
    board.months = monthly_flows(last_periods(period))
    sales = month_sales(period)
    board.sales_total_cents, board.sales_count = sales.total_cents, sales.count
    board.by_category, board.by_merchant, board.by_commune = breakdowns(sales)
    # What needs attention is about today, whichever month is looked at.
    current = str(Month.current())
    board.unpaid_merchants, board.unpaid_cents, board.owed_to_merchants_cents = merchant_dues(
        sales if period == current else month_sales(current)
    )
    board.events = upcoming_events()
    return board


# The 12-month chart, drawn on the server as SVG (no script, no inline style).


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label)
    labels: list[tuple[float, str, str]]  # (x, month label, year or '')
    baseline: float
    left: float


def chart(
    months: list[MonthFigures],
    format_money,
    format_month,
    format_tick=None,
    format_axis=None,
    width: int = 640,
    height: int = 260,
) -> Chart:
    """Bars of contributions and allocations per month, with a labelled vertical scale."""
    format_tick = format_tick or format_money
    format_axis = format_axis or format_month
    left, right, top, bottom = 84.0, 8.0, 12.0, 40.0
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max(
        [1, *(m.contributions_cents for m in months), *(m.allocations_cents for m in months)]
    )
    scale_top = _nice_ceiling(highest)
    slot = plot_w / max(len(months), 1)
    bar_w = slot * 0.36
    baseline = top + plot_h
    bars, labels = [], []
    for index, month in enumerate(months):
        x0 = left + index * slot + slot * 0.12
        for offset, cents, css, name in (
            (0, month.contributions_cents, "bar-contrib", _l("Contributions")),
            (bar_w, month.allocations_cents, "bar-alloc", _l("Allocations")),
        ):
            h = max(cents, 0) / scale_top * plot_h
            bars.append(
                Bar(
                    round(x0 + offset, 1),
                    round(baseline - h, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    css,
                    f"{format_month(month)} · {name}: {format_money(cents)}",
                )
            )
        # The year only under the first month and each January, so that twelve labels fit.
        year = str(month.start.year) if index == 0 or month.start.month == 1 else ""
        labels.append((round(left + index * slot + slot / 2, 1), format_axis(month), year))
    ticks = [
        (round(baseline - plot_h * i / 4, 1), format_tick(scale_top * i // 4)) for i in range(5)
    ]
    return Chart(width, height, bars, ticks, labels, round(baseline, 1), left)


def _nice_ceiling(cents: int) -> int:
    """A round top for the scale (1, 2, 2.5 or 5 times a power of ten, in euros)."""
    euros = max(cents / 100, 1)
    power = 1
    while power * 10 <= euros:
        power *= 10
    for step in (1, 2, 2.5, 5, 10):
        if euros <= step * power:
            return int(step * power * 100)
    return int(10 * power * 100)  # pragma: no cover
