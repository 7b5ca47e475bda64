"""The ledger: accounts and append-only transfers between them, in integer cents.

Only `app/ledger/transfers.py` and `app/ledger/allocation.py` write these tables. The cached
`Account.balance_cents` always equals the sum of the account's incoming transfers minus its
outgoing ones (`flask ssa verify-ledger` checks it).

At most one allocation per member and month is a partial unique index on the transfer itself,
`(period, destination_id) WHERE kind = 'allocation'`: a member owns exactly one account, so the
pair names the member, and the guarantee sits on the money row that would be duplicated, with no
second table to keep in step with it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import UTCDateTime, utcnow
from app.core.extensions import db

ACCOUNT_KINDS = ("member", "merchant", "system")
SYSTEM_ACCOUNTS = ("caisse", "contributions", "grants", "payouts")
TRANSFER_KINDS = (
    "allocation",
    "purchase",
    "refund",
    "expiry",
    "contribution",
    "grant",
    "settlement",
    "correction",
)
REVERSAL_KINDS = ("refund", "correction")
CONTRIBUTION_METHODS = ("transfer", "cash", "cheque", "direct_debit")


def _where_set(index: Index) -> Index:
    """`index` restricted to the rows where its (single) column is not NULL (both engines)."""
    condition = text(f"{index.expressions[0]} IS NOT NULL")
    index.dialect_options["sqlite"]["where"] = condition
    index.dialect_options["postgresql"]["where"] = condition
    return index


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(db.Model):
    """A member's allocation account, a merchant's account, or one of the system accounts.

    Member and merchant accounts never go below zero (a database check backs the conditional
    debit). System accounts may: `contributions` and `grants` are where outside euros come
    from (their negative balance is what was received), `payouts` is where merchants' euros
    go, and the `caisse` is the counterpart of every allocation.
    """

    __table_args__ = (
        CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind"),
        CheckConstraint("kind = 'system' OR balance_cents >= 0", name="balance_not_negative"),
        CheckConstraint(
            "(kind = 'member' AND member_id IS NOT NULL AND merchant_id IS NULL AND code IS NULL)"
            " OR (kind = 'merchant' AND merchant_id IS NOT NULL AND member_id IS NULL AND code IS NULL)"
            " OR (kind = 'system' AND code IS NOT NULL AND member_id IS NULL AND merchant_id IS NULL)",
            name="owner",
        ),
        # Room left in each page, so that PostgreSQL rewrites a balance in place (a HOT update,
        # no new index entries): every sale and every monthly credit updates balances. Half a
        # page lets the monthly credit, one transaction over every account, update them all in
        # place (at 70 % it moved about half of them: the credit took twice as long).
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id"), unique=True, nullable=True
    )
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchant.id"), unique=True, nullable=True
    )
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member = relationship("Member")
    merchant = relationship("Merchant")

    def __repr__(self) -> str:
        owner = self.code or self.member_id or self.merchant_id
        return f"<Account {self.id} {self.kind}:{owner} {self.balance_cents}>"


class Transfer(db.Model):
    """`amount_cents` moved from `source` to `destination`. Never updated, never deleted:
    a mistake is undone by a reversing transfer (`reverses_id`, kinds refund and correction)."""

    __table_args__ = (
        CheckConstraint(_in("kind", TRANSFER_KINDS), name="kind"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("source_id <> destination_id", name="distinct_accounts"),
        CheckConstraint(f"method IS NULL OR {_in('method', CONTRIBUTION_METHODS)}", name="method"),
        Index("ix_transfer_kind_created_at", "kind", "created_at"),
        # Columns that most transfers leave empty are indexed where they are set only, so that
        # the monthly allocation's million rows do not write three more index entries each.
        _where_set(Index("uq_transfer_idempotency_key", "idempotency_key", unique=True)),
        _where_set(Index("ix_transfer_reverses_id", "reverses_id")),
        _where_set(Index("ix_transfer_member_id", "member_id")),
        # A month of one kind (allocations, contributions, sales) by its date: the dashboard's sums,
        # read from this index alone (a month of a million sales by category, merchant and member,
        # services.dashboard.month_sales; bench/backoffice.py). It replaces (kind, occurred_on), its
        # prefix, so a sale still writes the same number of index entries.
        Index(
            "ix_transfer_kind_day",
            "kind",
            "occurred_on",
            "category_id",
            "destination_id",
            "source_id",
            "amount_cents",
        ),
        # What an account received, day by day: a month of a merchant's sales is summed from this
        # index alone, without reading the rows (settlements, statements; bench/backoffice.py).
        Index(
            "ix_transfer_destination_day", "destination_id", "occurred_on", "kind", "amount_cents"
        ),
        # A transfer is reversed at most once.
        Index(
            "uq_transfer_reverses_id",
            "reverses_id",
            unique=True,
            sqlite_where=text("kind IN ('refund', 'correction')"),
            postgresql_where=text("kind IN ('refund', 'correction')"),
        ),
        # At most one allocation per member (= per member account) and month.
        # Month first: a run's new entries all fall in the month's own part of the index.
        Index(
            "uq_transfer_allocation_period",
            "period",
            "destination_id",
            unique=True,
            sqlite_where=text("kind = 'allocation'"),
            postgresql_where=text("kind = 'allocation'"),
        ),
    )

    # Always given explicitly (services.ledger reserves it first): the reference derives from it.
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    # Indexed by ix_transfer_destination_day, whose first column it is.
    destination_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    occurred_on: Mapped[date] = mapped_column()
    # Short code printed on receipts, derived from the id (see services.ledger.reference_for).
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.id"), nullable=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), nullable=True)
    # The month ('YYYY-MM') an allocation or expiry belongs to.
    period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    memo: Mapped[str] = mapped_column(String(500), default="")
    method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Who paid a contribution (contributions move between system accounts, so the payer is
    # not one of the two accounts).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), nullable=True)

    source: Mapped[Account] = relationship(foreign_keys=[source_id])
    destination: Mapped[Account] = relationship(foreign_keys=[destination_id])
    reverses: Mapped[Transfer | None] = relationship(remote_side=[id])
    category = relationship("Category")
    member = relationship("Member")

    # Set by services.ledger.transfer: True when an idempotent retry returned this row.
    replayed = False

    def __repr__(self) -> str:
        return f"<Transfer {self.reference} {self.kind} {self.source_id}->{self.destination_id} {self.amount_cents}>"
