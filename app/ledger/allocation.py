"""The monthly allocation: the caisse credits every active member once per month.

A run is set-based SQL, a few statements per batch of members, never one ORM object per member:
1. the caisse account row is locked (PostgreSQL; SQLite holds the whole database's write lock),
   so that runs for the same month, and `allocate_member_now`, follow one another;
2. missing member accounts are created (`INSERT ... SELECT`);
3. per batch of member ids: the allocation transfers are inserted for the members without one
   for the month (`INSERT ... SELECT ... ON CONFLICT DO NOTHING` on the unique index of one
   allocation per member and month), their balances are credited from
   those very rows (`UPDATE ... WHERE id IN (SELECT ...)`), then the roll-over rule writes
   `expiry` transfers for balances above the cap and lowers those balances by their amounts
   (a month where no balance can pass the cap skips that statement: SQLite looks at the highest
   balance first, under its write lock; PostgreSQL counts them in the credit's `RETURNING`);
4. the caisse is debited by the total credited and credited by the total expired.

Rows of this run are told apart by id: every transfer row inserted by a statement has a larger id
than any row that existed before it (ids come from one sequence, or from the maximum under
SQLite's write lock), and no other allocation for the month can run meanwhile.

Roll-over rules (`association()["rollover"]`):
- `{"rule": "cap", "cap_months": 2}`: unspent money carries over, but after the monthly credit the
  balance is capped at `cap_months` allocations; the excess returns to the caisse;
- `{"rule": "expire"}`: what was left of earlier months returns to the caisse at the new month's
  run. This is the cap rule with a cap of one allocation: after the credit, the balance above
  one allocation is exactly what was left before it;
- `{"rule": "none"}`: no cap.
The rule applies to the members credited by the run, so a re-run expires nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.orm.attributes import set_committed_value

from app.core.calendar import Month
from app.core.columns import UTCDateTime, utcnow
from app.core.extensions import db
from app.core.settings import association, scheduled_allocation
from app.ledger import transfers as ledger
from app.ledger.errors import (
    AlreadyAllocated,
    EarlierMonthNeedsForce,
    MonthBeforeFirstAllocation,
    MonthInFuture,
)
from app.ledger.models import Account, Transfer

BATCH_SIZE = 50_000


@dataclass(frozen=True)
class AllocationSummary:
    members_credited: int
    total_cents: int
    expired_members: int
    expired_cents: int
    period: str = ""


def allocation_cents(period: str | None = None, rules: dict | None = None) -> int:
    """The amount credited for `period` (default: this month), from the schedule of amounts."""
    return scheduled_allocation(rules, period)


def balance_cap(rules: dict | None = None, period: str | None = None) -> int | None:
    """The highest balance a member keeps after the monthly credit of `period` (default: this
    month), or None for no cap."""
    rules = rules or association()
    amount = allocation_cents(period, rules)
    rollover = rules.get("rollover") or {"rule": "cap", "cap_months": 2}
    rule = rollover.get("rule", "cap")
    if rule == "cap":
        return int(rollover.get("cap_months", 2)) * amount
    if rule == "expire":
        return amount
    if rule == "none":
        return None
    raise ValueError(f"unknown roll-over rule {rule!r}")


_TYPES = {"now": UTCDateTime(), "day": Date()}


def _typed(sql: str):
    """`text(sql)` with the date parameters it uses typed (the driver gets dates, not strings)."""
    statement = text(sql)
    return statement.bindparams(
        *(bindparam(name, type_=kind) for name, kind in _TYPES.items() if f":{name}" in sql)
    )


class _Ids:
    """SQL for the ids of rows inserted by `INSERT ... SELECT` (see `ledger.post`)."""

    def __init__(self):
        self.postgresql = db.session.get_bind().dialect.name == "postgresql"
        if self.postgresql:
            sequence = db.session.execute(
                text("SELECT pg_get_serial_sequence('transfer', 'id')")
            ).scalar_one()
            self.sequence = sequence.replace("'", "''")

    def expression(self, order_by: str) -> str:
        if self.postgresql:
            return f"nextval('{self.sequence}')"
        return ":base + row_number() OVER ()"


def _max_transfer_id() -> int:
    return db.session.execute(text("SELECT coalesce(max(id), 0) FROM transfer")).scalar_one()


# An allocation already made for the month is skipped by the unique index itself, row by row.
# (A NOT EXISTS anti-join over the month's rows let PostgreSQL, whose statistics cannot know
# the rows this very run inserted, rescan them all for every member: quadratic at 1,000,000.)
_SKIP_ALLOCATED = "ON CONFLICT (period, destination_id) WHERE kind = 'allocation' DO NOTHING"


def _insert_transfers(
    ids: _Ids,
    kind: str,
    source: str,
    destination: str,
    amount: str,
    rows_sql: str,
    params: dict,
    on_conflict: str = "",
) -> tuple[int, int]:
    """Insert one transfer per row of `rows_sql` (aliased `a`); return the id below all the new
    rows, and their number."""
    before = _max_transfer_id()
    statement = f"""
        INSERT INTO transfer (id, kind, source_id, destination_id, amount_cents, actor_id, created_at,
                              occurred_on, reference, period, memo)
        SELECT s.id, '{kind}', s.source_id, s.destination_id, s.amount_cents, CAST(:actor AS INTEGER), :now, :day,
               {ledger.reference_sql("s.id", cast=False)}, :period, ''
        FROM (SELECT {ids.expression("a.id")} AS id, {source} AS source_id, {destination} AS destination_id,
                     {amount} AS amount_cents
              {rows_sql}) s
        WHERE true {on_conflict}
    """
    inserted = db.session.execute(_typed(statement), {**params, "base": before}).rowcount
    return before, inserted


def _create_member_accounts(now) -> None:
    db.session.execute(
        _typed(
            """
            INSERT INTO account (kind, member_id, balance_cents, created_at)
            SELECT 'member', m.id, 0, :now FROM member m
            WHERE m.status = 'active' AND NOT EXISTS (SELECT 1 FROM account a WHERE a.member_id = m.id)
            ON CONFLICT DO NOTHING
            """
        ),
        {"now": now},
    )


def _member_range() -> tuple[int, int, int]:
    """Lowest and highest id of the active members, and their number."""
    low, high, total = db.session.execute(
        text(
            "SELECT coalesce(min(id), 0), coalesce(max(id), 0), count(*) FROM member WHERE status = 'active'"
        )
    ).one()
    return low, high, total


def _credit_batch(
    ids: _Ids, params: dict, low: int, high: int, cap: int | None
) -> tuple[int, int, int]:
    """Allocate to the active members with ids in (low, high]; return (credited, expired members,
    expired cents)."""
    # The range is stated on both sides of the join so that each is read through its index.
    members = "m.id > :low AND m.id <= :high AND a.member_id > :low AND a.member_id <= :high"
    batch = {**params, "low": low, "high": high}
    before, credited = _insert_transfers(
        ids,
        "allocation",
        ":caisse",
        "a.id",
        ":amount",
        f"FROM account a JOIN member m ON m.id = a.member_id WHERE m.status = 'active' AND {members}",
        batch,
        on_conflict=_SKIP_ALLOCATED,
    )
    # `kind || ''` keeps both planners off the kind indexes: the batch's rows are the last ones of
    # the primary key, while the month's index part grows with every batch.
    this_run = "SELECT destination_id FROM transfer WHERE id > :before AND kind || '' = 'allocation' AND period = :period"
    if not credited:
        return 0, 0, 0
    credit = f"UPDATE account SET balance_cents = balance_cents + :amount WHERE id IN ({this_run})"
    if cap is not None and ids.postgresql:
        # The credit itself says how many balances passed the cap (the new balances of rows it
        # holds locked): when none did, as in most months, the expiry statement is skipped.
        above = db.session.execute(
            text(
                f"WITH credited AS ({credit} RETURNING balance_cents) SELECT count(*) FROM credited WHERE balance_cents > :cap"
            ),
            {**batch, "before": before, "cap": cap},
        ).scalar_one()
        if not above:
            return credited, 0, 0
    else:
        db.session.execute(text(credit), {**batch, "before": before})
    if cap is None:
        return credited, 0, 0
    # The credited rows are now locked by this transaction: their balances cannot change under us.
    expiry_before, count = _insert_transfers(
        ids,
        "expiry",
        "a.id",
        ":caisse",
        "a.balance_cents - :cap",
        f"FROM account a WHERE a.id IN ({this_run}) AND a.balance_cents > :cap",
        {**batch, "before": before, "cap": cap},
    )
    if not count:
        return credited, 0, 0
    expired = "FROM transfer e WHERE e.id > :expiry_before AND e.kind || '' = 'expiry' AND e.period = :period"
    cents = db.session.execute(
        text(f"SELECT coalesce(sum(e.amount_cents), 0) {expired}"),
        {**batch, "expiry_before": expiry_before},
    ).scalar_one()
    if ids.postgresql:
        lower = (
            f"UPDATE account SET balance_cents = account.balance_cents - e.amount_cents"
            f" {expired} AND e.source_id = account.id"
        )
    else:
        # SQLite would drive an UPDATE ... FROM from a scan of every account: look the rows up instead.
        lower = f"""UPDATE account SET balance_cents = balance_cents - (
                        SELECT e.amount_cents {expired} AND e.source_id = account.id)
                    WHERE id IN (SELECT e.source_id {expired})"""
    db.session.execute(text(lower), {**batch, "expiry_before": expiry_before})
    return credited, count, int(cents)


def first_allocated_month() -> Month | None:
    """The association's first allocation: the earliest month any member was credited."""
    period = db.session.scalar(
        select(func.min(Transfer.period)).where(Transfer.kind == "allocation")
    )
    return Month.of(period) if period else None


def is_allocated(month: Month) -> bool:
    """At least one member received `month`'s allocation."""
    return (
        db.session.scalar(
            select(Transfer.id)
            .where(Transfer.kind == "allocation", Transfer.period == str(month))
            .limit(1)
        )
        is not None
    )


def check_month(month: Month, *, force: bool = False, current: Month | None = None) -> None:
    """The guards of a run for `month` (read-only): refuse a month after `current` (default:
    this month, Paris) and one before the first allocation; a past month never allocated
    needs `force`. Before any allocation (the first run) any month up to `current` goes.
    A past month already (partly) allocated goes: a re-run credits only the members missed."""
    current = current or Month.current()
    if month > current:
        raise MonthInFuture()
    first = first_allocated_month()
    if first is None:
        return
    if month < first:
        raise MonthBeforeFirstAllocation(str(first))
    if month < current and not is_allocated(month) and not force:
        raise EarlierMonthNeedsForce()


def allocate_month(
    period: str | None = None,
    actor_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> AllocationSummary:
    """Credit the month's allocation to every active member not yet credited for `period`
    (default: the current month), then apply the roll-over rule. Flushes, never commits.

    `progress(done, total)` is called after each batch with (about) the number of active
    members dealt with so far, and the number of active members.
    """
    month = Month.parse(period) if period else Month.current()
    period = str(month)
    rules = association()
    amount = allocation_cents(period, rules)
    if amount <= 0:
        raise ValueError("the allocation amount must be positive")
    cap = balance_cap(rules, period)
    now = utcnow()
    caisse = ledger.system_account("caisse")
    db.session.flush()
    # Runs for the same month queue here (a row lock on PostgreSQL; SQLite: BEGIN IMMEDIATE).
    db.session.execute(select(Account.id).where(Account.id == caisse.id).with_for_update())

    ids = _Ids()
    if not ids.postgresql and cap is not None:
        # SQLite holds the write lock: if no member account can pass the cap, skip the check.
        highest = db.session.execute(
            text("SELECT coalesce(max(balance_cents), 0) FROM account WHERE kind = 'member'")
        ).scalar_one()
        if highest + amount <= cap:
            cap = None
    _create_member_accounts(now)
    first, last, total = _member_range()
    params = {
        "caisse": caisse.id,
        "amount": amount,
        "actor": actor_id,
        "now": now,
        "day": month.first_day,
        "period": period,
    }
    credited = expired_members = expired_cents = 0
    # Batches are ranges of member ids (ids are nearly dense, and a range needs no counting).
    for low in range(first - 1, last, batch_size) if total else ():
        high = min(low + batch_size, last)
        batch = _credit_batch(ids, params, low, high, cap)
        credited += batch[0]
        expired_members += batch[1]
        expired_cents += batch[2]
        if progress is not None:
            progress(round(total * (high - first + 1) / (last - first + 1)), total)

    if credited or expired_cents:
        new_balance = db.session.execute(
            text(
                "UPDATE account SET balance_cents = balance_cents - :out + :back WHERE id = :caisse"
                " RETURNING balance_cents"
            ),
            {"out": credited * amount, "back": expired_cents, "caisse": caisse.id},
        ).scalar_one()
        set_committed_value(caisse, "balance_cents", new_balance)
    # Bulk statements bypass the identity map: accounts loaded earlier must be read again.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Account) and obj is not caisse:
            db.session.expire(obj, ["balance_cents"])
    return AllocationSummary(credited, credited * amount, expired_members, expired_cents, period)


def allocate_member_now(member, actor_id: int | None = None) -> Transfer | None:
    """Credit the current month to a member who has not received it yet (called at approval,
    so that a member approved after the month's run is not left out). Returns the allocation
    transfer, or None when the member is not active or was already credited this month."""
    if member.status != "active":
        return None
    month = Month.current()
    period = str(month)
    account = ledger.member_account(member)
    caisse = ledger.system_account("caisse")
    already = db.session.scalar(
        select(Transfer.id).where(
            Transfer.kind == "allocation",
            Transfer.destination_id == account.id,
            Transfer.period == period,
        )
    )
    if already:
        return None
    rules = association()
    try:
        row = ledger.transfer(
            source=caisse,
            destination=account,
            amount_cents=allocation_cents(period, rules),
            kind="allocation",
            actor_id=actor_id,
            period=period,
            occurred_on=month.first_day,
        )
    except AlreadyAllocated:
        return None
    cap = balance_cap(rules, period)
    current = ledger.balance(account)
    if cap is not None and current > cap:
        ledger.transfer(
            source=account,
            destination=caisse,
            amount_cents=current - cap,
            kind="expiry",
            actor_id=actor_id,
            period=period,
            occurred_on=month.first_day,
        )
    return row


# --- What the next run will do ------------------------------------------------------------


def allocated_periods() -> set[str]:
    """The months in which at least one allocation was credited (their amount is settled)."""
    rows = db.session.execute(
        text(
            "SELECT DISTINCT period FROM transfer WHERE kind = 'allocation' AND period IS NOT NULL"
        )
    ).scalars()
    return {str(p) for p in rows}


def next_period(today_month: Month | None = None) -> str:
    """The next month a run will credit: this month if nothing was credited in it yet, else the
    next one. A month with any allocation (a run, or a member approved during it) is taken."""
    month = today_month or Month.current()
    return str(month) if str(month) not in allocated_periods() else str(month.shift(1))


def preview(period: str | None = None, rules: dict | None = None) -> AllocationSummary:
    """What `allocate_month(period)` would do now under `rules` (default: the association's),
    computed from the current balances without writing anything: the members it would credit,
    the total, and the members and cents the roll-over rule would send back to the caisse."""
    period = str(Month.parse(period)) if period else next_period()
    rules = rules or association()
    amount = allocation_cents(period, rules)
    cap = balance_cap(rules, period)
    row = db.session.execute(
        text(
            """SELECT count(*),
                  coalesce(sum(CASE WHEN :cap >= 0 AND c.balance + :amount > :cap THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN :cap >= 0 AND c.balance + :amount > :cap
                                    THEN c.balance + :amount - :cap ELSE 0 END), 0)
               FROM (SELECT coalesce(a.balance_cents, 0) AS balance
                     FROM member m LEFT JOIN account a ON a.member_id = m.id
                     WHERE m.status = 'active' AND NOT EXISTS (
                         SELECT 1 FROM transfer t WHERE t.kind = 'allocation'
                         AND t.destination_id = a.id AND t.period = :period)) c"""
        ),
        {"amount": amount, "cap": -1 if cap is None else cap, "period": period},
    ).one()
    credited, expired_members, expired_cents = (int(v) for v in row)
    return AllocationSummary(credited, credited * amount, expired_members, expired_cents, period)
