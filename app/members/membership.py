"""Members: approval of applications, activation, cards, suspension, erasure and export.

Approval turns a pending application into a member with a number (5 digits and a Luhn check
digit), a random card token for the QR code and an account to sign in with. A member with an
e-mail receives an activation link; a member without one receives a printed letter carrying a
one-time code. Activation sets the password and the PIN (`app.members.auth`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit import log as audit
from app.core import calendar
from app.core.calendar import Month
from app.core.columns import utcnow
from app.core.extensions import db
from app.core.i18n import euros_plain
from app.core.mail import OutboxMessage, queue_mail
from app.core.pagination import Pagination
from app.core.settings import association
from app.core.spreadsheet import Euros, french_csv
from app.events import registrations as events
from app.ledger import transfers as ledger
from app.ledger.models import Account, Transfer
from app.members import auth, cards, payment, sessions
from app.members.errors import (
    ApplicationNotPending,
    EmailTaken,
    LostCard,
    MemberErased,
    PledgeTooLow,
    UnknownMember,
)
from app.members.models import ActivationCode, Application, Member, RetiredCardToken, User
from app.merchants.models import Category, Merchant

log = logging.getLogger(__name__)

ERASED_FIRST_NAME = "Adhérent"
ERASED_LAST_NAME = "effacé"
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Approval:
    member: Member
    user: User
    # For a member without e-mail: the code to print on the activation letter (shown once).
    letter: auth.IssuedCode | None


# Numbers


def next_member_number() -> str:
    """The highest number in use plus one (numbers are zero-padded, so text order is numeric)."""
    highest = db.session.scalar(db.select(func.max(Member.number)))
    return cards.member_number(int(highest[:5]) + 1 if highest else 1)


def _new_pseudonym() -> str:
    return "m-" + secrets.token_hex(6)


# Creating members


def create_member(
    first_name: str,
    last_name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    address: str = "",
    commune_id: int | None = None,
    pledge_cents: int = 0,
    language: str = "fr",
    application: Application | None = None,
    number: str | None = None,
) -> Member:
    """A new active member and its (not yet activated) sign-in account.

    `number` is normally left out (the next free one); demo data gives it.
    """
    email = (email or "").strip().lower() or None
    if email and db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(_l("An account already uses this e-mail address."))
    user = User(
        email=email, role="member", display_name=first_name, language=language, password_hash=""
    )
    db.session.add(user)
    db.session.flush()
    # Two approvals at once may pick the same number: the unique index refuses the second,
    # which then takes the next one (SQLite serialises writers anyway; PostgreSQL does not).
    for attempt in range(5):
        member = Member(
            number=number or next_member_number(),
            pseudonym=_new_pseudonym(),
            user_id=user.id,
            application_id=application.id if application else None,
            first_name=first_name,
            last_name=last_name,
            commune_id=commune_id,
            address=address or "",
            email=email,
            phone=phone or None,
            status="active",
            pledge_cents=pledge_cents,
            card_token=cards.new_card_token(),
            joined_at=utcnow(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(member)
        except IntegrityError:
            if attempt == 4 or number:
                raise
            continue
        return member
    raise AssertionError("unreachable")  # pragma: no cover


def approve(application: Application, actor_id: int | None = None) -> Approval:
    """Approve a pending application: member, card, activation path, this month's allocation."""
    if application.status != "pending":
        raise ApplicationNotPending(_l("This application was already decided."))
    member = create_member(
        application.first_name,
        application.last_name,
        email=application.email,
        phone=application.phone,
        address=application.address,
        commune_id=application.commune_id,
        pledge_cents=application.contribution_cents,
        language=application.language,
        application=application,
    )
    application.status = "approved"
    application.decided_at = utcnow()
    db.session.flush()
    letter = send_activation(member)
    _allocate_now(member, actor_id)
    log.info("application %s approved by user %s: member %s", application.id, actor_id, member.id)
    audit.record(
        actor_id,
        "application.approved",
        "member",
        member.id,
        {
            "application_id": application.id,
            "number": member.number,
            "activation": "letter" if letter else "email",
        },
    )
    return Approval(member=member, user=member.user, letter=letter)


def _allocate_now(member: Member, actor_id: int | None) -> None:
    """A member approved after the month's allocation run still receives this month's."""
    from app.ledger import allocation

    allocation.allocate_member_now(member, actor_id=actor_id)


def reject(application: Application, reason: str, actor_id: int | None = None) -> None:
    """Refuse a pending application, with the reason (mailed when there is an e-mail)."""
    if application.status != "pending":
        raise ApplicationNotPending(_l("This application was already decided."))
    reason = (reason or "").strip()[:MAX_REASON_LENGTH]
    application.status = "rejected"
    application.reason = reason
    application.decided_at = utcnow()
    db.session.flush()
    if application.email:
        queue_mail(
            application.email,
            "application_rejected",
            application.language,
            name=application.first_name,
            reason=reason,
        )
    log.info("application %s rejected by user %s", application.id, actor_id)
    audit.record(
        actor_id, "application.rejected", "application", application.id, {"reason": reason}
    )


# Activation


def send_activation(member: Member) -> auth.IssuedCode | None:
    """Mail the activation link, or, without e-mail, issue the letter's one-time code."""
    user = member.user
    if user.email:
        queue_mail(
            user.email,
            "activation",
            user.language,
            name=member.first_name,
            number=member.number,
            link=auth.absolute_url("auth.activate", token=auth.activation_token(user)),
            days=auth.ACTIVATION_LINK_DAYS,
            pay=payment.how_to_pay(member.number, member.pledge_cents),
        )
        return None
    return auth.issue_activation_code(user)


def render_activation_letter(
    member: Member, issued: auth.IssuedCode, inline_css: str | None = None
) -> str:
    """The printable letter (HTML) in the member's language: number, code, how to activate.

    Served by the app it links the site's stylesheets; saved to a file it carries `inline_css`.
    """
    paths = current_app.url_map.bind("localhost")
    stylesheets = (
        []
        if inline_css
        else [
            paths.build("static", {"filename": name})
            for name in ("css/main.css", "css/account.css")
        ]
    )
    with force_locale(member.user.language if member.user else "fr"):
        return render_template(
            "account/activation_letter.html",
            member=member,
            code=issued.code,
            expires_at=issued.expires_at,
            activation_url=auth.absolute_url("auth.activate_with_code"),
            inline_css=inline_css,
            stylesheets=stylesheets,
            association=association(),
            pay=payment.how_to_pay(member.number, member.pledge_cents),
        )


# Status


def suspend(member: Member, actor_id: int | None = None, reason: str = "") -> None:
    if member.status == "erased":
        raise MemberErased(_l("This member's data was erased."))
    member.status = "suspended"
    if member.user is not None:
        sessions.end_all(member.user)  # a copy of the member's cookie opens nothing any more
    db.session.flush()
    log.info("member %s suspended by user %s", member.id, actor_id)
    audit.record(
        actor_id,
        "member.suspended",
        "member",
        member.id,
        {"number": member.number, **({"reason": reason} if reason else {})},
    )


def reactivate(member: Member, actor_id: int | None = None) -> None:
    if member.status == "erased":
        raise MemberErased(_l("This member's data was erased."))
    member.status = "active"
    db.session.flush()
    log.info("member %s reactivated by user %s", member.id, actor_id)
    audit.record(actor_id, "member.reactivated", "member", member.id, {"number": member.number})


# Cards


def report_lost_card(member: Member) -> str:
    """Issue a new card token at once; the old QR code then reads as a lost card."""
    if member.status == "erased":
        raise MemberErased(_l("This member's data was erased."))
    if member.card_token:
        db.session.add(RetiredCardToken(token=member.card_token, member_id=member.id))
    member.card_token = cards.new_card_token()
    db.session.flush()
    log.info("member %s reported a lost card", member.id)
    return member.card_token


def find_by_card_token(token: str | None) -> Member:
    """The member whose card shows `token`; `LostCard` for a replaced card, else `UnknownMember`.

    The member's status (suspended) is the caller's to check.
    """
    token = (token or "").strip()
    if token:
        member = db.session.scalar(db.select(Member).where(Member.card_token == token))
        if member is not None:
            return member
        if db.session.scalar(db.select(RetiredCardToken.id).where(RetiredCardToken.token == token)):
            raise LostCard(
                _l(
                    "This card was declared lost: it no longer pays. Ask the member for the new card or the member number."
                )
            )
    raise UnknownMember(_l("Unknown card."))


def find_by_number(text: str | None) -> Member:
    """The member with this number; `InvalidMemberNumber` for a typo (before any lookup),
    `UnknownMember` when nobody (or an erased member) has it."""
    number = cards.check_member_number(text)
    member = db.session.scalar(db.select(Member).where(Member.number == number))
    if member is None or member.status == "erased":
        raise UnknownMember(_l("No member has this number."))
    return member


# The member's own changes


def change_pledge(member: Member, pledge_cents: int) -> None:
    """The monthly contribution the member says they will pay (their choice, no proof)."""
    minimum = int(association().get("min_contribution_cents", 0) or 0)
    if pledge_cents < minimum:
        from app.core.i18n import money

        raise PledgeTooLow(
            _l("The minimum contribution is %(amount)s a month.", amount=money(minimum))
        )
    member.pledge_cents = pledge_cents
    db.session.flush()


def change_pin(member: Member, password: str, pin: str) -> None:
    """Set a new PIN after checking the password; this also unlocks a locked card."""
    cards.check_new_pin(pin)
    auth.check_password(member.user, password)
    cards.set_pin(member, pin)
    log.info("member %s changed the PIN", member.id)


# Erasure


def erase(member: Member, actor_id: int | None = None) -> None:
    """Erase the member's personal data; the ledger keeps its amounts under the pseudonym.

    Names become a tombstone, contact details and card go, sign-in is disabled and every
    session ends. Transfers are not touched, so ledger totals do not change.
    """
    if member.status == "erased":
        return
    addresses = {a for a in (member.email, member.user.email if member.user else None) if a}
    # Event registrations hold a name and contact details too: cancelled (places go to the
    # waiting list) and deleted first; the mails this queues are removed with the others below.
    addresses |= events.forget_person(member.id, addresses)
    member.first_name = ERASED_FIRST_NAME
    member.last_name = ERASED_LAST_NAME
    member.address = ""
    member.email = None
    member.phone = None
    member.commune_id = None
    member.pledge_cents = 0
    member.card_token = None
    member.pin_hash = None
    member.pin_failures = 0
    member.status = "erased"
    db.session.execute(delete(RetiredCardToken).where(RetiredCardToken.member_id == member.id))
    if member.user is not None:
        user = member.user
        addresses.add(user.email or "")
        user.email = None
        user.display_name = ""
        user.password_hash = ""
        user.is_enabled = False
        sessions.end_all(user)
        user.failed_logins = 0
        user.login_blocked_until = None
        db.session.execute(delete(ActivationCode).where(ActivationCode.user_id == user.id))
    if member.application_id:
        application = db.session.get(Application, member.application_id)
        if application is not None:
            application.first_name = ERASED_FIRST_NAME
            application.last_name = ERASED_LAST_NAME
            application.address = ""
            application.email = None
            application.phone = None
            application.reason = ""
    addresses.discard("")
    if addresses:
        # Mails to the member (sent or waiting) hold their name and address too.
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.recipient.in_(addresses)))
    db.session.flush()
    log.info("member %s erased by user %s", member.id, actor_id)


def erase_own_account(member: Member, password: str) -> None:
    """The member asks for erasure, confirming with their password."""
    auth.check_password(member.user, password)
    erase(member, actor_id=member.user_id)


# Statements: the member's own movements, for the account pages and the exports


KIND_LABELS = {
    "allocation": _l("Monthly allocation"),
    "purchase": _l("Purchase"),
    "refund": _l("Refund"),
    "expiry": _l("Unspent allocation returned to the common fund"),
    "correction": _l("Correction by the association"),
}


@dataclass(frozen=True)
class Movement:
    """One transfer seen from the member's account: signed amount, what it was, with whom."""

    id: int
    reference: str
    kind: str
    occurred_on: date
    created_at: datetime
    amount_cents: int  # positive: money in; negative: money out
    merchant: str  # the other side's name for purchases and refunds
    category: str
    period: str | None
    memo: str

    @property
    def month(self) -> str:
        return str(Month.from_date(self.occurred_on))

    @property
    def label(self) -> str:
        """What the movement is, in the reader's language."""
        return str(KIND_LABELS.get(self.kind, self.kind))


@dataclass(frozen=True)
class MovementPage(Pagination):
    def by_month(self) -> list[tuple[date, list[Movement]]]:
        """The page's movements grouped by month (first day of it), order kept."""
        groups: list[tuple[date, list[Movement]]] = []
        for item in self.items:
            month = item.occurred_on.replace(day=1)
            if not groups or groups[-1][0] != month:
                groups.append((month, []))
            groups[-1][1].append(item)
        return groups


def own_account(member: Member) -> Account | None:
    """The member's allocation account, without creating it (pages only read)."""
    return db.session.scalar(db.select(Account).where(Account.member_id == member.id))


def current_balance(member: Member) -> int:
    account = own_account(member)
    return ledger.balance(account) if account is not None else 0


def _movement_query(account: Account):
    other = aliased(Account)
    return (
        db.select(Transfer, Merchant.name, Category)
        .join(
            other,
            or_(
                and_(Transfer.source_id == account.id, other.id == Transfer.destination_id),
                and_(Transfer.destination_id == account.id, other.id == Transfer.source_id),
            ),
        )
        .outerjoin(Merchant, Merchant.id == other.merchant_id)
        .outerjoin(Category, Category.id == Transfer.category_id)
    )


def _movement(
    account: Account, transfer: Transfer, merchant: str | None, category: Category | None
) -> Movement:
    sign = 1 if transfer.destination_id == account.id else -1
    return Movement(
        id=transfer.id,
        reference=transfer.reference,
        kind=transfer.kind,
        occurred_on=transfer.occurred_on,
        created_at=transfer.created_at,
        amount_cents=sign * transfer.amount_cents,
        merchant=merchant or "",
        category=category.tr("name") if category is not None else "",
        period=transfer.period,
        memo=transfer.memo or "",
    )


def movements(
    member: Member, page: int = 1, per_page: int = 50, kinds: tuple[str, ...] | None = None
) -> MovementPage:
    """The member's movements, newest first, one page of them."""
    account = own_account(member)
    page = max(1, page)
    if account is None:
        return MovementPage([], page, per_page, 0)
    query = _movement_query(account)
    if kinds:
        query = query.where(Transfer.kind.in_(kinds))
    total = db.session.scalar(db.select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Transfer.occurred_on.desc(), Transfer.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return MovementPage([_movement(account, *row) for row in rows], page, per_page, total)


def all_movements(member: Member) -> list[Movement]:
    """Every movement, oldest first (exports)."""
    account = own_account(member)
    if account is None:
        return []
    rows = db.session.execute(
        _movement_query(account).order_by(Transfer.occurred_on, Transfer.id)
    ).all()
    return [_movement(account, *row) for row in rows]


def contributions(member: Member) -> list[Transfer]:
    """Contributions recorded as paid by the member (and not cancelled), newest first."""
    from app.ledger.contributions import contributions_of

    return contributions_of(member)


def this_month_allocation(member: Member) -> Transfer | None:
    account = own_account(member)
    if account is None:
        return None
    return db.session.scalar(
        db.select(Transfer).where(
            Transfer.kind == "allocation",
            Transfer.destination_id == account.id,
            Transfer.period == str(Month.current()),
        )
    )


def next_allocation_date(today: date | None = None) -> date:
    """The day of next month's allocation (association data `allocation_day`, default the 1st)."""
    today = today or calendar.today()
    day = int(association().get("allocation_day", 1) or 1)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, min(max(day, 1), 28))


def summary(member: Member) -> dict:
    """What the account's home page shows."""
    return {
        "balance_cents": current_balance(member),
        "allocation": this_month_allocation(member),
        "next_allocation": next_allocation_date(),
        "purchases": movements(member, per_page=5, kinds=("purchase", "refund")).items,
        "card_locked": cards.is_locked(member),
    }


# Exports


# Column titles in the member's language (the JSON export keeps the raw field names).
CSV_COLUMNS = (
    _l("Date"),
    _l("Reference"),
    _l("Movement"),
    _l("Shop"),
    _l("Category"),
    _l("Amount (€)"),
    _l("Note"),
)


def movements_csv(member: Member, *, bom: bool = True) -> bytes:
    """The member's movements as CSV for French spreadsheets: `;`, decimal comma, UTF-8 with BOM."""
    rows = (
        (
            item.occurred_on.isoformat(),
            item.reference,
            item.label,
            item.merchant,
            item.category,
            Euros(item.amount_cents),
            item.memo,
        )
        for item in all_movements(member)
    )
    return french_csv(CSV_COLUMNS, rows, bom=bom)


def export_data(member: Member) -> dict:
    """Everything the caisse holds about the member, and their own ledger (their rows only)."""
    user = member.user
    application = (
        db.session.get(Application, member.application_id) if member.application_id else None
    )
    return {
        "exported_at": utcnow().isoformat(),
        "member": {
            "number": member.number,
            "pseudonym": member.pseudonym,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "email": member.email,
            "phone": member.phone,
            "address": member.address,
            "commune": member.commune.name if member.commune else None,
            "status": member.status,
            "monthly_pledge_cents": member.pledge_cents,
            "joined_at": member.joined_at.isoformat() if member.joined_at else None,
            "card_locked": cards.is_locked(member),
            "pin_set": bool(member.pin_hash),
        },
        "login": {
            "email": user.email if user else None,
            "language": user.language if user else None,
            "created_at": user.created_at.isoformat() if user and user.created_at else None,
            "last_login_at": user.last_login_at.isoformat()
            if user and user.last_login_at
            else None,
        },
        "application": None
        if application is None
        else {
            "first_name": application.first_name,
            "last_name": application.last_name,
            "address": application.address,
            "email": application.email,
            "phone": application.phone,
            "commune": application.commune.name if application.commune else None,
            "contribution_cents": application.contribution_cents,
            "status": application.status,
            "created_at": application.created_at.isoformat() if application.created_at else None,
            "decided_at": application.decided_at.isoformat() if application.decided_at else None,
        },
        "ledger": {
            "balance_cents": current_balance(member),
            "movements": [
                {
                    "date": m.occurred_on.isoformat(),
                    "reference": m.reference,
                    "kind": m.kind,
                    "amount_cents": m.amount_cents,
                    "merchant": m.merchant or None,
                    "category": m.category or None,
                    "period": m.period,
                    "memo": m.memo or None,
                }
                for m in all_movements(member)
            ],
        },
        "contributions": [
            {
                "date": t.occurred_on.isoformat(),
                "reference": t.reference,
                "amount_cents": t.amount_cents,
                "method": t.method,
            }
            for t in contributions(member)
        ],
        "event_registrations": _event_registrations(member),
    }


def _event_registrations(member: Member) -> list[dict]:
    """The member's registrations to meetings and events (made while signed in)."""
    from app.events.models import Registration

    rows = db.session.scalars(
        db.select(Registration).where(Registration.member_id == member.id).order_by(Registration.id)
    )
    return [
        {
            "event": row.event.tr("title") if row.event else None,
            "starts_at": row.event.starts_at.isoformat() if row.event else None,
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "people": row.people,
            "status": row.status,
            "needs_ride": row.needs_ride,
            "offers_ride": row.offers_ride,
            "created_at": row.created_at.isoformat() if row.created_at else None,
        }
        for row in rows
    ]


def export_csv(member: Member) -> bytes:
    """Personal data (field;value), a blank line, then the movements (as `movements_csv`)."""
    data = export_data(member)
    rows = [
        (f"{section}.{key}", value)
        for section in ("member", "login", "application")
        for key, value in (data[section] or {}).items()
    ]
    rows.append(("ledger.balance_eur", Euros(data["ledger"]["balance_cents"])))
    rows.extend(
        (
            f"contribution.{row['reference']}",
            f"{row['date']} {euros_plain(row['amount_cents'])} {row['method'] or ''}".strip(),
        )
        for row in data["contributions"]
    )
    rows.extend(
        (f"event_registration.{index}.{key}", value)
        for index, row in enumerate(data["event_registrations"], start=1)
        for key, value in row.items()
    )
    rows.append(())
    return french_csv(("field", "value"), rows) + movements_csv(member, bom=False)
