"""Members' contributions, paid in euros outside the app and recorded into the ledger.

A contribution moves money from the `contributions` system account (where outside money enters;
its balance is minus the total received) to the `caisse`. The member who paid is kept on the
transfer (`Transfer.member_id`): neither account is theirs. A contribution recorded by mistake is
cancelled by a correction transfer that reverses it (caisse -> contributions), with the reason.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.audit import log as audit
from app.core import calendar
from app.core.extensions import db
from app.core.i18n import MAX_AMOUNT_CENTS, money
from app.ledger import transfers as ledger
from app.ledger.errors import AlreadyReversed, InvalidContribution
from app.ledger.models import CONTRIBUTION_METHODS, Transfer

METHODS = CONTRIBUTION_METHODS


def record_contribution(
    member,
    amount_cents: int,
    paid_on: date,
    method: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
    reference: str | None = None,
) -> Transfer:
    """Record a contribution paid by `member` on `paid_on` (flushes, never commits).

    `reference` is the payment's own reference (cheque number, bank label), kept as the memo.
    Raises `InvalidContribution` for an unknown method, a date in the future or an amount above
    the forms' maximum (`MAX_AMOUNT_CENTS`), `ValueError` for an amount that is not a positive
    number of cents.
    """
    if method not in METHODS:
        raise InvalidContribution(_l("Choose how the contribution was paid."))
    if not isinstance(paid_on, date):
        raise InvalidContribution(_l("Enter the date of the payment."))
    if paid_on > calendar.today():
        raise InvalidContribution(_l("The payment date cannot be in the future."))
    if isinstance(amount_cents, int) and amount_cents > MAX_AMOUNT_CENTS:  # the forms' maximum
        raise InvalidContribution(
            _l("This amount is too large (at most %(max)s).", max=money(MAX_AMOUNT_CENTS))
        )
    if member.id is None:
        db.session.flush()
    memo = (reference or "").strip()[:500]
    row = ledger.transfer(
        source=ledger.system_account("contributions"),
        destination=ledger.system_account("caisse"),
        amount_cents=amount_cents,
        kind="contribution",
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        memo=memo,
        method=method,
        occurred_on=paid_on,
        member_id=member.id,
    )
    if not row.replayed:
        audit.record(
            actor_id,
            "contribution.recorded",
            "member",
            member.id,
            {
                "number": member.number,
                "amount_cents": amount_cents,
                "paid_on": paid_on,
                "method": method,
                "transfer": row.reference,
            },
        )
    return row


def is_reversed():
    """SQL: a transfer reverses the `Transfer` row of the outer query (`~is_reversed()`: a
    contribution not cancelled)."""
    reversal = aliased(Transfer)
    return select(reversal.id).where(reversal.reverses_id == Transfer.id).exists()


def contributions_of(member, limit: int | None = None) -> list[Transfer]:
    """The contributions recorded for a member and not cancelled, latest payment first."""
    query = (
        select(Transfer)
        .where(Transfer.kind == "contribution", Transfer.member_id == member.id, ~is_reversed())
        .order_by(Transfer.occurred_on.desc(), Transfer.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def cancellations_of(rows: list[Transfer]) -> dict[int, Transfer]:
    """The correction that cancelled each of these contributions, by contribution id."""
    ids = [t.id for t in rows]
    if not ids:
        return {}
    return {
        t.reverses_id: t
        for t in db.session.scalars(
            select(Transfer).where(Transfer.reverses_id.in_(ids), Transfer.kind == "correction")
        )
    }


def cancel_contribution(
    contribution: Transfer, reason: str, actor_id: int | None, idempotency_key: str | None = None
) -> Transfer:
    """Cancel a contribution recorded by mistake (flushes, never commits): a correction transfer
    moves its amount back from the caisse, at most once; the same key again returns it (`replayed`).

    Raises `InvalidContribution` (not a contribution, no reason), `AlreadyReversed` (cancelled
    already), `IdempotencyConflict`, and whatever the ledger refuses.
    """
    from app.members.applications import clean_line
    from app.members.models import Member

    if contribution.kind != "contribution":
        raise InvalidContribution(_l("Only a contribution can be cancelled here."))
    reason = clean_line(reason or "")[:500]
    if not reason:
        raise InvalidContribution(_l("Give the reason of the cancellation."))
    try:
        row = ledger.reverse(
            contribution,
            kind="correction",
            actor_id=actor_id,
            idempotency_key=idempotency_key,
            memo=reason,
        )
    except AlreadyReversed:
        raise AlreadyReversed(
            _l("This contribution was already cancelled: nothing was changed.")
        ) from None
    if not row.replayed:
        member = db.session.get(Member, contribution.member_id) if contribution.member_id else None
        audit.record(
            actor_id,
            "contribution.cancelled",
            "member",
            contribution.member_id,
            {
                "number": member.number if member else None,
                "amount_cents": contribution.amount_cents,
                "paid_on": contribution.occurred_on,
                "transfer": contribution.reference,
                "correction": row.reference,
                "reason": reason,
            },
        )
    return row
