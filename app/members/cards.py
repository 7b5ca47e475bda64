"""Member numbers, card tokens and PINs.

A member number is 5 digits and a Luhn check digit, so that a typo on the keypad is caught
before any lookup. A PIN is stored as HMAC-SHA256 keyed with the server's pepper: a slow hash
cannot protect 10,000 possibilities, a secret key can. Three wrong PINs in a row lock the card;
the counter lives in the member row, so every tablet and worker shares it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from itertools import pairwise

from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from app.core.database import DirectSQL
from app.core.extensions import db
from app.members.errors import CardLocked, InvalidMemberNumber, InvalidPin, WrongPin
from app.members.models import Member

MAX_PIN_FAILURES = 3
# ASCII digits only: `\d` would also accept other scripts' digits (١٢٣٤), a different PIN.
_PIN = re.compile(r"^[0-9]{4}$")
_NUMBER = re.compile(r"^[0-9]{6}$")


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to `digits`."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def member_number(sequence: int) -> str:
    """The 6-digit number of the n-th member: 00001 -> 000018."""
    base = f"{sequence:05d}"
    if len(base) != 5:
        raise ValueError("member numbers have five digits")
    return base + luhn_digit(base)


def check_member_number(text: str | None) -> str:
    """Normalise a typed number (spaces allowed) or raise `InvalidMemberNumber`."""
    from flask_babel import lazy_gettext as _l

    number = re.sub(r"\s+", "", text or "")
    if not _NUMBER.match(number):
        raise InvalidMemberNumber(_l("A member number has 6 digits."))
    if luhn_digit(number[:5]) != number[5]:
        raise InvalidMemberNumber(_l("This member number is not valid: check the digits."))
    return number


def new_card_token() -> str:
    return secrets.token_urlsafe(24)


def hash_pin(pin: str) -> str:
    pepper = current_app.config["PIN_PEPPER"].encode()
    return hmac.new(pepper, pin.encode(), hashlib.sha256).hexdigest()


def check_pin_format(pin: str | None) -> str:
    from flask_babel import lazy_gettext as _l

    if not _PIN.match(pin or ""):
        raise InvalidPin(_l("The PIN has 4 digits."))
    return pin


def _guessable(pin: str) -> bool:
    """One digit four times (0000) or a run up or down (1234, 9876): the first PINs a thief
    tries, and three tries are allowed before the card locks."""
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    return steps in ({0}, {1}, {-1})


def check_new_pin(pin: str | None) -> str:
    """A PIN a member chooses: four digits, not one of the first guesses."""
    from flask_babel import lazy_gettext as _l

    check_pin_format(pin)
    if _guessable(pin):
        raise InvalidPin(
            _l("This PIN is too easy to guess (like 1234 or 0000): choose another one.")
        )
    return pin


def set_pin(member: Member, pin: str) -> None:
    """Set a new PIN; this also unlocks a card locked by wrong PINs."""
    member.pin_hash = hash_pin(check_new_pin(pin))
    member.pin_failures = 0
    db.session.flush()


def unlock_card(member: Member) -> None:
    member.pin_failures = 0
    db.session.flush()


def is_locked(member: Member) -> bool:
    return member.pin_failures >= MAX_PIN_FAILURES


def verify_pin(member: Member, pin: str | None) -> None:
    """Check a PIN typed at the stall, or raise `WrongPin` / `CardLocked` / `InvalidPin`.

    See `pin_attempt`; the member object is kept in step with the stored failure count. The
    caller must commit even when this raises `WrongPin`: the failure counts.
    """
    try:
        pin_attempt(DirectSQL(db.session), member.id, member.pin_hash, pin)
    except WrongPin as exc:
        set_committed_value(member, "pin_failures", MAX_PIN_FAILURES - exc.attempts_left)
        raise
    except CardLocked:
        db.session.refresh(member, ["pin_failures"])
        raise
    set_committed_value(member, "pin_failures", 0)


_CLAIM = "UPDATE member SET pin_failures = pin_failures + 1 WHERE id = ? AND pin_failures < ? RETURNING pin_failures"


def pin_attempt(sql: DirectSQL, member_id: int, pin_hash: str | None, pin: str | None) -> None:
    """Compare a PIN with the member's, counting the attempt, or raise `WrongPin` /
    `CardLocked` / `InvalidPin`.

    An attempt slot is claimed with a conditional update before the PIN is compared, so that
    parallel guesses from several tablets evaluate at most three PINs in all. A right PIN gives
    the slot back (the counter counts wrong PINs in a row).
    """
    from flask_babel import lazy_gettext as _l

    check_pin_format(pin)
    claimed = sql.one(_CLAIM, (member_id, MAX_PIN_FAILURES))
    if claimed is None:  # another tablet locked it meanwhile
        raise CardLocked(
            _l(
                "This card is locked after three wrong PINs. The member can set a new PIN in their account, or contact the association."
            )
        )
    if pin_hash and hmac.compare_digest(pin_hash, hash_pin(pin)):
        sql.execute("UPDATE member SET pin_failures = 0 WHERE id = ?", (member_id,))
        return
    left = MAX_PIN_FAILURES - claimed[0]
    if left <= 0:
        raise CardLocked(
            _l(
                "Wrong PIN. The card is now locked: the member can set a new PIN in their account, or contact the association."
            )
        )
    raise WrongPin(left, _l("Wrong PIN. Attempts left: %(left)d.", left=left))
