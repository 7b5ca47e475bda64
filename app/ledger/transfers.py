"""The money core: the only code that changes `Account.balance_cents`.

A transfer debits with a conditional update (no row returned = not enough money), credits,
then writes the transfer row, all inside a SAVEPOINT so that a refusal leaves nothing behind in
the caller's transaction. Accounts are touched in ascending id order so that two transfers in
opposite directions between the same accounts cannot deadlock on PostgreSQL. On SQLite every
write transaction already began with `BEGIN IMMEDIATE` (app/core/database.py).

Idempotency: a transfer carrying a key is stored with a hash of its request. The same key with
the same hash returns the stored transfer (`replayed = True`) and moves nothing; the same key
with another hash raises `IdempotencyConflict`. Two concurrent requests with one key race on the
unique index: the loser's savepoint is rolled back and it returns the winner's transfer.

Which accounts may go below zero: only system accounts (see `app.ledger.models.Account`).

Receipt references are derived from the transfer id by a bijection written in a 31-letter
alphabet without 0/O, 1/I/L (`reference_for`): unique without retries, not consecutive at a
glance, and computable in SQL for bulk inserts (`reference_sql`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.core.calendar import Month, today
from app.core.columns import utcnow
from app.core.database import DirectSQL
from app.core.extensions import db
from app.ledger.errors import (
    AlreadyAllocated,
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientBalance,
)
from app.ledger.models import (
    CONTRIBUTION_METHODS,
    REVERSAL_KINDS,
    SYSTEM_ACCOUNTS,
    TRANSFER_KINDS,
    Account,
    Transfer,
)

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 7
_BASE = len(REFERENCE_ALPHABET)
_BLOCK = _BASE**3  # the last 3 letters are shuffled within blocks of 29,791 consecutive ids
_SHUFFLE = 9_973  # coprime with 31: multiplying by it permutes a block
_OFFSET = 123_456_789  # so that the first references do not all begin with "2222"
REFERENCE_CAPACITY = _BASE**REFERENCE_LENGTH - _OFFSET  # ids below this have distinct references


# --- references and dates -------------------------------------------------------------------


def _letters(value: int, length: int) -> str:
    return "".join(
        REFERENCE_ALPHABET[(value // _BASE**power) % _BASE] for power in range(length - 1, -1, -1)
    )


def reference_for(transfer_id: int) -> str:
    """The receipt code of a transfer id: 4 letters counting blocks of ids, then 3 letters that
    are the id's place in its block, shuffled. A bijection for ids below REFERENCE_CAPACITY.

    References of consecutive transfers do not look consecutive, yet new references fall close
    together in the unique index, which keeps bulk inserts fast (a fully scrambled code made
    every insert land on a random index page).
    """
    block, place = divmod(transfer_id + _OFFSET, _BLOCK)
    return _letters(block, REFERENCE_LENGTH - 3) + _letters(place * _SHUFFLE % _BLOCK, 3)


def reference_sql(id_sql: str, cast: bool = True) -> str:
    """`reference_for` as an SQL expression over the integer expression `id_sql` (both engines).

    `cast=False` leaves out the cast to BIGINT, for an `id_sql` that is already 64-bit (SQLite's
    integers, PostgreSQL's nextval): the expression repeats it seven times, per row.
    """
    value = f"(CAST({id_sql} AS BIGINT) + {_OFFSET})" if cast else f"({id_sql} + {_OFFSET})"
    block = f"({value} / {_BLOCK})"
    place = f"(({value} % {_BLOCK}) * {_SHUFFLE} % {_BLOCK})"

    def letters(number: str, length: int) -> list[str]:
        return [
            f"substr('{REFERENCE_ALPHABET}', CAST({number} / {_BASE**power} % {_BASE} AS INTEGER) + 1, 1)"
            for power in range(length - 1, -1, -1)
        ]

    return " || ".join(letters(block, REFERENCE_LENGTH - 3) + letters(place, 3))


# --- accounts -------------------------------------------------------------------------------


def _get_or_create(criteria: dict, **fields) -> Account:
    account = db.session.scalars(select(Account).filter_by(**criteria)).first()
    if account is not None:
        return account
    try:
        with db.session.begin_nested():
            account = Account(balance_cents=0, **criteria, **fields)
            db.session.add(account)
    except IntegrityError:
        # Created by a concurrent transaction meanwhile (now committed): use that one.
        account = db.session.scalars(select(Account).filter_by(**criteria)).one()
    return account


def _ensure_system_accounts() -> None:
    """System accounts get the lowest ids, so that in ascending lock order the caisse is always
    locked before any member account (an allocation run holds it while crediting members)."""
    existing = set(db.session.scalars(select(Account.code).where(Account.kind == "system")))
    for code in SYSTEM_ACCOUNTS:
        if code not in existing:
            _get_or_create({"code": code}, kind="system")


def system_account(code: str) -> Account:
    """The system account `code` (caisse, contributions, grants, payouts), created if missing."""
    if code not in SYSTEM_ACCOUNTS:
        raise ValueError(f"unknown system account {code!r}")
    account = db.session.scalars(select(Account).filter_by(code=code)).first()
    if account is None:
        _ensure_system_accounts()
        account = db.session.scalars(select(Account).filter_by(code=code)).one()
    return account


def member_account(member) -> Account:
    """The member's allocation account, created if missing."""
    if member.id is None:
        db.session.flush()
    account = db.session.scalars(select(Account).filter_by(member_id=member.id)).first()
    if account is None:
        _ensure_system_accounts()
        account = _get_or_create({"member_id": member.id}, kind="member")
    return account


def merchant_account(merchant) -> Account:
    """The merchant's account (what the caisse owes them), created if missing."""
    if merchant.id is None:
        db.session.flush()
    account = db.session.scalars(select(Account).filter_by(merchant_id=merchant.id)).first()
    if account is None:
        _ensure_system_accounts()
        account = _get_or_create({"merchant_id": merchant.id}, kind="merchant")
    return account


def balance(account: Account) -> int:
    """The account's balance as stored now (refreshes the object too)."""
    value = db.session.execute(
        select(Account.balance_cents).where(Account.id == account.id)
    ).scalar_one()
    set_committed_value(account, "balance_cents", value)
    return value


# --- transfers ------------------------------------------------------------------------------


def request_hash(**fields) -> str:
    """A stable SHA-256 of a request's content (key order and value types do not matter)."""
    payload = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


_hash_request = request_hash


def _by_key(idempotency_key: str) -> Transfer | None:
    return db.session.scalars(
        select(Transfer).where(Transfer.idempotency_key == idempotency_key)
    ).first()


def _replay(existing: Transfer, wanted_hash: str | None) -> Transfer:
    if existing.request_hash != wanted_hash:
        raise IdempotencyConflict()
    existing.replayed = True
    return existing


def _reversal_of(original: Transfer) -> Transfer | None:
    return db.session.scalars(
        select(Transfer).where(
            Transfer.reverses_id == original.id, Transfer.kind.in_(REVERSAL_KINDS)
        )
    ).first()


# The money statements are written by hand and run on the session's own connection
# (`DirectSQL`): the same SQL on both engines, without SQLAlchemy's compilation and result
# machinery around each statement, which cost more than the statements at every sale.
_TRANSFER_COLUMNS = (
    "id",
    "kind",
    "source_id",
    "destination_id",
    "amount_cents",
    "actor_id",
    "created_at",
    "occurred_on",
    "reference",
    "idempotency_key",
    "request_hash",
    "reverses_id",
    "category_id",
    "period",
    "memo",
    "method",
    "member_id",
)
_INSERT_TRANSFER = f"INSERT INTO transfer ({', '.join(_TRANSFER_COLUMNS)}) VALUES ({', '.join('?' for _ in _TRANSFER_COLUMNS)})"
_DEBIT = (
    "UPDATE account SET balance_cents = balance_cents - ? "
    "WHERE id = ? AND (balance_cents >= ? OR kind = 'system') RETURNING balance_cents"
)
_CREDIT = (
    "UPDATE account SET balance_cents = balance_cents + ? WHERE id = ? RETURNING balance_cents"
)
_SAVEPOINT = "ledger_move"


@dataclass(frozen=True)
class Posted:
    """A transfer as `post` wrote it, with the two balances just after it."""

    id: int
    reference: str
    created_at: datetime
    values: dict
    balances: dict[int, int]


def _sql_value(sql: DirectSQL, value):
    """SQLite stores dates and times as text, as SQLAlchemy writes them (UTC, no offset)."""
    if sql.postgresql or value is None:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _check_amount(amount_cents) -> None:
    """A transfer moves a positive whole number of cents (a bool is not one)."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive integer")


def post(sql: DirectSQL, source_id: int, destination_id: int, amount_cents: int, **row) -> Posted:
    """The statements of every transfer, in a savepoint: debit the source if the money is there
    (system accounts may go below zero), credit the destination, both in ascending account id
    order, then write the transfer row under a reserved id. `row` holds the transfer's other
    columns (`kind`, `occurred_on` and `created_at` at least).

    Raises `InsufficientBalance` (with what is available) or SQLAlchemy's `IntegrityError` (a
    unique index refused the row: the key, the reversal, the month's allocation); either way
    nothing of it is left in the transaction. Callers go through `transfer` (or, for the
    register's sale, validate as it does).
    """
    sql.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        balances = {}
        for account_id in sorted((source_id, destination_id)):
            if account_id == source_id:
                debited = sql.one(_DEBIT, (amount_cents, source_id, amount_cents))
                if debited is None:
                    available = sql.one(
                        "SELECT balance_cents FROM account WHERE id = ?", (source_id,)
                    )
                    raise InsufficientBalance(available_cents=available[0] if available else 0)
                balances[source_id] = debited[0]
            else:
                balances[destination_id] = sql.one(_CREDIT, (amount_cents, destination_id))[0]
        # The id is reserved before the insert so that the reference is known too. PostgreSQL:
        # the column's sequence. SQLite: one above the largest id, safe because the transaction
        # holds the database's write lock (BEGIN IMMEDIATE).
        transfer_id = sql.one(
            "SELECT nextval(pg_get_serial_sequence('transfer', 'id'))"
            if sql.postgresql
            else "SELECT coalesce(max(id), 0) + 1 FROM transfer"
        )[0]
        values = {
            "memo": "",
            **row,
            "id": transfer_id,
            "reference": reference_for(transfer_id),
            "source_id": source_id,
            "destination_id": destination_id,
            "amount_cents": amount_cents,
        }
        parameters = tuple(_sql_value(sql, values.get(column)) for column in _TRANSFER_COLUMNS)
        try:
            sql.execute(_INSERT_TRANSFER, parameters)
        except sql.IntegrityError as exc:
            raise IntegrityError(_INSERT_TRANSFER, parameters, exc) from exc
    except BaseException:
        sql.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        sql.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        raise
    sql.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return Posted(transfer_id, values["reference"], values["created_at"], values, balances)


def _move(source: Account, destination: Account, amount_cents: int, **row) -> Transfer:
    posted = post(
        DirectSQL(db.session), source.id, destination.id, amount_cents, created_at=utcnow(), **row
    )
    # The row is written: the session gets it as if it had loaded it (every column is set).
    transfer_row = Transfer(**posted.values)
    make_transient_to_detached(transfer_row)
    db.session.add(transfer_row)
    for account in (source, destination):
        set_committed_value(account, "balance_cents", posted.balances[account.id])
    return transfer_row


def transfer(
    *,
    source: Account,
    destination: Account,
    amount_cents: int,
    kind: str,
    actor_id: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    reverses: Transfer | None = None,
    category_id: int | None = None,
    memo: str = "",
    method: str | None = None,
    occurred_on: date | None = None,
    period: str | None = None,
    member_id: int | None = None,
    key_checked: bool = False,
) -> Transfer:
    """Move `amount_cents` from `source` to `destination` (flushes, never commits).

    `key_checked`: the caller has just looked the idempotency key up and found nothing (a twin
    that commits meanwhile is still caught by the key's unique index and replayed).

    Raises `InsufficientBalance` (nothing moved), `IdempotencyConflict`, `AlreadyReversed`,
    `AlreadyAllocated`, or `ValueError` for an amount that is not a positive integer, an unknown
    kind or method, or a transfer from an account to itself.
    """
    _check_amount(amount_cents)
    if kind not in TRANSFER_KINDS:
        raise ValueError(f"unknown transfer kind {kind!r}")
    if method is not None and method not in CONTRIBUTION_METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    if source.id is None or destination.id is None:
        db.session.flush()
    if source.id == destination.id:
        raise ValueError("a transfer needs two different accounts")
    if kind == "allocation" and period is None:
        period = str(Month.current())
    if request_hash is None:
        fields = dict(
            source=source.id,
            destination=destination.id,
            amount=amount_cents,
            kind=kind,
            reverses=reverses.id if reverses is not None else None,
            category=category_id,
            memo=memo,
            method=method,
            period=period,
            member=member_id,
        )
        if occurred_on is not None:
            fields["occurred_on"] = occurred_on.isoformat()
        request_hash = _hash_request(**fields)

    if idempotency_key is not None and not key_checked:
        existing = _by_key(idempotency_key)
        if existing is not None:
            return _replay(existing, request_hash)
    try:
        row = _move(
            source,
            destination,
            amount_cents,
            kind=kind,
            actor_id=actor_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            reverses_id=reverses.id if reverses is not None else None,
            category_id=category_id,
            memo=memo or "",
            method=method,
            occurred_on=occurred_on or today(),
            period=period,
            member_id=member_id,
        )
    except (IntegrityError, InsufficientBalance) as refusal:
        # A concurrent request may have won meanwhile (PostgreSQL: the unique index, or the debit
        # re-checked after its commit); its committed row is the true answer.
        if idempotency_key is not None and (existing := _by_key(idempotency_key)) is not None:
            return _replay(existing, request_hash)
        if reverses is not None and kind in REVERSAL_KINDS and _reversal_of(reverses) is not None:
            raise AlreadyReversed() from None
        if isinstance(refusal, InsufficientBalance):
            raise
        if kind == "allocation" and db.session.scalar(
            select(Transfer.id).where(
                Transfer.kind == "allocation",
                Transfer.destination_id == destination.id,
                Transfer.period == period,
            )
        ):
            raise AlreadyAllocated() from None
        raise
    row.replayed = False
    return row


def purchase(
    sql: DirectSQL,
    *,
    source_id: int,
    destination_id: int,
    amount_cents: int,
    actor_id: int,
    idempotency_key: str,
    request_hash: str,
    category_id: int | None,
) -> Posted | Transfer:
    """A sale at the register between accounts known by id: `transfer` for the register's hot
    path, whose caller has validated the amount and looked the key up (not found).

    A twin request with the same key that committed meanwhile is caught by the key's unique
    index (or, on PostgreSQL, by the debit re-checked after its commit): its transfer is
    returned (`replayed`). Raises `InsufficientBalance` and `IdempotencyConflict` as `transfer`.
    """
    _check_amount(amount_cents)
    try:
        return post(
            sql,
            source_id,
            destination_id,
            amount_cents,
            kind="purchase",
            actor_id=actor_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            category_id=category_id,
            occurred_on=today(),
            created_at=utcnow(),
        )
    except (IntegrityError, InsufficientBalance):
        if (existing := _by_key(idempotency_key)) is not None:
            return _replay(existing, request_hash)
        raise


def reverse(
    original: Transfer,
    *,
    kind: str,
    actor_id: int | None,
    idempotency_key: str | None = None,
    memo: str = "",
) -> Transfer:
    """Move the original amount back (destination -> source), at most once per transfer.

    `refund` cancels a purchase; `correction` undoes any other mistaken transfer.
    """
    if kind not in REVERSAL_KINDS:
        raise ValueError("a reversal is a refund or a correction")
    if kind == "refund" and original.kind != "purchase":
        raise ValueError("only a purchase is refunded; use a correction")
    if idempotency_key is not None and (existing := _by_key(idempotency_key)) is not None:
        return _replay(existing, _reversal_hash(original, kind, memo))
    if _reversal_of(original) is not None:
        raise AlreadyReversed()
    source = db.session.get(Account, original.destination_id)
    destination = db.session.get(Account, original.source_id)
    return transfer(
        source=source,
        destination=destination,
        amount_cents=original.amount_cents,
        kind=kind,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        request_hash=_reversal_hash(original, kind, memo),
        reverses=original,
        category_id=original.category_id,
        memo=memo,
        period=original.period,
        member_id=original.member_id,
    )


def _reversal_hash(original: Transfer, kind: str, memo: str) -> str:
    return _hash_request(kind=kind, reverses=original.id, memo=memo)


# --- verification ---------------------------------------------------------------------------


class VerifyReport(list):
    """The breaches found (empty when the ledger is sound); `summary` gives counts and totals
    (computed when first read)."""

    def __init__(self, breaches):
        super().__init__(breaches)
        self._summary = None

    @property
    def summary(self) -> dict:
        if self._summary is None:
            self._summary = summary()
        return self._summary


_SAMPLE = 5

# Each check selects the rows that breach an invariant (first column: what to sort the sample by).
_CHECKS = (
    (
        "2",
        """SELECT a.id, a.balance_cents, coalesce(i.total, 0) - coalesce(o.total, 0) AS computed
           FROM account a
           LEFT JOIN (SELECT destination_id AS id, sum(amount_cents) AS total FROM transfer GROUP BY destination_id) i
               ON i.id = a.id
           LEFT JOIN (SELECT source_id AS id, sum(amount_cents) AS total FROM transfer GROUP BY source_id) o
               ON o.id = a.id
           WHERE a.balance_cents <> coalesce(i.total, 0) - coalesce(o.total, 0)""",
        "{count} cached balance(s) differ from the sum of their transfers",
        "account {0}: cached {1}, transfers {2}",
    ),
    (
        "3",
        "SELECT id, balance_cents FROM account WHERE kind <> 'system' AND balance_cents < 0",
        "{count} member or merchant account(s) below 0",
        "account {0}: {1}",
    ),
    (
        # "Ever below 0": the running balance in transfer order (ids follow each account's lock order).
        "3",
        """SELECT r.account_id, min(r.running) FROM (
               SELECT d.account_id, sum(d.delta) OVER (
                   PARTITION BY d.account_id ORDER BY d.transfer_id ROWS UNBOUNDED PRECEDING) AS running
               FROM (SELECT destination_id AS account_id, id AS transfer_id, amount_cents AS delta FROM transfer
                     UNION ALL
                     SELECT source_id, id, -amount_cents FROM transfer) d
           ) r JOIN account a ON a.id = r.account_id
           WHERE a.kind <> 'system' AND r.running < 0
           GROUP BY r.account_id""",
        "{count} member or merchant account(s) went below 0 in their history",
        "account {0}: {1}",
    ),
    (
        "4",
        """SELECT idempotency_key, count(*) FROM transfer WHERE idempotency_key IS NOT NULL
           GROUP BY idempotency_key HAVING count(*) > 1""",
        "{count} idempotency key(s) used by more than one transfer",
        "{0!r} x{1}",
    ),
    (
        "5",
        """SELECT destination_id, period, count(*) FROM transfer WHERE kind = 'allocation'
           GROUP BY destination_id, period HAVING count(*) > 1""",
        "{count} member(s) allocated more than once in a month",
        "account {0} in {1} x{2}",
    ),
    (
        "5",
        """SELECT t.id FROM transfer t JOIN account a ON a.id = t.destination_id
           WHERE t.kind = 'allocation' AND (a.kind <> 'member' OR t.period IS NULL)""",
        "{count} allocation(s) without a month or not to a member account",
        "transfer {0}",
    ),
)


def verify() -> VerifyReport:
    """Check the five invariants of DESIGN.md §5 and return the breaches, each named.

    One statement counts every kind of breach; only a failing check is queried again for a
    sample of the rows at fault.
    """
    counts = ", ".join(
        f"(SELECT count(*) FROM ({sql}) c{n})" for n, (_, sql, _, _) in enumerate(_CHECKS)
    )
    total, *found = db.session.execute(
        text(f"SELECT (SELECT coalesce(sum(balance_cents), 0) FROM account), {counts}")
    ).one()
    breaches: list[str] = []
    if total != 0:
        breaches.append(f"1. the sum of all balances is {total} cents, not 0")
    for (number, sql, headline, item), count in zip(_CHECKS, found, strict=True):
        if not count:
            continue
        rows = db.session.execute(text(f"SELECT * FROM ({sql}) c ORDER BY 1 LIMIT {_SAMPLE}")).all()
        sample = ", ".join(item.format(*row) for row in rows)
        breaches.append(f"{number}. {headline.format(count=count)} ({sample})")
    return VerifyReport(breaches)


def summary() -> dict:
    """Counts and totals for reports and `flask ssa verify-ledger`."""
    accounts = dict(
        db.session.execute(select(Account.kind, func.count()).group_by(Account.kind)).all()
    )
    transfers = {
        kind: {"count": count, "total_cents": int(total or 0)}
        for kind, count, total in db.session.execute(
            select(Transfer.kind, func.count(), func.sum(Transfer.amount_cents)).group_by(
                Transfer.kind
            )
        ).all()
    }
    systems = dict(
        db.session.execute(
            select(Account.code, Account.balance_cents).where(Account.kind == "system")
        ).all()
    )
    held = db.session.execute(
        select(Account.kind, func.sum(Account.balance_cents))
        .where(Account.kind != "system")
        .group_by(Account.kind)
    ).all()
    return {
        "accounts": accounts,
        "transfers": transfers,
        "system_balances_cents": systems,
        "held_cents": {kind: int(total or 0) for kind, total in held},
        "sum_of_balances_cents": int(
            db.session.execute(
                select(func.coalesce(func.sum(Account.balance_cents), 0))
            ).scalar_one()
        ),
    }
