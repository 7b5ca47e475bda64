"""Paying the merchants: what the caisse owes each merchant for a month, their statements, and
the payout recorded in the ledger.

Accounting (DESIGN.md §5). A merchant's ledger account accumulates what the caisse owes them:
each sale (`purchase`, member -> merchant) adds to it; a cancellation (`refund`) or a treasurer's
`correction` of a sale takes back out. When the treasurer pays the merchant in euros (by bank
transfer, see `app.payouts.sepa`), "mark paid" moves the amount paid from the merchant's account
to the `payouts` system account in one `settlement` transfer tagged with the month. The balance
of `payouts` (negative of nothing: it only grows) is what the association has paid out in euros,
and a merchant account's balance is always what is still owed to that merchant.

Months are calendar months in Europe/Paris: a transfer belongs to the month of its
`occurred_on` (the association's date when it happened). For month M and a merchant:

- due(M) = what came in during M minus what went back out during M (sales - refunds -
  corrections), payouts excepted;
- to pay(M) = the account balance as it stood at the end of M, minus what has already been paid
  since: `balance now - max(0, activity after M)`, never below 0. When every earlier month was
  paid, that is due(M); a month left unpaid is carried into the next one ("carried over"), so no
  money is ever lost between months and nothing is paid twice;
- only months that are over can be settled, and each (month, merchant) is settled at most once:
  the settlement transfer carries the idempotency key `settle:<YYYY-MM>:<merchant id>`, so a
  second click, a retry or a concurrent request returns the first payout and moves nothing.
  If a payout is later reversed (a correction), what it paid is owed again and is carried into
  the next month's amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.core.calendar import Month, today
from app.core.extensions import db
from app.core.spreadsheet import Euros, french_csv
from app.ledger import transfers as ledger
from app.ledger.errors import IdempotencyConflict, InsufficientBalance
from app.ledger.models import Account, Transfer
from app.merchants.models import Category, Merchant
from app.payouts.bank_details import iban_is_valid
from app.payouts.errors import NothingToPay, PeriodNotClosed, SettlementChanged

FIRST_YEAR = 2000


# --- months ---------------------------------------------------------------------------------


def parse_period(text: str | None) -> str:
    """`YYYY-MM` -> the same text, or `InvalidPeriod` with a message for the form: months from
    January 2000 to the end of next year."""
    last = Month(today().year + 1, 12)
    return str(Month.parse(text, first=Month(FIRST_YEAR, 1), last=last))


def is_closed(period: str) -> bool:
    return Month.of(period) < Month.current()


def recent_periods(count: int = 12) -> list[str]:
    """The last `count` closed months, newest first (for the month picker)."""
    latest = Month.last_closed()
    return [str(latest.shift(-n)) for n in range(count)]


def period_label(period: str, fmt: str = "LLLL y") -> str:
    """`2026-03` -> "mars 2026" / "March 2026" in the reader's language (for the templates)."""
    return Month.of(period).label(fmt)


def statement_file_name(result: Statement) -> str:
    return f"releve-{slug_for_file(result.merchant.name)}-{result.period}.csv"


def slug_for_file(name: str) -> str:
    """A merchant's name as a file-name part: `L’Épi du Forez` -> `l-epi-du-forez`."""
    from app.core.i18n import fold

    return fold(name).replace(" ", "-")[:40] or "commercant"


def settlement_key(period: str, merchant_id: int) -> str:
    return f"settle:{period}:{merchant_id}"


# --- figures --------------------------------------------------------------------------------


@dataclass
class MerchantMonth:
    """One merchant's figures for one month (all amounts in cents)."""

    merchant: Merchant
    account_id: int
    period: str
    balance_cents: int = 0
    sales_count: int = 0
    sales_cents: int = 0
    refunds_count: int = 0
    refunds_cents: int = 0
    corrections_count: int = 0
    # Net taken back by corrections (a correction that gives back to the merchant counts negative).
    corrections_cents: int = 0
    due_cents: int = 0
    after_cents: int = 0
    paid_cents: int = 0
    settlement: Transfer | None = None

    @property
    def carried_cents(self) -> int:
        """Owed from earlier months (negative: an earlier payout covered part of this month)."""
        return self.balance_cents - self.after_cents + self.paid_cents - self.due_cents

    @property
    def owed_cents(self) -> int:
        """What the month asks for before its own payout: due plus carried over."""
        return self.due_cents + self.carried_cents

    @property
    def payable_cents(self) -> int:
        """What remains to pay for the month now (0 once the month's settlement exists)."""
        if self.settlement is not None:
            return 0
        return max(0, self.balance_cents - max(0, self.after_cents))

    @property
    def status(self) -> str:
        """`paid`, `due` or `nothing` (nothing to pay and nothing paid)."""
        if self.settlement is not None:
            return "paid"
        return "due" if self.payable_cents > 0 else "nothing"

    @property
    def iban_ok(self) -> bool:

        return iban_is_valid(self.merchant.iban)


@dataclass
class MonthSettlement:
    period: str
    lines: list[MerchantMonth]

    def _total(self, name: str, lines=None) -> int:
        return sum(getattr(line, name) for line in (self.lines if lines is None else lines))

    @property
    def sales_cents(self) -> int:
        return self._total("sales_cents")

    @property
    def refunds_cents(self) -> int:
        return self._total("refunds_cents")

    @property
    def corrections_cents(self) -> int:
        return self._total("corrections_cents")

    @property
    def due_cents(self) -> int:
        return self._total("due_cents")

    @property
    def carried_cents(self) -> int:
        return self._total("carried_cents")

    @property
    def paid_cents(self) -> int:
        return self._total("paid_cents")

    @property
    def payable_cents(self) -> int:
        return self._total("payable_cents")

    @property
    def payable(self) -> list[MerchantMonth]:
        return [line for line in self.lines if line.payable_cents > 0]

    @property
    def in_transfer_file(self) -> list[MerchantMonth]:
        """Amounts due to merchants with a valid IBAN: the SEPA file and "mark all paid"."""
        return [line for line in self.payable if line.iban_ok]

    @property
    def blocking(self) -> list[MerchantMonth]:
        """Amounts due that cannot go into the transfer file: the merchant has no valid IBAN."""
        return [line for line in self.payable if not line.iban_ok]

    @property
    def transfer_file_cents(self) -> int:
        return self._total("payable_cents", self.in_transfer_file)


def _payouts_id() -> int:
    return ledger.system_account("payouts").id


@dataclass(frozen=True)
class _Row:
    account_id: int
    incoming: bool
    kind: str
    payout: bool
    occurred_on: date
    period: str | None
    count: int
    cents: int


def _activity_rows(start: date, account_ids: list[int] | None) -> list[_Row]:
    """Transfers touching merchant accounts from `start` on, summed per account, direction, kind,
    day, and "with the payouts account" (with the month a payout is for).

    Three queries. What merchants received is by far the largest part (every sale): it is summed
    from the index `ix_transfer_destination_day` alone, in its order, without reading a row or
    sorting (bench/backoffice.py: a month of a million sales on SQLite). What merchants paid out
    (cancellations, corrections, payouts) and what came back from the payouts account (a
    cancelled payout) are few rows, read through the source index.
    """
    merchants = (
        select(Account.id).where(Account.kind == "merchant")
        if account_ids is None
        else list(account_ids)
    )
    payouts = _payouts_id()
    received = db.session.execute(
        select(
            Transfer.destination_id,
            Transfer.occurred_on,
            Transfer.kind,
            func.count(),
            func.sum(Transfer.amount_cents),
        )
        .where(Transfer.destination_id.in_(merchants), Transfer.occurred_on >= start)
        .group_by(Transfer.destination_id, Transfer.occurred_on, Transfer.kind)
    ).all()
    rows = [
        _Row(account, True, kind, False, day, None, count, int(cents))
        for account, day, kind, count, cents in received
    ]
    returned = db.session.execute(
        select(
            Transfer.destination_id,
            Transfer.occurred_on,
            Transfer.kind,
            Transfer.period,
            func.count(),
            func.sum(Transfer.amount_cents),
        )
        .where(
            Transfer.source_id == payouts,
            Transfer.destination_id.in_(merchants),
            Transfer.occurred_on >= start,
        )
        .group_by(Transfer.destination_id, Transfer.occurred_on, Transfer.kind, Transfer.period)
    ).all()
    for account, day, kind, period, count, cents in returned:
        # Already counted above as something received: move it to the payouts side.
        rows.append(_Row(account, True, kind, False, day, None, -count, -int(cents)))
        rows.append(_Row(account, True, kind, True, day, period, count, int(cents)))
    paid_out = db.session.execute(
        select(
            Transfer.source_id,
            Transfer.destination_id == payouts,
            Transfer.occurred_on,
            Transfer.kind,
            Transfer.period,
            Transfer.amount_cents,
        ).where(Transfer.source_id.in_(merchants), Transfer.occurred_on >= start)
    ).all()
    totals: dict[tuple, list[int]] = {}
    for account, to_payouts, day, kind, period, cents in paid_out:
        key = (account, kind, bool(to_payouts), day, period if to_payouts else None)
        entry = totals.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += int(cents)
    rows.extend(
        _Row(account, False, kind, payout, day, period, count, cents)
        for (account, kind, payout, day, period), (count, cents) in totals.items()
    )
    return rows


def _fill(lines: dict[int, MerchantMonth], rows, period: str) -> None:
    start, end = Month.of(period).first_day, Month.of(period).end
    for row in rows:
        line = lines.get(row.account_id)
        if line is None or row.occurred_on < start:
            continue
        signed = int(row.cents) if row.incoming else -int(row.cents)
        if row.payout:
            if row.period == period:
                line.paid_cents -= signed
            continue
        if row.occurred_on >= end:
            line.after_cents += signed
            continue
        line.due_cents += signed
        if row.kind == "purchase" and row.incoming:
            line.sales_count += row.count
            line.sales_cents += int(row.cents)
        elif row.kind == "refund" and not row.incoming:
            line.refunds_count += row.count
            line.refunds_cents += int(row.cents)
        elif row.kind == "correction":
            line.corrections_count += row.count
            line.corrections_cents -= signed


def _settlements(period: str, merchant_ids: list[int]) -> dict[int, Transfer]:
    keys = {settlement_key(period, merchant_id): merchant_id for merchant_id in merchant_ids}
    if not keys:
        return {}
    rows = db.session.scalars(select(Transfer).where(Transfer.idempotency_key.in_(list(keys))))
    return {keys[row.idempotency_key]: row for row in rows}


def _accounts(merchant: Merchant | None = None) -> list[tuple[Account, Merchant]]:
    statement = (
        select(Account, Merchant)
        .join(Merchant, Merchant.id == Account.merchant_id)
        .where(Account.kind == "merchant")
    )
    if merchant is not None:
        statement = statement.where(Account.merchant_id == merchant.id)
    return sorted(
        db.session.execute(statement).all(), key=lambda pair: (pair[1].name.lower(), pair[1].id)
    )


def month_settlement(period: str) -> MonthSettlement:
    """Every merchant's figures for `period` (merchants that have an account, by name)."""
    pairs = _accounts()
    lines = {
        account.id: MerchantMonth(
            merchant=merchant,
            account_id=account.id,
            period=period,
            balance_cents=account.balance_cents,
        )
        for account, merchant in pairs
    }
    if lines:
        _fill(lines, _activity_rows(Month.of(period).first_day, None), period)
        for merchant_id, row in _settlements(period, [m.id for _, m in pairs]).items():
            next(
                line for line in lines.values() if line.merchant.id == merchant_id
            ).settlement = row
    return MonthSettlement(period=period, lines=list(lines.values()))


def _merchant_month_rows(merchant: Merchant, period: str) -> tuple[MerchantMonth, list[_Row]]:
    account = ledger.merchant_account(merchant)
    line = MerchantMonth(
        merchant=merchant,
        account_id=account.id,
        period=period,
        balance_cents=ledger.balance(account),
    )
    rows = _activity_rows(Month.of(period).first_day, [account.id])
    _fill({account.id: line}, rows, period)
    line.settlement = _settlements(period, [merchant.id]).get(merchant.id)
    return line, rows


def merchant_month(merchant: Merchant, period: str) -> MerchantMonth:
    """One merchant's figures for `period` (reads only that merchant's transfers)."""
    return _merchant_month_rows(merchant, period)[0]


def merchant_months(
    merchant: Merchant, count: int = 12, include_current: bool = True
) -> list[MerchantMonth]:
    """The merchant's last `count` months, newest first (the current month, still open, first)."""
    latest = Month.current() if include_current else Month.last_closed()
    periods = [str(latest.shift(-n)) for n in range(count)]
    account = ledger.merchant_account(merchant)
    balance = ledger.balance(account)
    rows = _activity_rows(Month.of(periods[-1]).first_day, [account.id])
    settled = {
        row.idempotency_key: row
        for row in db.session.scalars(
            select(Transfer).where(
                Transfer.idempotency_key.in_([settlement_key(p, merchant.id) for p in periods])
            )
        )
    }
    months = []
    for period in periods:
        line = MerchantMonth(
            merchant=merchant, account_id=account.id, period=period, balance_cents=balance
        )
        _fill({account.id: line}, rows, period)
        line.settlement = settled.get(settlement_key(period, merchant.id))
        months.append(line)
    return months


# --- statements -----------------------------------------------------------------------------


@dataclass
class StatementLine:
    transfer: object  # a row with the transfer's columns (id, reference, kind, occurred_on, ...)
    kind: str  # sale, refund, correction, other
    signed_cents: int
    category: Category | None
    reverses_reference: str = ""


@dataclass
class StatementDay:
    day: date
    sales_count: int = 0
    sales_cents: int = 0
    refunds_cents: int = 0
    corrections_cents: int = 0
    net_cents: int = 0


@dataclass
class Statement:
    """A merchant's statement of a month: the figures, day totals, every operation, payouts."""

    month: MerchantMonth
    lines: list[StatementLine] = field(default_factory=list)
    days: list[StatementDay] = field(default_factory=list)
    payouts: list[Transfer] = field(default_factory=list)

    @property
    def merchant(self) -> Merchant:
        return self.month.merchant

    @property
    def period(self) -> str:
        return self.month.period

    @property
    def closed(self) -> bool:
        return is_closed(self.period)

    @property
    def adjustments(self) -> list[StatementLine]:
        """Cancellations and corrections: few, listed one by one on the printed statement."""
        return [line for line in self.lines if line.kind != "sale"]


def _kind_of(kind: str, incoming: bool) -> str:
    if kind == "purchase" and incoming:
        return "sale"
    if kind in ("refund", "correction"):
        return kind
    return "other"


_LINE_COLUMNS = (
    Transfer.id,
    Transfer.reference,
    Transfer.kind,
    Transfer.occurred_on,
    Transfer.created_at,
    Transfer.source_id,
    Transfer.destination_id,
    Transfer.amount_cents,
    Transfer.category_id,
    Transfer.reverses_id,
)


def _lines(rows, account_id: int) -> list[StatementLine]:
    reversed_ids = {row.reverses_id for row in rows if row.reverses_id}
    references = (
        dict(
            db.session.execute(
                select(Transfer.id, Transfer.reference).where(Transfer.id.in_(reversed_ids))
            ).all()
        )
        if reversed_ids
        else {}
    )
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    lines = []
    for row in rows:
        incoming = row.destination_id == account_id
        lines.append(
            StatementLine(
                transfer=row,
                kind=_kind_of(row.kind, incoming),
                signed_cents=row.amount_cents if incoming else -row.amount_cents,
                category=categories.get(row.category_id),
                reverses_reference=references.get(row.reverses_id, ""),
            )
        )
    return lines


def statement(merchant: Merchant, period: str, with_lines: bool = False) -> Statement:
    """The statement of `merchant` for `period` (the month may still be open: figures so far):
    the figures, day totals, cancellations and corrections one by one, the payouts, and with
    `with_lines` every operation (for the CSV file; a month can hold thousands of sales)."""
    month, activity = _merchant_month_rows(merchant, period)
    account_id = month.account_id
    payouts_id = _payouts_id()
    start, end = Month.of(period).first_day, Month.of(period).end
    result = Statement(month=month)
    days: dict[date, StatementDay] = {}
    for row in activity:
        if row.payout or not start <= row.occurred_on < end:
            continue
        entry = days.setdefault(row.occurred_on, StatementDay(row.occurred_on))
        signed = row.cents if row.incoming else -row.cents
        entry.net_cents += signed
        kind = _kind_of(row.kind, row.incoming)
        if kind == "sale":
            entry.sales_count += row.count
            entry.sales_cents += row.cents
        elif kind == "refund":
            entry.refunds_cents -= signed
        elif kind == "correction":
            entry.corrections_cents -= signed
    result.days = [
        days[day]
        for day in sorted(days)
        if days[day].net_cents
        or days[day].sales_count
        or days[day].refunds_cents
        or days[day].corrections_cents
    ]
    in_month = (
        Transfer.occurred_on >= start,
        Transfer.occurred_on < end,
        Transfer.source_id != payouts_id,
        Transfer.destination_id != payouts_id,
    )
    order = (Transfer.occurred_on, Transfer.created_at, Transfer.id)
    if with_lines:
        rows = db.session.execute(
            select(*_LINE_COLUMNS)
            .where(
                or_(Transfer.destination_id == account_id, Transfer.source_id == account_id),
                *in_month,
            )
            .order_by(*order)
        ).all()
        result.lines = _lines(rows, account_id)
    else:
        adjustments = db.session.execute(
            select(*_LINE_COLUMNS)
            .where(
                or_(
                    (Transfer.destination_id == account_id) & (Transfer.kind != "purchase"),
                    Transfer.source_id == account_id,
                ),
                *in_month,
            )
            .order_by(*order)
        ).all()
        result.lines = _lines(adjustments, account_id)
    result.payouts = list(
        db.session.scalars(
            select(Transfer)
            .where(
                Transfer.kind.in_(("settlement", "correction")),
                Transfer.period == period,
                or_(
                    (Transfer.source_id == account_id) & (Transfer.destination_id == payouts_id),
                    (Transfer.source_id == payouts_id) & (Transfer.destination_id == account_id),
                ),
            )
            .order_by(Transfer.id)
        )
    )
    return result


def statement_csv(result: Statement, language: str) -> bytes:
    """The statement as a spreadsheet file: UTF-8 with a byte-order mark and `;` separators (what
    French Excel and LibreOffice open right with a double click). Every operation of the month,
    then the month's figures. Text cells are neutralised; amounts are numbers we wrote."""
    from app.core.i18n import hour

    labels = {
        "sale": _("Sale"),
        "refund": _("Cancellation"),
        "correction": _("Correction"),
        "other": _("Other"),
    }
    rows = [
        [
            _("Date"),
            _("Time"),
            _("Reference"),
            _("Operation"),
            _("Category"),
            _("Cancels sale"),
            _("Amount (EUR)"),
        ]
    ]
    for line in result.lines:
        row = line.transfer
        rows.append(
            [
                row.occurred_on.isoformat(),
                hour(row.created_at) if row.created_at else "",
                row.reference,
                labels[line.kind],
                line.category.tr("name") if line.category else "",
                line.reverses_reference,
                Euros(line.signed_cents),
            ]
        )
    month = result.month
    rows.append([])
    for label, cents in (
        (_("Sales"), month.sales_cents),
        (_("Cancellations"), -month.refunds_cents),
        (_("Corrections"), -month.corrections_cents),
        (_("Amount due for the month"), month.due_cents),
        (_("Carried over from earlier months"), month.carried_cents),
        (_("Paid for this month"), month.paid_cents),
        (_("Still to pay"), month.payable_cents),
    ):
        rows.append([label, "", "", "", "", "", Euros(cents)])
    decimal = "," if language == "fr" else "."
    return french_csv([result.merchant.name, result.period], rows, decimal=decimal)


# --- paying ---------------------------------------------------------------------------------


def _check_closed(period: str) -> None:
    if not is_closed(period):
        raise PeriodNotClosed(
            _l("This month is not over yet: it can be settled from the first day of next month.")
        )


def _existing_settlement(period: str, merchant: Merchant) -> Transfer | None:
    row = db.session.scalar(
        select(Transfer).where(Transfer.idempotency_key == settlement_key(period, merchant.id))
    )
    if row is not None:
        row.replayed = True
    return row


def settle(
    merchant: Merchant, period: str, *, actor_id: int | None, expected_cents: int | None = None
) -> Transfer:
    """Record that `merchant` was paid what it is owed for `period` (flushes, never commits).

    Returns the `settlement` transfer; `replayed` is True when the month was already settled for
    this merchant (a second click, a retry, a concurrent request): nothing moves twice.
    Raises `PeriodNotClosed`, `NothingToPay`, or `SettlementChanged` when `expected_cents` (the
    amount the treasurer saw) is no longer what is owed.
    """
    period = parse_period(period)
    _check_closed(period)
    existing = _existing_settlement(period, merchant)
    if existing is not None:
        return existing
    line = merchant_month(merchant, period)
    if line.settlement is not None:
        # Paid by a concurrent request after our first look (its commit is visible now).
        line.settlement.replayed = True
        return line.settlement
    amount = line.payable_cents
    if amount <= 0:
        raise NothingToPay(_l("Nothing is owed to this merchant for this month."))
    if expected_cents is not None and expected_cents != amount:
        raise SettlementChanged(
            _l("The amount owed has changed since the page was shown: check it and confirm again.")
        )
    key = settlement_key(period, merchant.id)
    try:
        row = ledger.transfer(
            source=ledger.merchant_account(merchant),
            destination=ledger.system_account("payouts"),
            amount_cents=amount,
            kind="settlement",
            actor_id=actor_id,
            idempotency_key=key,
            # The request is "pay this merchant for this month": a concurrent twin that computed
            # the same month replays instead of conflicting.
            request_hash=ledger.request_hash(
                kind="settlement", period=period, merchant=merchant.id
            ),
            period=period,
            memo=f"{period}",
        )
    except (InsufficientBalance, IdempotencyConflict):
        # A concurrent request paid first and took the money (PostgreSQL re-checks the debit
        # after its commit): its payout is the answer.
        existing = _existing_settlement(period, merchant)
        if existing is None:
            raise
        return existing
    if not row.replayed:
        _audit(actor_id, merchant, period, row)
    return row


def settle_month(
    period: str, *, actor_id: int | None, expected_total_cents: int | None = None
) -> list[Transfer]:
    """Mark paid every merchant of the transfer file (amount due and a valid IBAN).

    Raises `PeriodNotClosed`, `NothingToPay` (nobody to pay), or `SettlementChanged` when the
    total is not the one the treasurer confirmed.
    """
    period = parse_period(period)
    _check_closed(period)
    month = month_settlement(period)
    lines = month.in_transfer_file
    if not lines:
        raise NothingToPay(_l("Nothing is left to pay for this month."))
    if expected_total_cents is not None and expected_total_cents != month.transfer_file_cents:
        raise SettlementChanged(
            _l(
                "The amounts owed have changed since the page was shown: check them and confirm again."
            )
        )
    return [
        settle(line.merchant, period, actor_id=actor_id, expected_cents=line.payable_cents)
        for line in lines
    ]


def _audit(actor_id: int | None, merchant: Merchant, period: str, row: Transfer) -> None:
    from app.audit import log as audit

    audit.record(
        actor_id,
        "settlement.paid",
        "merchant",
        merchant.id,
        {
            "period": period,
            "amount_cents": row.amount_cents,
            "reference": row.reference,
            "merchant": merchant.name,
        },
    )
