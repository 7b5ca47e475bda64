"""The back office's merchants: create and edit them, convention them (date, product categories,
IBAN), suspend and reactivate them, and invite the cashier accounts of their stall.

Status follows the convention: a merchant with a convention date is `active` (it may take
payments), without one it is `pending`; `suspended` is the admin's explicit decision and only
"reactivate" lifts it. Every change is written to the audit log in the same transaction.

A cashier is invited by e-mail: the account gets an unusable random password and the mail carries
a set-password link (the password-reset link of `app.members.auth`, which serves once). When it
has expired, the admin sends a new invitation, or the cashier uses "forgot password" with the
same address.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.audit import log as audit
from app.core import ordering
from app.core.columns import utcnow
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.i18n import fold
from app.core.mail import queue_mail
from app.members import auth, sessions
from app.members.applications import clean_address, clean_line, strip_controls
from app.members.errors import EmailTaken
from app.members.models import Commune, User
from app.merchants.errors import CategoryExists, CategoryInUse, InvalidListEntry, MarketExists
from app.merchants.models import Category, Market, MarketStall, Merchant
from app.payouts.bank_details import parse_iban

NAME_MAX = 120
ADDRESS_MAX = 300
DESCRIPTION_MAX = 2000
STATUSES = ("pending", "active", "suspended")
KINDS = ("producer", "shop")
REPEAT_WINDOW = timedelta(minutes=10)


@dataclass
class MerchantData:
    """What the merchant form gives (already format-checked by the form; checked again here)."""

    name: str
    kind: str
    commune_id: int
    address: str = ""
    description_fr: str = ""
    description_en: str = ""
    conventioned_since: date | None = None
    category_ids: list[int] = field(default_factory=list)
    iban: str = ""


def search(text: str | None = None, status: str | None = None) -> list[Merchant]:
    """Merchants whose name or commune contains `text` (accents and case ignored), by name."""
    statement = select(Merchant).options(
        selectinload(Merchant.commune),
        selectinload(Merchant.categories),
        selectinload(Merchant.cashiers),
    )
    if status in STATUSES:
        statement = statement.where(Merchant.status == status)
    merchants = list(db.session.scalars(statement))
    wanted = fold(clean_line(text)) if text else ""
    if wanted:
        merchants = [
            m
            for m in merchants
            if wanted in fold(m.name) or wanted in fold(m.commune.name if m.commune else "")
        ]
    return sorted(merchants, key=lambda m: (fold(m.name), m.id))


def counts() -> dict[str, int]:
    rows = db.session.execute(select(Merchant.status, func.count()).group_by(Merchant.status)).all()
    return dict(rows)


def _clean(data: MerchantData) -> MerchantData:
    name = clean_line(data.name)[:NAME_MAX]
    if not name:
        raise InvalidContent(_l("Enter the merchant’s name."), field="name")
    if data.kind not in KINDS:
        raise InvalidContent(_l("Choose producer or shop."), field="kind")
    if db.session.get(Commune, data.commune_id) is None:
        raise InvalidContent(_l("Choose the commune."), field="commune")
    description_fr = strip_controls(data.description_fr, keep_newlines=True).strip()[
        :DESCRIPTION_MAX
    ]
    description_en = strip_controls(data.description_en, keep_newlines=True).strip()[
        :DESCRIPTION_MAX
    ]
    if bool(description_fr) != bool(description_en):
        raise InvalidContent(
            _l("Write the description in both languages, or leave both empty."),
            field="description_en",
        )
    if data.conventioned_since is not None and not data.category_ids:
        raise InvalidContent(
            _l("A conventioned merchant sells at least one product category."), field="categories"
        )
    iban = parse_iban(data.iban) if (data.iban or "").strip() else ""
    return MerchantData(
        name=name,
        kind=data.kind,
        commune_id=data.commune_id,
        address=clean_address(data.address)[:ADDRESS_MAX],
        description_fr=description_fr,
        description_en=description_en,
        conventioned_since=data.conventioned_since,
        category_ids=list(dict.fromkeys(data.category_ids)),
        iban=iban,
    )


def _categories(ids: list[int]) -> list[Category]:
    found = list(db.session.scalars(select(Category).where(Category.id.in_(ids)))) if ids else []
    if len(found) != len(ids):
        raise InvalidContent(_l("Choose categories from the list."), field="categories")
    return found


def _apply(merchant: Merchant, data: MerchantData) -> None:
    merchant.name = data.name
    merchant.kind = data.kind
    merchant.commune_id = data.commune_id
    merchant.address = data.address
    merchant.description_fr = data.description_fr
    merchant.description_en = data.description_en
    merchant.conventioned_since = data.conventioned_since
    merchant.categories = _categories(data.category_ids)
    merchant.iban = data.iban
    if merchant.status != "suspended":
        merchant.status = "active" if data.conventioned_since else "pending"


def _iban_detail(iban: str) -> dict:
    """What the log keeps of an IBAN: its last four characters, never the whole number."""
    return {"iban_last4": iban[-4:]} if iban else {"iban_last4": ""}


def create(data: MerchantData, actor_id: int | None) -> Merchant:
    """A new merchant: `active` when a convention date is given, else `pending`."""
    data = _clean(data)
    merchant = Merchant(status="pending")
    _apply(merchant, data)
    db.session.add(merchant)
    db.session.flush()
    audit.record(
        actor_id,
        "merchant.created",
        "merchant",
        merchant.id,
        {"name": merchant.name, "status": merchant.status, **_iban_detail(merchant.iban)},
    )
    return merchant


def create_once(data: MerchantData, actor_id: int | None) -> tuple[Merchant, bool]:
    """`create`, unless the same form was just sent (a double click, Back and send again): a
    merchant of the same name in the same commune created in the last REPEAT_WINDOW is that
    first copy, returned with False. Under the commune's lock (a row lock on PostgreSQL; SQLite:
    the request's BEGIN IMMEDIATE), so that two copies sent at once create one merchant."""
    cleaned = _clean(data)
    db.session.execute(select(Commune.id).where(Commune.id == cleaned.commune_id).with_for_update())
    twin = db.session.scalar(
        select(Merchant)
        .where(
            Merchant.name == cleaned.name,
            Merchant.commune_id == cleaned.commune_id,
            Merchant.created_at >= utcnow() - REPEAT_WINDOW,
        )
        .order_by(Merchant.id)
        .limit(1)
    )
    if twin is not None:
        return twin, False
    return create(cleaned, actor_id), True


def update(merchant: Merchant, data: MerchantData, actor_id: int | None) -> list[str]:
    """Change the merchant; returns the names of the fields that changed (written to the log)."""
    data = _clean(data)
    before = _snapshot(merchant)
    _apply(merchant, data)
    db.session.flush()
    after = _snapshot(merchant)
    changed = [name for name in after if after[name] != before[name]]
    if changed:
        details = {"changed": changed, "status": merchant.status}
        if "iban" in changed:
            details.update(_iban_detail(merchant.iban))
        audit.record(actor_id, "merchant.updated", "merchant", merchant.id, details)
    return changed


def _snapshot(merchant: Merchant) -> dict:
    return {
        "name": merchant.name,
        "kind": merchant.kind,
        "commune": merchant.commune_id,
        "address": merchant.address,
        "description_fr": merchant.description_fr,
        "description_en": merchant.description_en,
        "conventioned_since": merchant.conventioned_since,
        "categories": sorted(c.id for c in merchant.categories),
        "iban": merchant.iban,
        "status": merchant.status,
    }


def suspend(merchant: Merchant, actor_id: int | None, reason: str = "") -> bool:
    """Stop the merchant's register (its cashiers see why). Returns False if already suspended."""
    if merchant.status == "suspended":
        return False
    merchant.status = "suspended"
    db.session.flush()
    audit.record(
        actor_id,
        "merchant.suspended",
        "merchant",
        merchant.id,
        {"name": merchant.name, "reason": clean_line(reason)[:300]},
    )
    return True


def reactivate(merchant: Merchant, actor_id: int | None) -> bool:
    """Lift a suspension: active again if conventioned, else pending. False if not suspended."""
    if merchant.status != "suspended":
        return False
    merchant.status = "active" if merchant.conventioned_since else "pending"
    db.session.flush()
    audit.record(
        actor_id,
        "merchant.updated",
        "merchant",
        merchant.id,
        {"changed": ["status"], "status": merchant.status, "reactivated": True},
    )
    return True


# Cashier accounts


def invite_cashier(
    merchant: Merchant, email: str, name: str, language: str, actor_id: int | None
) -> User:
    """A cashier account bound to `merchant`, and the invitation mail with its set-password link.

    Raises `EmailTaken` when another account signs in with that address.
    """
    address = (email or "").strip().lower()
    if db.session.scalar(select(User.id).where(func.lower(User.email) == address)) is not None:
        raise EmailTaken(_l("An account already signs in with this e-mail address."))
    user = User(
        email=address,
        role="cashier",
        merchant_id=merchant.id,
        display_name=clean_line(name)[:120] or merchant.name,
        language=language if language in ("fr", "en") else "fr",
        # Nobody knows this password: the cashier chooses theirs with the link (or "forgot password").
        password_hash=auth.hash_password(secrets.token_urlsafe(32)),
    )
    db.session.add(user)
    db.session.flush()
    _send_invitation(user, merchant)
    audit.record(
        actor_id,
        "merchant.cashier_invited",
        "merchant",
        merchant.id,
        {"user_id": user.id, "email": address},
    )
    return user


def resend_invitation(merchant: Merchant, user: User, actor_id: int | None) -> None:
    """A new set-password link for a cashier of `merchant` (the older link stops working only
    once a password is set)."""
    _check_cashier(merchant, user)
    _send_invitation(user, merchant)
    audit.record(
        actor_id,
        "merchant.cashier_invited",
        "merchant",
        merchant.id,
        {"user_id": user.id, "email": user.email, "again": True},
    )


def set_cashier_enabled(
    merchant: Merchant, user: User, enabled: bool, actor_id: int | None
) -> None:
    """Close (or reopen) a cashier's access; closing also ends their open sessions."""
    _check_cashier(merchant, user)
    if user.is_enabled == enabled:
        return
    user.is_enabled = enabled
    if not enabled:
        sessions.end_all(user)
    db.session.flush()
    audit.record(
        actor_id,
        "user.role_changed",
        "user",
        user.id,
        {"merchant_id": merchant.id, "role": "cashier", "enabled": enabled},
    )


def _check_cashier(merchant: Merchant, user: User) -> None:
    if user.role != "cashier" or user.merchant_id != merchant.id:
        raise InvalidContent(_l("This account is not a cashier of this merchant."))


def _send_invitation(user: User, merchant: Merchant) -> None:
    queue_mail(
        user.email,
        "cashier_invitation",
        user.language,
        name=user.display_name,
        merchant=merchant.name,
        link=auth.absolute_url("auth.reset_password", token=auth.reset_token(user)),
        hours=auth.RESET_LINK_HOURS,
        login=auth.absolute_url("auth.login"),
        forgot=auth.absolute_url("auth.forgot_password"),
    )


def cashiers(merchant: Merchant) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.merchant_id == merchant.id, User.role == "cashier")
            .order_by(User.display_name, User.id)
        )
    )


def never_signed_in(user: User) -> bool:
    return user.last_login_at is None


# --- The association's lists: product categories and markets ---------------------------------

CATEGORY_NAME_MAX = 80
PLACE_MAX = 160


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def _category_snapshot(category: Category) -> dict:
    return {
        "slug": category.slug,
        "name_fr": category.name_fr,
        "name_en": category.name_en,
        "position": category.position,
    }


def _clean_category(name_fr: str, name_en: str, category: Category | None) -> tuple[str, str]:
    cleaned = {}
    for name, text in (("name_fr", name_fr), ("name_en", name_en)):
        value = clean_line(text)
        if not fold(value):
            raise InvalidListEntry(_l("Enter the category’s name."), field=name)
        if len(value) > CATEGORY_NAME_MAX:
            raise InvalidListEntry(
                _l("At most %(num)d characters.", num=CATEGORY_NAME_MAX), field=name
            )
        for other in categories():
            if (category is None or other.id != category.id) and fold(getattr(other, name)) == fold(
                value
            ):
                raise CategoryExists(field=name)
        cleaned[name] = value
    return cleaned["name_fr"], cleaned["name_en"]


def _category_slug(name_fr: str) -> str:
    base = fold(name_fr).replace(" ", "-")[:36] or "categorie"
    slug, n = base, 1
    while db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_category(name_fr: str, name_en: str, actor_id: int | None) -> Category:
    """A new category, last in the order."""
    name_fr, name_en = _clean_category(name_fr, name_en, None)
    last = db.session.scalar(select(func.max(Category.position)))
    category = Category(
        slug=_category_slug(name_fr),
        name_fr=name_fr,
        name_en=name_en,
        position=(last if last is not None else -1) + 1,
    )
    db.session.add(category)
    db.session.flush()
    audit.record_change(
        actor_id, "category", category.id, "created", None, _category_snapshot(category)
    )
    return category


def rename_category(category: Category, name_fr: str, name_en: str, actor_id: int | None) -> bool:
    """New names (the slug stays). False when nothing changed."""
    name_fr, name_en = _clean_category(name_fr, name_en, category)
    before = _category_snapshot(category)
    category.name_fr, category.name_en = name_fr, name_en
    db.session.flush()
    after = _category_snapshot(category)
    if after == before:
        return False
    audit.record_change(actor_id, "category", category.id, "renamed", before, after)
    return True


def move_category(category: Category, direction: str, actor_id: int | None) -> bool:
    """One place up or down; False at either end. Positions are renumbered 0, 1, 2, ..."""
    before = category.position
    if not ordering.move(categories(), category, direction):
        return False
    db.session.flush()
    audit.record_change(
        actor_id,
        "category",
        category.id,
        "moved",
        {"position": before},
        {"position": category.position},
    )
    return True


def category_in_use(category: Category) -> bool:
    from app.ledger.models import Transfer
    from app.merchants.models import merchant_category

    sold = db.session.scalar(
        select(Transfer.id).where(Transfer.category_id == category.id).limit(1)
    )
    linked = db.session.scalar(
        select(merchant_category.c.merchant_id)
        .where(merchant_category.c.category_id == category.id)
        .limit(1)
    )
    return sold is not None or linked is not None


def delete_category(category: Category, actor_id: int | None) -> None:
    """Remove a category nobody uses; raises `CategoryInUse` when a merchant sells it or a sale
    was made in it."""
    if category_in_use(category):
        raise CategoryInUse()
    before = _category_snapshot(category)
    category_id = category.id
    db.session.delete(category)
    db.session.flush()
    audit.record_change(actor_id, "category", category_id, "removed", before, None)


@dataclass
class MarketData:
    place: str
    weekday: int
    opens: time | None
    closes: time | None
    commune_id: int | None = None


def markets() -> list[Market]:
    """Every market, those still held first, by day, hour and place."""
    found = db.session.scalars(
        select(Market).options(
            selectinload(Market.stalls).selectinload(MarketStall.merchant),
            selectinload(Market.commune),
        )
    ).all()
    return sorted(found, key=lambda m: (not m.active, m.weekday, m.opens, fold(m.place)))


def _market_snapshot(market: Market) -> dict:
    return {
        "place": market.place,
        "commune_id": market.commune_id,
        "weekday": market.weekday,
        "opens": market.opens,
        "closes": market.closes,
        "active": market.active,
        "merchants": sorted(stall.merchant_id for stall in market.stalls),
    }


def _clean_market(data: MarketData, market: Market | None) -> MarketData:
    place = clean_line(data.place)
    if not fold(place):
        raise InvalidListEntry(_l("Enter where the market is held."), field="place")
    if len(place) > PLACE_MAX:
        raise InvalidListEntry(_l("At most %(num)d characters.", num=PLACE_MAX), field="place")
    if not isinstance(data.weekday, int) or not 0 <= data.weekday <= 6:
        raise InvalidListEntry(_l("Choose the day of the week."), field="weekday")
    if data.opens is None:
        raise InvalidListEntry(_l("Enter the opening time, for example 08:00."), field="opens")
    if data.closes is None:
        raise InvalidListEntry(_l("Enter the closing time, for example 12:30."), field="closes")
    if data.closes <= data.opens:
        raise InvalidListEntry(_l("The market closes after it opens."), field="closes")
    if data.commune_id and db.session.get(Commune, data.commune_id) is None:
        raise InvalidListEntry(_l("Choose the commune."), field="commune")
    for other in db.session.scalars(select(Market).where(Market.weekday == data.weekday)):
        if (market is None or other.id != market.id) and fold(other.place) == fold(place):
            raise MarketExists(field="place")
    return MarketData(place, data.weekday, data.opens, data.closes, data.commune_id or None)


def _apply_market(market: Market, data: MarketData) -> None:
    market.place = data.place
    market.weekday = data.weekday
    market.opens = data.opens
    market.closes = data.closes
    market.commune_id = data.commune_id


def _link(market: Market, merchant_ids: list[int]) -> None:
    wanted = set(merchant_ids)
    found = (
        set(db.session.scalars(select(Merchant.id).where(Merchant.id.in_(wanted))))
        if wanted
        else set()
    )
    if found != wanted:
        raise InvalidListEntry(_l("Choose merchants from the list."), field="merchants")
    market.stalls = [s for s in market.stalls if s.merchant_id in wanted] + [
        MarketStall(merchant_id=merchant_id)
        for merchant_id in sorted(wanted - {s.merchant_id for s in market.stalls})
    ]


def create_market(data: MarketData, merchant_ids: list[int], actor_id: int | None) -> Market:
    """A market, held, with the merchants who stand at it."""
    cleaned = _clean_market(data, None)
    market = Market(active=True)
    _apply_market(market, cleaned)
    _link(market, merchant_ids)
    db.session.add(market)
    db.session.flush()
    audit.record_change(actor_id, "market", market.id, "created", None, _market_snapshot(market))
    return market


def update_market(
    market: Market, data: MarketData, merchant_ids: list[int], actor_id: int | None
) -> bool:
    """Change the market's place, day, hours or merchants. False when nothing changed."""
    cleaned = _clean_market(data, market)
    before = _market_snapshot(market)
    _apply_market(market, cleaned)
    _link(market, merchant_ids)
    db.session.flush()
    db.session.refresh(market, ["stalls"])
    after = _market_snapshot(market)
    if after == before:
        return False
    audit.record_change(actor_id, "market", market.id, "updated", before, after)
    return True


def set_market_active(market: Market, active: bool, actor_id: int | None) -> bool:
    """A market no longer held is hidden from the public pages (its links are kept); it can be
    held again. False when it already was so."""
    if market.active == active:
        return False
    before = _market_snapshot(market)
    market.active = active
    db.session.flush()
    audit.record_change(
        actor_id,
        "market",
        market.id,
        "reopened" if active else "closed",
        before,
        _market_snapshot(market),
    )
    return True


def link_merchant_market(merchant: Merchant, market_id: int | None, actor_id: int | None) -> bool:
    """Add a stall of `merchant` at the market (from the merchant's page). False when it already
    stands there; `InvalidListEntry` on the `market` field for a market that does not exist."""
    market = db.session.get(Market, market_id) if market_id else None
    if market is None:
        raise InvalidListEntry(_l("Choose a market from the list."), field="market")
    if any(stall.merchant_id == merchant.id for stall in market.stalls):
        return False
    return _relink(market, [*(s.merchant_id for s in market.stalls), merchant.id], actor_id)


def unlink_merchant_market(merchant: Merchant, market: Market, actor_id: int | None) -> bool:
    """Remove the merchant's stall at the market. False when it had none."""
    kept = [s.merchant_id for s in market.stalls if s.merchant_id != merchant.id]
    if len(kept) == len(market.stalls):
        return False
    return _relink(market, kept, actor_id)


def _relink(market: Market, merchant_ids: list[int], actor_id: int | None) -> bool:
    """The market's merchants changed, audited as from the market's page."""
    before = _market_snapshot(market)
    _link(market, merchant_ids)
    db.session.flush()
    db.session.refresh(market, ["stalls"])
    audit.record_change(actor_id, "market", market.id, "updated", before, _market_snapshot(market))
    return True


def parse_time(text: str | None) -> time | None:
    """'8:00', '08h30', '12 h', '12.30' -> a time of day; None for anything else."""
    value = (text or "").strip().lower().replace(" ", "")[:10]
    match = re.fullmatch(r"([0-9]{1,2})(?:[:h.]([0-9]{2})?)?", value)
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)
