"""The back office's operations on members: search, the member's file, approve or reject an
application, suspend, reactivate, unlock or replace a card, send an activation letter. Each is the
domain operation plus its entry in the audit log, in one transaction (flushes, never commits).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.audit import log as audit
from app.core import calendar
from app.core.extensions import db
from app.core.i18n import fold
from app.core.pagination import Pagination, page_in_range, paginate
from app.ledger import contributions
from app.ledger.models import Transfer
from app.members import cards, membership
from app.members.applications import clean_line
from app.members.cards import MAX_PIN_FAILURES
from app.members.models import Application, Commune, Member, User

PER_PAGE = 50


# Finding members


def search_members(
    text: str = "", status: str = "", page: int = 1, per_page: int = PER_PAGE
) -> Pagination:
    """Members whose name, number or commune contains `text` (accents and case ignored, as the
    merchants' search: "boen" finds Boën, "ines" Inès), by status ('locked': card locked).

    Folding is done in Python, the same on SQLite and PostgreSQL (neither folds accents in SQL
    without an extension): the few columns searched are read for the members of that status,
    then only the page's members are loaded."""
    query = select(Member)
    if status == "locked":
        query = query.where(Member.pin_failures >= MAX_PIN_FAILURES, Member.status != "erased")
    elif status:
        query = query.where(Member.status == status)
    text = clean_line(text or "")
    if not text:
        return paginate(query, (Member.number,), page, per_page)
    wanted = fold(text)  # empty for punctuation only ("%"): then nothing matches but a number
    digits = "".join(text.split())
    rows = db.session.execute(
        query.with_only_columns(
            Member.id, Member.number, Member.first_name, Member.last_name, Commune.name
        )
        .outerjoin(Commune, Commune.id == Member.commune_id)
        .order_by(Member.number)
    ).all()
    ids = [row[0] for row in rows if _member_matches(row, wanted, digits)]
    page = page_in_range(page, len(ids), per_page)
    shown = ids[(page - 1) * per_page : page * per_page]
    by_id = (
        {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(shown)))}
        if shown
        else {}
    )
    return Pagination([by_id[i] for i in shown], page, per_page, len(ids))


def _member_matches(row, wanted: str, digits: str) -> bool:
    _id, number, first, last, commune = row
    if digits.isdigit() and (number or "").startswith(digits):
        return True
    return bool(wanted) and any(
        wanted in fold(value)
        for value in (f"{first or ''} {last or ''}", f"{last or ''} {first or ''}", commune or "")
    )


def pending_applications() -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.status == "pending")
            .order_by(Application.created_at, Application.id)
        )
    )


def member_by_number(number: str) -> Member:
    """`InvalidMemberNumber` for a typo, `UnknownMember` when nobody (or an erased member) has it."""
    return membership.find_by_number(number)


@dataclass(frozen=True)
class MemberFile:
    """What the member's page shows."""

    member: Member
    balance_cents: int
    locked: bool
    activated: bool
    contributions: list[Transfer]
    paid_this_year_cents: int
    movements: membership.MovementPage
    journal: list


def member_file(member: Member, page: int = 1) -> MemberFile:
    paid = contributions.contributions_of(member)
    year = calendar.today().year
    return MemberFile(
        member=member,
        balance_cents=membership.current_balance(member),
        locked=cards.is_locked(member),
        activated=bool(member.user and member.user.password_hash),
        contributions=paid[:24],
        paid_this_year_cents=sum(t.amount_cents for t in paid if t.occurred_on.year == year),
        movements=membership.movements(member, page=page, per_page=25),
        journal=audit.journal(target_type="member", target_id=member.id, per_page=20).items,
    )


# Applications and members


# Approvals, rejections, suspensions and contributions are written to the audit log by their
# own services (app.members.membership, app.ledger.contributions), whoever calls them: the
# back office or the command line.


def approve_application(application: Application, actor_id: int) -> membership.Approval:
    return membership.approve(application, actor_id=actor_id)


def reject_application(application: Application, reason: str, actor_id: int) -> None:
    membership.reject(application, reason, actor_id=actor_id)


def suspend_member(member: Member, actor_id: int, reason: str = "") -> bool:
    """False when the membership was already suspended (a form sent again): nothing changes."""
    if member.status == "suspended":
        return False
    membership.suspend(member, actor_id=actor_id, reason=reason)
    return True


def reactivate_member(member: Member, actor_id: int) -> bool:
    """False when the membership was already active: nothing changes."""
    if member.status == "active":
        return False
    membership.reactivate(member, actor_id=actor_id)
    return True


def unlock_card(member: Member, actor_id: int) -> bool:
    """False when the card was not locked (unlocked meanwhile, or a form sent again)."""
    if not cards.is_locked(member):
        return False
    failures = member.pin_failures
    cards.unlock_card(member)
    audit.record(
        actor_id,
        "member.card_unlocked",
        "member",
        member.id,
        {"number": member.number, "wrong_pins": failures},
    )
    return True


def replace_card(member: Member, actor_id: int) -> bool:
    """A new card (new QR token): the old card stops paying."""
    membership.report_lost_card(member)
    audit.record(actor_id, "member.card_replaced", "member", member.id, {"number": member.number})
    return True


def send_activation(member: Member, actor_id: int):
    """The activation e-mail again, or (no e-mail) a new letter code, returned to print."""
    issued = membership.send_activation(member)
    audit.record(
        actor_id,
        "member.activation_letter",
        "member",
        member.id,
        {"number": member.number, "by": "letter" if issued else "email"},
    )
    return issued


def admins() -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.role == "admin").order_by(User.display_name))
    )
