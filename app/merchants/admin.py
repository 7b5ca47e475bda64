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

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.audit import log as audit
from app.core.columns import utcnow
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.i18n import fold
from app.core.mail import queue_mail
from app.members import auth, sessions
from app.members.applications import clean_address, clean_line, strip_controls
from app.members.errors import EmailTaken
from app.members.models import Commune, User
from app.merchants.models import Category, Merchant
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
