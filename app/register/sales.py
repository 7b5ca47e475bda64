"""The cash register at a market stall: identify a member, debit a sale, cancel it the same
day, list a day's sales and report on any day. Plain functions, no request objects.

A sale is a `purchase` transfer from the member's account to the merchant's, made through the
ledger with an idempotency key that the server put in the sale form. The key is stored with
the cashier's id in front, so that one cashier's key can never replay another's sale. A retry
with the same key returns the same receipt without asking the PIN again (the sale is done);
the receipt is computed from the ledger, so the retry's receipt is identical to the first.

Step 1 (identify) is the only member lookup, and it is rate-limited per cashier. It hands the
sale form a signed reference to the member, bound to the cashier, so that the sale step cannot
be used to look members up without that limit.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import case, func, select

from app.core import ratelimit
from app.core.calendar import today  # the register's day, in Europe/Paris
from app.core.database import direct_sql, start_writing
from app.core.extensions import db
from app.core.settings import association
from app.ledger import transfers as ledger
from app.ledger.errors import AlreadyReversed
from app.ledger.models import Account, Transfer
from app.members import cards, membership
from app.members.errors import CardLocked, CardNotActivated, MemberSuspended, UnknownMember
from app.members.models import Member, User, short_name
from app.merchants.models import Category, Merchant
from app.register.errors import (
    IdentificationExpired,
    RegisterClosed,
    SaleNotFound,
    SaleRecordedOtherwise,
    SaleTooOld,
    UnknownCategory,
)

log = logging.getLogger(__name__)

LOOKUP_LIMIT = 60  # member lookups per cashier and window: a busy stall, not a directory
LOOKUP_WINDOW_SECONDS = 600
MEMBER_REF_MAX_AGE = 14 * 3600  # a market day: a retry after a long outage still replays
APPROVAL_MAX_AGE = 10 * 60
DEFAULT_MAX_SALE_CENTS = 500_00


# --- who may sell ----------------------------------------------------------------------------


def merchant_of(cashier: User) -> Merchant | None:
    return cashier.merchant if cashier.role == "cashier" else None


def open_merchant(cashier: User) -> Merchant:
    """The merchant the cashier sells for, or `RegisterClosed` with the reason."""
    merchant = merchant_of(cashier)
    check_open(
        merchant.status if merchant else None, merchant.conventioned_since if merchant else None
    )
    return merchant


def check_open(status: str | None, conventioned_since: date | None) -> None:
    """`RegisterClosed` with the reason, unless the shop may take payments (`status` None: the
    account sells for no shop)."""
    if status is None:
        raise RegisterClosed(
            _l("This account is not the cashier of a shop: it cannot take payments.")
        )
    if status == "suspended":
        raise RegisterClosed(
            _l(
                "The association has suspended this shop’s agreement: payments are not possible. Please contact the association."
            )
        )
    if status != "active" or conventioned_since is None:  # Merchant.is_conventioned
        raise RegisterClosed(_l("This shop is not conventioned yet: payments are not possible."))


def max_sale_cents() -> int:
    return int(association().get("max_sale_cents") or DEFAULT_MAX_SALE_CENTS)


def categories_for(merchant: Merchant) -> list[Category]:
    """The chips offered at the register: the merchant's categories, else all of them."""
    if merchant.categories:
        return list(merchant.categories)
    return list(db.session.scalars(select(Category).order_by(Category.position)))


# --- step 1: who is paying -------------------------------------------------------------------


def card_token_from_qr(text: str) -> str:
    """The token in a scanned QR code: the code may be the token or end with it (a URL)."""
    return re.split(r"[/:=]", (text or "").strip().rstrip("/"))[-1]


def identify(
    cashier: User,
    *,
    number: str | None = None,
    card: str | None = None,
    limit: int | None = None,
    window_seconds: int | None = None,
) -> Member:
    """The member who is paying, by typed number or scanned card, if their card can pay.

    A typo in the number (check digit) is refused before any lookup and is not counted.
    Raises `RegisterClosed`, `InvalidMemberNumber`, `RateLimited`, `UnknownMember`, `LostCard`,
    `MemberSuspended`, `CardLocked`, `CardNotActivated`.
    """
    open_merchant(cashier)
    if not card:
        number = cards.check_member_number(number)
    config = current_app.config
    ratelimit.hit(
        "register-lookup",
        str(cashier.id),
        limit if limit is not None else int(config.get("REGISTER_LOOKUP_LIMIT", LOOKUP_LIMIT)),
        window_seconds
        if window_seconds is not None
        else int(config.get("REGISTER_LOOKUP_WINDOW", LOOKUP_WINDOW_SECONDS)),
    )
    if card:
        member = membership.find_by_card_token(card_token_from_qr(card))
    else:
        member = membership.find_by_number(number)
    check_can_pay(member)
    return member


def check_can_pay(member: Member) -> None:
    check_card(member.status, member.pin_hash, member.pin_failures)


def check_card(status: str, pin_hash: str | None, pin_failures: int) -> None:
    """Why a member's card cannot pay (`UnknownMember`, `MemberSuspended`, `CardNotActivated`,
    `CardLocked`), or nothing."""
    if status == "erased":
        raise UnknownMember(_l("No member has this number."))
    if status != "active":
        raise MemberSuspended(
            _l(
                "This membership is suspended: the card cannot pay. The member can contact the association."
            )
        )
    if not pin_hash:
        raise CardNotActivated(
            _l(
                "This card is not activated yet: the member must first choose a PIN in their account or with the association."
            )
        )
    if pin_failures >= cards.MAX_PIN_FAILURES:
        raise CardLocked(
            _l(
                "This card is locked after three wrong PINs. The member can set a new PIN in their account, or contact the association."
            )
        )


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.secret_key, salt)


@lru_cache(maxsize=16)
def _serializer_for(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    """Made once per key and salt (it holds no state between calls)."""
    return URLSafeTimedSerializer(secret_key, salt=salt)


def member_ref(cashier: User, member: Member) -> str:
    """A signed reference to the identified member, valid for this cashier only."""
    return _serializer("register-member").dumps([member.id, cashier.id])


def read_member_ref(cashier: User, token: str | None) -> int:
    """The member id of a reference made by `member_ref` for this cashier, or `IdentificationExpired`."""
    try:
        member_id, cashier_id = _serializer("register-member").loads(
            token or "", max_age=MEMBER_REF_MAX_AGE
        )
    except (BadSignature, ValueError, TypeError):
        raise IdentificationExpired(_l("Identify the member again, please.")) from None
    if cashier_id != cashier.id or not isinstance(member_id, int):
        raise IdentificationExpired(_l("Identify the member again, please."))
    return member_id


def new_key() -> str:
    """A fresh idempotency key for a sale or cancellation form."""
    return secrets.token_urlsafe(16)


def _stored_key(kind: str, cashier: User, key: str) -> str:
    return f"{kind}:{cashier.id}:{key}"


# --- step 2: the sale ------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    sale_id: int
    reference: str
    amount_cents: int
    balance_after_cents: int
    created_at: datetime
    member_name: str
    category_id: int | None
    replayed: bool = False


def sale_hash(
    *, member_id: int, amount_cents: int, category_id: int | None, merchant_id: int
) -> str:
    return ledger.request_hash(
        member=member_id, amount=amount_cents, category=category_id, merchant=merchant_id
    )


def approval_for(cashier: User, member_id: int, amount_cents: int, key: str) -> str:
    """After a right PIN and a balance too low: permission to debit exactly what is left, once
    (the key), for a few minutes, without asking the member's PIN again."""
    return _serializer("register-approval").dumps([member_id, cashier.id, amount_cents, key])


def _approval_matches(
    approval: str, cashier: User, member_id: int, amount_cents: int, key: str
) -> bool:
    try:
        values = _serializer("register-approval").loads(approval, max_age=APPROVAL_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return False
    return values == [member_id, cashier.id, amount_cents, key]


# The sale's reads, by hand (`DirectSQL`): the register's hot path. The shop with its account
# and whether the category chip is one of its own (a shop without categories offers them all);
# the member with their account.
_SHOP = (
    "SELECT s.status, s.conventioned_since, a.id, "
    "EXISTS (SELECT 1 FROM merchant_category WHERE merchant_id = s.id), "
    "EXISTS (SELECT 1 FROM merchant_category WHERE merchant_id = s.id AND category_id = ?), "
    "EXISTS (SELECT 1 FROM category WHERE id = ?) "
    "FROM merchant s LEFT JOIN account a ON a.merchant_id = s.id WHERE s.id = ?"
)
_PAYER = (
    "SELECT m.status, m.pin_hash, m.pin_failures, m.first_name, m.last_name, a.id "
    "FROM member m LEFT JOIN account a ON a.member_id = m.id WHERE m.id = ?"
)


def charge(
    cashier: User,
    *,
    member_id: int,
    amount_cents: int,
    category_id: int | None,
    key: str,
    pin: str | None = None,
    approval: str | None = None,
) -> Receipt:
    """Debit a sale from the member's allocation to the cashier's merchant, once per key.

    A retry with the same key returns the first receipt (`replayed`), even if the merchant was
    suspended in between: that sale was made. Raises `SaleRecordedOtherwise` (the key made a
    sale with other values: it carries that sale's receipt), `RegisterClosed`, `UnknownCategory` (not one of the shop's chips),
    `MemberSuspended`, `CardLocked`, `CardNotActivated`, `WrongPin` and `CardLocked` (the
    caller commits: the failure counts), `InvalidPin`, `InsufficientBalance` (the PIN was
    right; nothing moved).

    In a `@reads_first` view the reads run before the write lock (`start_writing`).
    """
    merchant_id = cashier.merchant_id if cashier.role == "cashier" else None
    stored_key = _stored_key("sale", cashier, key)
    wanted = sale_hash(
        member_id=member_id,
        amount_cents=amount_cents,
        category_id=category_id,
        merchant_id=merchant_id or 0,
    )
    sql = direct_sql(db.session)
    done = sql.one("SELECT id, request_hash FROM transfer WHERE idempotency_key = ?", (stored_key,))
    if done is not None:
        made = db.session.get(Transfer, done[0])
        recorded = receipt_for(made, replayed=True)
        if done[1] != wanted:
            raise SaleRecordedOtherwise(
                recorded, _differences(made, member_id, amount_cents, category_id)
            )
        return recorded

    shop = sql.one(_SHOP, (category_id, category_id, merchant_id)) if merchant_id else None
    shop_status, conventioned_since, shop_account_id, has_categories, own_category, any_category = (
        shop or (None,) * 6
    )
    check_open(shop_status, conventioned_since)
    if category_id is not None and not (own_category if has_categories else any_category):
        raise UnknownCategory()
    payer = sql.one(_PAYER, (member_id,))
    if payer is None:
        raise UnknownMember(_l("No member has this number."))
    status, pin_hash, pin_failures, first_name, last_name, account_id = payer
    check_card(status, pin_hash, pin_failures)
    approved = bool(approval and _approval_matches(approval, cashier, member_id, amount_cents, key))
    if not approved:
        cards.check_pin_format(pin)
    # The reads are done: on SQLite the write lock is taken from here to the commit only.
    start_writing(db.session)
    if not approved:
        cards.pin_attempt(sql, member_id, pin_hash, pin)
    if account_id is None:  # a member's first sale
        account_id = ledger.member_account(db.session.get(Member, member_id)).id
    if shop_account_id is None:  # the shop's first sale
        shop_account_id = ledger.merchant_account(db.session.get(Merchant, merchant_id)).id
    sale = ledger.purchase(
        sql,
        source_id=account_id,
        destination_id=shop_account_id,
        amount_cents=amount_cents,
        actor_id=cashier.id,
        idempotency_key=stored_key,
        request_hash=wanted,
        category_id=category_id,
    )
    if isinstance(sale, Transfer):  # a concurrent twin made the sale first
        return receipt_for(sale, replayed=True)
    log.info(
        "sale %s: %s cents, merchant %s, cashier %s",
        sale.reference,
        amount_cents,
        merchant_id,
        cashier.id,
    )
    # The ledger returned the account's new balance: the same figure a replay recomputes.
    return Receipt(
        sale_id=sale.id,
        reference=sale.reference,
        amount_cents=amount_cents,
        balance_after_cents=sale.balances[account_id],
        created_at=sale.created_at,
        member_name=short_name(first_name, last_name),
        category_id=category_id,
    )


def _differences(
    sale: Transfer, member_id: int, amount_cents: int, category_id: int | None
) -> tuple[str, ...]:
    """What a sale form sent again changed against the sale its key made."""
    member = sale.source.member
    return tuple(
        name
        for name, differs in (
            ("member", member is None or member.id != member_id),
            ("amount", sale.amount_cents != amount_cents),
            ("category", sale.category_id != category_id),
        )
        if differs
    )


def _balance_after(account_id: int, transfer_id: int) -> int:
    """The account's balance just after `transfer_id`: the account's transfers are numbered in
    the order they locked it (the ledger reserves the id after the debit), so a running sum
    up to that id is the balance at that moment, the same on every replay."""
    delta = case(
        (Transfer.destination_id == account_id, Transfer.amount_cents), else_=-Transfer.amount_cents
    )
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(delta), 0)).where(
                (Transfer.source_id == account_id) | (Transfer.destination_id == account_id),
                Transfer.id <= transfer_id,
            )
        )
    )


def receipt_for(sale: Transfer, replayed: bool = False) -> Receipt:
    member = sale.source.member
    return Receipt(
        sale_id=sale.id,
        reference=sale.reference,
        amount_cents=sale.amount_cents,
        balance_after_cents=_balance_after(sale.source_id, sale.id),
        created_at=sale.created_at,
        member_name=member.short_name if member else "",
        category_id=sale.category_id,
        replayed=replayed,
    )


# --- the day's sales, cancellation, report ---------------------------------------------------


@dataclass
class SaleLine:
    sale: Transfer
    member_name: str
    category: Category | None
    cancellation: Transfer | None

    @property
    def cancelled(self) -> bool:
        return self.cancellation is not None


@dataclass
class CategoryLine:
    category: Category | None
    count: int = 0
    total_cents: int = 0


@dataclass
class DayReport:
    day: date
    lines: list[SaleLine]
    by_category: list[CategoryLine] = field(default_factory=list)

    @property
    def kept(self) -> list[SaleLine]:
        return [line for line in self.lines if not line.cancelled]

    @property
    def cancelled(self) -> list[SaleLine]:
        return [line for line in self.lines if line.cancelled]

    @property
    def count(self) -> int:
        return len(self.kept)

    @property
    def total_cents(self) -> int:
        return sum(line.sale.amount_cents for line in self.kept)

    @property
    def cancelled_cents(self) -> int:
        return sum(line.sale.amount_cents for line in self.cancelled)


def day_report(merchant: Merchant, day: date) -> DayReport:
    """The merchant's sales of `day` (Europe/Paris), newest first, with their cancellations,
    the totals of the sales kept and their split by category."""
    account = ledger.merchant_account(merchant)
    sales = list(
        db.session.scalars(
            select(Transfer)
            .where(
                Transfer.destination_id == account.id,
                Transfer.kind == "purchase",
                Transfer.occurred_on == day,
            )
            .order_by(Transfer.id.desc())
        )
    )
    ids = [sale.id for sale in sales]
    reversals = (
        {
            row.reverses_id: row
            for row in db.session.scalars(
                select(Transfer).where(Transfer.reverses_id.in_(ids), Transfer.kind == "refund")
            )
        }
        if ids
        else {}
    )
    members = _members_of(sales)
    categories = {c.id: c for c in db.session.scalars(select(Category))}
    lines = [
        SaleLine(
            sale=sale,
            member_name=members.get(sale.source_id, ""),
            category=categories.get(sale.category_id),
            cancellation=reversals.get(sale.id),
        )
        for sale in sales
    ]
    report = DayReport(day=day, lines=lines)
    split: dict[int | None, CategoryLine] = {}
    for line in report.kept:
        entry = split.setdefault(line.sale.category_id, CategoryLine(line.category))
        entry.count += 1
        entry.total_cents += line.sale.amount_cents
    report.by_category = sorted(
        split.values(), key=lambda e: (e.category is None, e.category.position if e.category else 0)
    )
    return report


def _members_of(sales: list[Transfer]) -> dict[int, str]:
    """Account id -> the member's first name and initial, for the accounts that paid."""
    account_ids = {sale.source_id for sale in sales}
    if not account_ids:
        return {}
    rows = db.session.execute(
        select(Account.id, Member)
        .join(Member, Member.id == Account.member_id)
        .where(Account.id.in_(account_ids))
    ).all()
    return {account_id: member.short_name for account_id, member in rows}


def find_sale(merchant: Merchant | None, sale_id: int) -> Transfer:
    """A sale made at this merchant, or `SaleNotFound` (including another merchant's sale)."""
    sale = db.session.get(Transfer, sale_id)
    if merchant is None or sale is None or sale.kind != "purchase":
        raise SaleNotFound(_l("This sale does not exist."))
    account = ledger.merchant_account(merchant)
    if sale.destination_id != account.id:
        raise SaleNotFound(_l("This sale does not exist."))
    return sale


def cancellation_of(sale: Transfer) -> Transfer | None:
    return db.session.scalars(
        select(Transfer).where(Transfer.reverses_id == sale.id, Transfer.kind == "refund")
    ).first()


def cancel(cashier: User, sale_id: int, *, pin: str | None, key: str) -> Transfer:
    """Cancel one of today's sales with the member's PIN: a refund moves the amount back.

    Raises `SaleNotFound`, `SaleTooOld`, `AlreadyReversed`, `CardLocked`, `WrongPin` (the
    caller commits), `InvalidPin`, `InsufficientBalance` (the merchant's account was already
    paid out). A retry with the same key returns the same refund.
    """
    sale = find_sale(merchant_of(cashier), sale_id)
    stored_key = _stored_key("cancel", cashier, key)
    existing = cancellation_of(sale)
    if existing is not None:
        if existing.idempotency_key == stored_key:
            existing.replayed = True
            return existing
        raise AlreadyReversed(_l("This sale has already been cancelled."))
    if sale.occurred_on != today():
        raise SaleTooOld(
            _l(
                "Only today’s sales can be cancelled here. For an older sale, please contact the association’s treasurer."
            )
        )
    member = sale.source.member
    if member is None:
        raise UnknownMember(_l("No member has this number."))
    cards.verify_pin(member, pin)
    refund = ledger.reverse(sale, kind="refund", actor_id=cashier.id, idempotency_key=stored_key)
    log.info(
        "sale %s cancelled by cashier %s (refund %s)", sale.reference, cashier.id, refund.reference
    )
    return refund
