"""Applications to join (/adherer): cleaning what people type, and storing a pending application.

The form checks the formats and shows every problem at once; `submit_application` checks the
association's rules again (eligible commune, minimum contribution, a way to reach the person),
so that no other caller can store an application that breaks them.

`possible_duplicates` finds the other applications and the members that look like the same
person, so that a coordinator does not give one person two allocations.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from app.core.extensions import db
from app.core.i18n import money
from app.core.mail import queue_mail
from app.core.settings import association
from app.members import payment
from app.members.errors import ContributionTooLow, MissingContact, NotEligible
from app.members.models import Application, Commune, Member

NAME_MAX = 80
ADDRESS_MAX = 300
EMAIL_MAX = 254

# A letter, then letters, or a single space, hyphen or apostrophe followed by a letter.
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’-](?=[^\W\d_]))*$")
_FRENCH_PHONE = re.compile(r"^0[1-9]\d{8}$")


def strip_controls(text: str | None, keep_newlines: bool = False) -> str:
    """Remove control and format characters (NUL, escape sequences, bidi overrides, ...).

    Tabs and line breaks become spaces, or stay line breaks in a postal address.
    """
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for char in text:
        if char == "\n" and keep_newlines:
            kept.append(char)
        elif char in "\t\n":
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"):
            kept.append(char)
    return "".join(kept)


def clean_line(text: str | None) -> str:
    """One line of text: controls removed, spaces collapsed, trimmed."""
    return " ".join(strip_controls(text).split())


def clean_address(text: str | None) -> str:
    """A postal address: controls removed, each line trimmed, empty lines dropped."""
    lines = (
        " ".join(line.split()) for line in strip_controls(text, keep_newlines=True).split("\n")
    )
    return "\n".join(line for line in lines if line)


def is_valid_name(name: str) -> bool:
    """Letters (any alphabet, with accents), single spaces, hyphens and apostrophes."""
    return bool(_NAME.match(name))


def normalize_phone(text: str | None) -> str | None:
    """A French number in any usual writing -> '06 12 34 56 78'; None if it is not one.

    Accepts spaces, dots, hyphens, slashes and parentheses, and the +33 / 0033 / +33 (0) prefixes.
    """
    raw = (text or "").strip().replace("(0)", "")
    digits = re.sub(r"[\s.\-/()]", "", raw)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if not _FRENCH_PHONE.match(digits):
        return None
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def minimum_contribution_cents() -> int:
    return int(association().get("min_contribution_cents") or 0)


def contribution_problem(cents: int):
    """The message for a contribution below the association's minimum, or None."""
    minimum = minimum_contribution_cents()
    if cents < minimum:
        return _l("The minimum monthly contribution is %(amount)s.", amount=money(minimum))
    return None


def submit_application(
    *,
    first_name: str,
    last_name: str,
    commune: Commune | None,
    address: str,
    email: str | None,
    phone: str | None,
    contribution_cents: int,
    language: str = "fr",
) -> Application:
    """Store a pending application and, when an e-mail was given, queue the acknowledgement."""
    if commune is None or not commune.eligible:
        raise NotEligible(_l("Only residents of the experiment’s communes may join."))
    problem = contribution_problem(contribution_cents)
    if problem is not None or contribution_cents < 0:
        raise ContributionTooLow(problem)
    email = (email or "").strip() or None
    phone = (phone or "").strip() or None
    if not email and not phone:
        raise MissingContact(
            _l("Give an e-mail address or a phone number, so that we can reach you.")
        )
    application = Application(
        first_name=clean_line(first_name)[:NAME_MAX],
        last_name=clean_line(last_name)[:NAME_MAX],
        commune=commune,
        address=clean_address(address)[:ADDRESS_MAX],
        email=email,
        phone=phone,
        contribution_cents=contribution_cents,
        language=language if language in ("fr", "en") else "fr",
        status="pending",
    )
    db.session.add(application)
    db.session.flush()
    if email:
        queue_mail(
            email,
            "application_received",
            application.language,
            application=application,
            association=association(),
            pay=payment.how_to_pay(None, application.contribution_cents),
        )
    return application


# Possible duplicates: the same person applying twice, or applying while already a member.

EMAIL = "email"
PHONE = "phone"
NAME = "name"

# Separators people type inside phone numbers; removed in SQL before comparing the digits.
_PHONE_SEPARATORS = (" ", ".", "-", "/", "(", ")", "\u00a0")
# The national part of a French number (without its leading 0) has 9 digits.
_PHONE_TAIL = 9
_PHONE_MIN_DIGITS = 6
# Ignored when comparing names: spaces, hyphens and apostrophes.
_NAME_IGNORED = re.compile(r"[\s\-'’]+")


@dataclass(frozen=True)
class PossibleDuplicate:
    """Another application, or a member, that may be the same person; `reasons` says why."""

    kind: str  # "application" or "member"
    id: int
    full_name: str
    status: str
    reasons: tuple[str, ...]
    number: str | None = None  # a member's number
    received_at: datetime | None = None  # an application's date


def email_key(text: str | None) -> str | None:
    """An e-mail address as compared for duplicates: trimmed, lower case; None when empty."""
    return (text or "").strip().lower() or None


def phone_key(text: str | None) -> str | None:
    """A phone number as compared for duplicates: digits only, +33 / 0033 (0) written as 0.

    '06 12 34 56 78', '+33 6 12 34 56 78' and '0033 (0)6 12 34 56 78' give '0612345678'. None
    when fewer than 6 digits remain (nothing worth comparing).
    """
    raw = re.sub(r"[^\d+]", "", (text or "").replace("(0)", ""))
    for prefix in ("+33", "0033"):
        if raw.startswith(prefix):
            rest = raw[len(prefix) :]
            raw = rest if rest.startswith("0") else "0" + rest
            break
    digits = re.sub(r"\D", "", raw)
    return digits if len(digits) >= _PHONE_MIN_DIGITS else None


def name_key(first_name: str | None, last_name: str | None) -> str:
    """First and last name as compared for duplicates: no accents, no case, no spaces or hyphens."""

    def fold(text: str | None) -> str:
        decomposed = unicodedata.normalize("NFKD", text or "")
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
        return _NAME_IGNORED.sub("", bare).casefold()

    return f"{fold(first_name)}|{fold(last_name)}"


def _stripped_phone(column):
    """The phone column with its separators removed, in SQL (the same on SQLite and PostgreSQL)."""
    for separator in _PHONE_SEPARATORS:
        column = func.replace(column, separator, "")
    return func.trim(column)


def _candidates(model, application: Application, email: str | None, phone: str | None):
    """The SQL condition of a cheap prefilter: same e-mail, a phone ending alike, or same commune."""
    conditions = [model.commune_id == application.commune_id]
    if email:
        conditions.append(func.lower(func.trim(model.email)) == email)
    if phone:
        conditions.append(
            and_(
                model.phone.is_not(None),
                _stripped_phone(model.phone).endswith(phone[-_PHONE_TAIL:]),
            )
        )
    return or_(*conditions)


def _reasons(
    row, application: Application, email: str | None, phone: str | None, name: str
) -> tuple[str, ...]:
    reasons = []
    if email and email_key(row.email) == email:
        reasons.append(EMAIL)
    if phone and phone_key(row.phone) == phone:
        reasons.append(PHONE)
    if row.commune_id == application.commune_id and name_key(row.first_name, row.last_name) == name:
        reasons.append(NAME)
    return tuple(reasons)


def possible_duplicates(application: Application) -> list[PossibleDuplicate]:
    """Members (not erased) and other applications (any status) that look like the same person.

    A match is the same e-mail (trimmed, any case), the same phone (digits only, +33 / 0033 as 0),
    or the same first and last name (no accents, case, spaces or hyphens) in the same commune.
    Two queries: each prefilters in SQL on e-mail, the end of the phone digits, or the commune,
    then the rules above are checked on those few rows. Members first, then applications, oldest
    first. The member made from this very application is not listed.
    """
    email = email_key(application.email)
    phone = phone_key(application.phone)
    name = name_key(application.first_name, application.last_name)
    found: list[PossibleDuplicate] = []

    member_rows = db.session.execute(
        select(
            Member.id,
            Member.number,
            Member.first_name,
            Member.last_name,
            Member.email,
            Member.phone,
            Member.commune_id,
            Member.status,
        )
        .where(Member.status != "erased", _candidates(Member, application, email, phone))
        .where(or_(Member.application_id.is_(None), Member.application_id != application.id))
        .order_by(Member.id)
    )
    for row in member_rows:
        reasons = _reasons(row, application, email, phone, name)
        if reasons:
            found.append(
                PossibleDuplicate(
                    "member",
                    row.id,
                    f"{row.first_name} {row.last_name}",
                    row.status,
                    reasons,
                    number=row.number,
                )
            )

    query = select(
        Application.id,
        Application.first_name,
        Application.last_name,
        Application.email,
        Application.phone,
        Application.commune_id,
        Application.status,
        Application.created_at,
    )
    if application.id is not None:
        query = query.where(Application.id != application.id)
    application_rows = db.session.execute(
        query.where(_candidates(Application, application, email, phone)).order_by(
            Application.created_at, Application.id
        )
    )
    for row in application_rows:
        reasons = _reasons(row, application, email, phone, name)
        if reasons:
            found.append(
                PossibleDuplicate(
                    "application",
                    row.id,
                    f"{row.first_name} {row.last_name}",
                    row.status,
                    reasons,
                    received_at=row.created_at,
                )
            )
    return found
