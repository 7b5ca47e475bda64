"""The back office's audit log: append an entry for every action that matters; read them back.

Services call `record(...)` in the transaction of the action itself, so an entry exists exactly
when the action was committed. Entries are never edited (see `app.audit.models`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.calendar import PARIS
from app.core.extensions import db
from app.core.pagination import Pagination, paginate
from app.members.models import User

# Every action written to the log, with its label for the journal's filter.
ACTIONS = {
    "application.approved": _l("Application approved"),
    "application.rejected": _l("Application rejected"),
    "member.suspended": _l("Member suspended"),
    "member.reactivated": _l("Member reactivated"),
    "member.card_unlocked": _l("Card unlocked"),
    "member.card_replaced": _l("Card replaced"),
    "member.activation_letter": _l("Activation letter issued"),
    "contribution.recorded": _l("Contribution recorded"),
    "contribution.imported": _l("Bank statement imported"),
    "contribution.cancelled": _l("Contribution cancelled"),
    "allocation.run": _l("Monthly allocation run"),
    "transfer.corrected": _l("Sale corrected"),
    "settlement.paid": _l("Settlement paid"),
    "merchant.created": _l("Merchant created"),
    "merchant.updated": _l("Merchant updated"),
    "merchant.suspended": _l("Merchant suspended"),
    "merchant.cashier_invited": _l("Cashier invited"),
    "user.role_changed": _l("Role changed"),
    "admin.totp_enrolled": _l("Second factor enrolled"),
    "admin.totp_reset": _l("Second factor reset"),
    "content.changed": _l("Content changed"),
    "subscriber.deleted": _l("Subscriber removed"),
    "settings.changed": _l("Settings changed"),
    "commune.changed": _l("Commune changed"),
    "category.changed": _l("Category changed"),
    "pickup_point.changed": _l("Pickup point changed"),
    "market.changed": _l("Market changed"),
}

# How the journal names the keys and a few values of `details` (others are shown as they are).
DETAIL_LABELS = {
    "number": _l("Member number"),
    "application_id": _l("Application"),
    "activation": _l("Activation"),
    "by": _l("By"),
    "wrong_pins": _l("Wrong PINs"),
    "amount_cents": _l("Amount"),
    "paid_on": _l("Paid on"),
    "method": _l("Paid by"),
    "transfer": _l("Receipt"),
    "reason": _l("Reason"),
    "period": _l("Month"),
    "members_credited": _l("Members credited"),
    "total_cents": _l("Total"),
    "expired_members": _l("Balances capped"),
    "expired_cents": _l("Returned to the caisse"),
    "sale": _l("Sale"),
    "correction": _l("Correction"),
    "file": _l("File"),
    "recorded": _l("Recorded"),
    "already_recorded": _l("Already recorded"),
    "skipped": _l("Skipped"),
    "section": _l("Section"),
    "change": _l("Change"),
    "old": _l("Before"),
    "new": _l("After"),
}
VALUE_LABELS = {
    "letter": _l("letter"),
    "email": _l("e-mail"),
    "transfer": _l("Bank transfer"),
    "cash": _l("Cash"),
    "cheque": _l("Cheque"),
    "direct_debit": _l("Direct debit"),
}

# Words that must never name a key of the log, whatever a caller passes by mistake
# (`iban_last4` is fine: only the word `iban` alone is refused).
_FORBIDDEN_WORDS = {"password", "pin", "token", "secret", "code", "iban", "otp", "totp"}


def _plain(value):
    """JSON-safe copy of `value` (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _check_keys(details: dict) -> None:
    for key in details:
        words = set(str(key).lower().replace("-", "_").split("_"))
        if words & _FORBIDDEN_WORDS and "last4" not in words:
            raise ValueError(f"the audit log never stores {key!r}")


def record(
    actor_id: int | None,
    action: str,
    target_type: str = "",
    target_id: int | None = None,
    details: dict | None = None,
) -> AuditEntry:
    """Append one entry (flushes, never commits). `action` is one of `ACTIONS`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to app.audit.log.ACTIONS")
    details = dict(details or {})
    _check_keys(details)
    plain = _plain(details)
    json.dumps(plain)  # fails here, not at flush time, if something is not serialisable
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type or "",
        target_id=target_id,
        details=plain,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def record_change(
    actor_id: int | None, kind: str, target_id: int, change: str, old, new
) -> AuditEntry:
    """A change to one entry of the association's lists (`commune`, `category`, `market`,
    `pickup_point`): the action `<kind>.changed`, what was done (`created`, `updated`, ...)
    and the entry's values before and after (None for one created or removed)."""
    return record(
        actor_id, f"{kind}.changed", kind, target_id, {"change": change, "old": old, "new": new}
    )


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def detail_label(key: str) -> str:
    return str(DETAIL_LABELS.get(key, key))


def value_label(value) -> str:
    return (
        str(VALUE_LABELS[value]) if isinstance(value, str) and value in VALUE_LABELS else str(value)
    )


# Reading the journal


def _paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS)


def journal(
    action: str | None = None,
    actor_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Pagination:
    """Entries newest first, filtered; `since` and `until` are days in Europe/Paris, inclusive."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if since and since > date.min:
        query = query.where(AuditEntry.created_at >= _paris_midnight(since))
    if until and until < date.max:
        query = query.where(AuditEntry.created_at < _paris_midnight(until + timedelta(days=1)))
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return paginate(query, (AuditEntry.created_at.desc(), AuditEntry.id.desc()), page, per_page)


def actors() -> list[User]:
    """Users who appear in the log (for the journal's filter)."""
    ids = select(AuditEntry.actor_id).where(AuditEntry.actor_id.is_not(None)).distinct()
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(ids)).order_by(User.display_name, User.id)
        )
    )
