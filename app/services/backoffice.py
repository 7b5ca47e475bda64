"""Back-office operations: each is the domain operation plus its entry in the audit log, in one
transaction, so that the journal holds exactly what was done (flushes, never commits).

The domain services (membership, cards, contributions, allocation, ledger) know nothing of the
back office; this module is what the admin views call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.i18n import fold
from app.models import Application, Commune, Member, Merchant, User
from app.models.ledger import Account, Transfer
from app.services import allocation, audit, cards, contributions, ledger, membership
from app.services.applications import clean_line
from app.services.cards import MAX_PIN_FAILURES
from app.services.errors import NothingToCorrect
from app.services.pagination import Pagination, page_in_range, paginate

PER_PAGE = 50


# Finding members


def search_members(
    text: str = "", status: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Pagination:
    """Members whose name, number or commune contains `text` (accents and case ignored, as the
    merchants' search: "boen" finds Boën, "ines" Inès), by status ('locked': card locked).

    Folding is done in Python, the same on SQLite and PostgreSQL (neither folds accents in SQL
    without an extension): the few columns searched are read for the members of that status,
    then only the page's members are loaded."""
    query = select(Member)
    if status == "locked":
        query = query.where(Member.pin_failures >= MAX_PIN_FAILURES, Member.status != "erased")
    elif status:
        query = query.where(Member.status == status)
    text = clean_line(text or "")
    if not text:
        return paginate(query, (Member.number,), page, per_page)
    wanted = fold(text)  # empty for punctuation only ("%"): then nothing matches but a number
    digits = "".join(text.split())
    rows = db.session.execute(
        query.with_only_columns(
            Member.id, Member.number, Member.first_name, Member.last_name, Commune.name
        )
        .outerjoin(Commune, Commune.id == Member.commune_id)
        .order_by(Member.number)
    ).all()
    ids = [row[0] for row in rows if _member_matches(row, wanted, digits)]
    page = page_in_range(page, len(ids), per_page)
    shown = ids[(page - 1) * per_page : page * per_page]
    by_id = (
        {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(shown)))}
        if shown
        else {}
    )
    return Pagination([by_id[i] for i in shown], page, per_page, len(ids))


def _member_matches(row, wanted: str, digits: str) -> bool:
    _id, number, first, last, commune = row
    if digits.isdigit() and (number or "").startswith(digits):
        return True
    return bool(wanted) and any(
        wanted in fold(value)
        for value in (f"{first or ''} {last or ''}", f"{last or ''} {first or ''}", commune or "")
    )


def pending_applications() -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.status == "pending")
            .order_by(Application.created_at, Application.id)
        )
    )


def member_by_number(number: str) -> Member:
    """`InvalidMemberNumber` for a typo, `UnknownMember` when nobody (or an erased member) has it."""
    return membership.find_by_number(number)


@dataclass(frozen=True)
class MemberFile:
    """What the member's page shows."""

    member: Member
    balance_cents: int
    locked: bool
    activated: bool
    contributions: list[Transfer]
    paid_this_year_cents: int
    movements: membership.MovementPage
    journal: list


def member_file(member: Member, page: int = 1) -> MemberFile:
    paid = contributions.contributions_of(member)
    year = ledger.today().year
    return MemberFile(
        member=member,
        balance_cents=membership.current_balance(member),
        locked=cards.is_locked(member),
        activated=bool(member.user and member.user.password_hash),
        contributions=paid[:24],
        paid_this_year_cents=sum(t.amount_cents for t in paid if t.occurred_on.year == year),
        movements=membership.movements(member, page=page, per_page=25),
        journal=audit.journal(target_type="member", target_id=member.id, per_page=20).items,
    )


# Applications and members


# Approvals, rejections, suspensions and contributions are written to the audit log by their
# own services (app.services.membership, app.services.contributions), whoever calls them: the
# back office or the command line.


def approve_application(application: Application, actor_id: int) -> membership.Approval:
    return membership.approve(application, actor_id=actor_id)


def reject_application(application: Application, reason: str, actor_id: int) -> None:
    membership.reject(application, reason, actor_id=actor_id)


def suspend_member(member: Member, actor_id: int, reason: str = "") -> bool:
    """False when the membership was already suspended (a form sent again): nothing changes."""
    if member.status == "suspended":
        return False
    membership.suspend(member, actor_id=actor_id, reason=reason)
    return True


def reactivate_member(member: Member, actor_id: int) -> bool:
    """False when the membership was already active: nothing changes."""
    if member.status == "active":
        return False
    membership.reactivate(member, actor_id=actor_id)
    return True


def unlock_card(member: Member, actor_id: int) -> bool:
    """False when the card was not locked (unlocked meanwhile, or a form sent again)."""
    if not cards.is_locked(member):
        return False
    failures = member.pin_failures
    cards.unlock_card(member)
    audit.record(
        actor_id,
        "member.card_unlocked",
        "member",
        member.id,
        {"number": member.number, "wrong_pins": failures},
    )
    return True


def replace_card(member: Member, actor_id: int) -> bool:
    """A new card (new QR token): the old card stops paying."""
    membership.report_lost_card(member)
    audit.record(actor_id, "member.card_replaced", "member", member.id, {"number": member.number})
    return True


def send_activation(member: Member, actor_id: int):
    """The activation e-mail again, or (no e-mail) a new letter code, returned to print."""
    issued = membership.send_activation(member)
    audit.record(
        actor_id,
        "member.activation_letter",
        "member",
        member.id,
        {"number": member.number, "by": "letter" if issued else "email"},
    )
    return issued


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


# Corrections


def find_sale(reference: str) -> Transfer | None:
    """The purchase with this receipt reference (case and spaces forgiven), or None."""
    cleaned = "".join((reference or "").split()).upper()
    if not cleaned:
        return None
    return db.session.scalar(
        select(Transfer).where(Transfer.reference == cleaned, Transfer.kind == "purchase")
    )


@dataclass(frozen=True)
class SaleLine:
    sale: Transfer
    member: Member | None
    merchant: Merchant | None
    reversal: Transfer | None


def sale_lines(sales: list[Transfer]) -> list[SaleLine]:
    """Sales with their member, merchant and reversal (refund or correction), in a few queries."""
    if not sales:
        return []
    ids = [s.id for s in sales]
    reversals = {
        t.reverses_id: t
        for t in db.session.scalars(
            select(Transfer).where(
                Transfer.reverses_id.in_(ids), Transfer.kind.in_(("refund", "correction"))
            )
        )
    }
    account_ids = {s.source_id for s in sales} | {s.destination_id for s in sales}
    accounts = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(account_ids)))
    }
    members = {
        m.id: m
        for m in db.session.scalars(
            select(Member).where(
                Member.id.in_({a.member_id for a in accounts.values() if a.member_id})
            )
        )
    }
    merchants = {
        m.id: m
        for m in db.session.scalars(
            select(Merchant).where(
                Merchant.id.in_({a.merchant_id for a in accounts.values() if a.merchant_id})
            )
        )
    }
    return [
        SaleLine(
            s,
            members.get(accounts[s.source_id].member_id),
            merchants.get(accounts[s.destination_id].merchant_id),
            reversals.get(s.id),
        )
        for s in sales
    ]


def sales_of_member(member: Member, limit: int = 50) -> list[Transfer]:
    account = membership.own_account(member)
    if account is None:
        return []
    return list(
        db.session.scalars(
            select(Transfer)
            .where(Transfer.kind == "purchase", Transfer.source_id == account.id)
            # Newest first by the sale's day and time: ids follow the order rows were written, not
            # the day of the sale (sales recorded later, demo data).
            .order_by(Transfer.occurred_on.desc(), Transfer.created_at.desc(), Transfer.id.desc())
            .limit(limit)
        )
    )


def recent_corrections(limit: int = 30) -> list[SaleLine]:
    original = aliased(Transfer)
    rows = db.session.execute(
        select(Transfer, original)
        .join(original, original.id == Transfer.reverses_id)
        .where(Transfer.kind == "correction", original.kind == "purchase")
        .order_by(Transfer.id.desc())
        .limit(limit)
    ).all()
    return sale_lines([o for _c, o in rows])


def correct_sale(
    sale: Transfer, reason: str, actor_id: int, idempotency_key: str | None
) -> Transfer:
    """Give a sale back to the member: a correction transfer (merchant -> member) with the reason.

    Raises `NothingToCorrect` (not a purchase), `AlreadyReversed` (refunded or corrected already),
    `InsufficientBalance` (the merchant's account was paid out since: settle it first),
    `IdempotencyConflict`.
    """
    if sale.kind != "purchase":
        raise NothingToCorrect(_l("Only a sale can be corrected here."))
    from app.services.applications import clean_line

    reason = clean_line(reason)[:500]
    if not reason:
        raise NothingToCorrect(_l("Give the reason of the correction."))
    row = ledger.reverse(
        sale, kind="correction", actor_id=actor_id, idempotency_key=idempotency_key, memo=reason
    )
    if not row.replayed:
        member = db.session.get(Account, sale.source_id).member
        audit.record(
            actor_id,
            "transfer.corrected",
            "member",
            member.id if member else None,
            {
                "sale": sale.reference,
                "correction": row.reference,
                "amount_cents": sale.amount_cents,
                "reason": reason,
            },
        )
    return row


def admins() -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.role == "admin").order_by(User.display_name))
    )


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

    from app.services.dashboard import month_bounds

    start, end = month_bounds(period)
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

    amount = allocation.allocation_cents()
    cap = allocation.balance_cap()
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
