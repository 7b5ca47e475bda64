"""The back office's corrections of sales: find a sale by its receipt or the member, list them,
and correct one (a reversing transfer plus its audit entry, in one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.audit import log as audit
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.models import Account, Transfer
from app.members import membership
from app.members.models import Member
from app.merchants.models import Merchant
from app.register.errors import NothingToCorrect

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
    from app.members.applications import clean_line

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
