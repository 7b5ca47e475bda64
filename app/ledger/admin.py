"""The treasurer's back-office operations on money: record a contribution and run the allocation
(each with its audit entry, in one transaction), pledges against payments, allocation runs and
previews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.audit import log as audit
from app.core.calendar import Month
from app.core.extensions import db
from app.core.pagination import Pagination, page_in_range
from app.ledger import allocation, contributions
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.models import Member

# Contributions


def record_contribution(
    member: Member,
    amount_cents: int,
    paid_on: date,
    method: str,
    actor_id: int,
    idempotency_key: str | None,
    reference: str = "",
) -> Transfer:
    """Record a payment (once per key: a double click returns the first receipt)."""
    return contributions.record_contribution(
        member,
        amount_cents,
        paid_on,
        method,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        reference=reference,
    )


# Allocation


def run_allocation(period: str, actor_id: int) -> allocation.AllocationSummary:
    """The month's allocation (the same service as `flask ssa allocate`); a second run credits
    only members not credited yet, so running twice pays nobody twice."""
    result = allocation.allocate_month(period, actor_id=actor_id)
    audit.record(
        actor_id,
        "allocation.run",
        "period",
        None,
        {
            "period": result.period,
            "members_credited": result.members_credited,
            "total_cents": result.total_cents,
            "expired_members": result.expired_members,
            "expired_cents": result.expired_cents,
        },
    )
    return result


# Pledged against paid


@dataclass(frozen=True)
class PledgeLine:
    member_id: int
    number: str
    name: str
    status: str
    pledge_cents: int
    paid_cents: int

    @property
    def difference_cents(self) -> int:
        return self.paid_cents - self.pledge_cents


@dataclass(frozen=True)
class PledgeTable:
    period: str
    lines: Pagination
    pledged_cents: int
    paid_cents: int
    members: int
    behind: int


def pledges_against_payments(
    period: str, only_behind: bool = False, page: int = 1, per_page: int = 100
) -> PledgeTable:
    """Per member: the monthly pledge and what was paid in `period` (contributions dated in that
    month and not cancelled). Members listed: not erased, or who paid that month."""
    from sqlalchemy import text

    month = Month.parse(period)
    start, end = month.first_day, month.end
    paid_sql = """
        SELECT t.member_id, sum(t.amount_cents) AS paid FROM transfer t
        WHERE t.kind = 'contribution' AND t.occurred_on >= :start AND t.occurred_on < :end
          AND NOT EXISTS (SELECT 1 FROM transfer r WHERE r.reverses_id = t.id)
        GROUP BY t.member_id"""
    base = f"""
        FROM member m LEFT JOIN ({paid_sql}) p ON p.member_id = m.id
        WHERE (m.status <> 'erased' OR p.paid IS NOT NULL)"""
    behind = " AND coalesce(p.paid, 0) < m.pledge_cents"
    params = {"start": start, "end": end}
    totals = db.session.execute(
        text(
            f"""SELECT count(*), coalesce(sum(m.pledge_cents), 0), coalesce(sum(p.paid), 0),
                   coalesce(sum(CASE WHEN coalesce(p.paid, 0) < m.pledge_cents THEN 1 ELSE 0 END), 0) {base}"""
        ),
        params,
    ).one()
    listed = base + (behind if only_behind else "")
    count = db.session.execute(text(f"SELECT count(*) {listed}"), params).scalar_one()
    page = page_in_range(page, count, per_page)
    rows = db.session.execute(
        text(
            f"""SELECT m.id, m.number, m.first_name, m.last_name, m.status, m.pledge_cents, coalesce(p.paid, 0) {listed}
            ORDER BY m.number LIMIT :limit OFFSET :offset"""
        ),
        {**params, "limit": per_page, "offset": (page - 1) * per_page},
    ).all()
    lines = [PledgeLine(r[0], r[1], f"{r[2]} {r[3]}", r[4], int(r[5]), int(r[6])) for r in rows]
    return PledgeTable(
        period,
        Pagination(lines, page, per_page, count),
        int(totals[1]),
        int(totals[2]),
        int(totals[0]),
        int(totals[3]),
    )


def recent_contributions(limit: int = 20) -> list[tuple[Transfer, Member | None]]:
    return list(
        db.session.execute(
            select(Transfer, Member)
            .outerjoin(Member, Member.id == Transfer.member_id)
            .where(Transfer.kind == "contribution")
            .order_by(Transfer.id.desc())
            .limit(limit)
        ).all()
    )


# Allocation runs


@dataclass(frozen=True)
class AllocationRun:
    period: str
    members_credited: int
    total_cents: int
    expired_members: int
    expired_cents: int


def allocation_runs(limit: int = 24) -> list[AllocationRun]:
    """Each month's allocation as the ledger holds it, latest first."""
    from sqlalchemy import text

    rows = db.session.execute(
        text(
            """SELECT period, kind, count(*), coalesce(sum(amount_cents), 0) FROM transfer
           WHERE kind IN ('allocation', 'expiry') AND period IS NOT NULL
           GROUP BY period, kind"""
        )
    ).all()
    figures: dict[str, dict] = {}
    for period, kind, count, cents in rows:
        figures.setdefault(period, {})[kind] = (int(count), int(cents))
    runs = [
        AllocationRun(p, *f.get("allocation", (0, 0)), *f.get("expiry", (0, 0)))
        for p, f in figures.items()
    ]
    return sorted(runs, key=lambda r: r.period, reverse=True)[:limit]


@dataclass(frozen=True)
class AllocationPreview:
    period: str
    amount_cents: int
    active_members: int
    already_credited: int
    to_credit: int
    total_cents: int
    expected_expiries: int
    expected_expired_cents: int
    caisse_cents: int
    cap_cents: int | None


def allocation_preview(period: str) -> AllocationPreview:
    """What running the month would do, computed without moving anything."""
    from sqlalchemy import text

    amount = allocation.allocation_cents(period)
    cap = allocation.balance_cap(period=period)
    caisse = ledger.system_account("caisse")
    row = db.session.execute(
        text(
            """SELECT count(*),
                  coalesce(sum(CASE WHEN c.credited THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN NOT c.credited AND :cap >= 0 AND c.balance + :amount > :cap THEN 1 ELSE 0 END), 0),
                  coalesce(sum(CASE WHEN NOT c.credited AND :cap >= 0 AND c.balance + :amount > :cap
                                    THEN c.balance + :amount - :cap ELSE 0 END), 0)
           FROM (SELECT m.id, coalesce(a.balance_cents, 0) AS balance,
                        EXISTS (SELECT 1 FROM transfer t WHERE t.kind = 'allocation' AND t.destination_id = a.id
                                AND t.period = :period) AS credited
                 FROM member m LEFT JOIN account a ON a.member_id = m.id
                 WHERE m.status = 'active') c"""
        ),
        {"amount": amount, "cap": -1 if cap is None else cap, "period": period},
    ).one()
    active, credited, expiries, expired = (int(v) for v in row)
    to_credit = active - credited
    return AllocationPreview(
        period,
        amount,
        active,
        credited,
        to_credit,
        to_credit * amount,
        expiries,
        expired,
        ledger.balance(caisse),
        cap,
    )
