"""PINs: three wrong in a row lock the card, the lock is in the database (it survives a
restart), a right PIN resets the count, and nothing in the database reveals a PIN."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from sqlalchemy import inspect, select

from app.core.extensions import db
from app.members import auth, cards, membership
from app.members.errors import CardLocked, InvalidPin, WrongPin
from app.members.models import Member
from tests.support.apps import make_app
from tests.support.factories import make_member


def _try(member, pin):
    """One attempt as the register makes it: the failure is committed, it counts."""
    try:
        cards.verify_pin(member, pin)
    except (WrongPin, CardLocked) as exc:
        db.session.commit()
        return exc
    db.session.commit()
    return None


def test_three_wrong_pins_in_a_row_lock_the_card(app):
    member = make_member(pin="2468")
    db.session.commit()
    first, second, third = (_try(member, "1111") for _ in range(3))
    assert isinstance(first, WrongPin) and first.attempts_left == 2
    assert isinstance(second, WrongPin) and second.attempts_left == 1
    assert isinstance(third, CardLocked)
    assert cards.is_locked(member) and member.pin_failures == 3
    # Locked: even the right PIN is refused, and it is not even compared.
    assert isinstance(_try(member, "2468"), CardLocked)
    assert member.pin_failures == 3


def test_a_right_pin_resets_the_count(app):
    member = make_member(pin="2468")
    db.session.commit()
    _try(member, "1111")
    _try(member, "2222")
    assert _try(member, "2468") is None
    assert member.pin_failures == 0
    assert isinstance(_try(member, "1111"), WrongPin)
    assert not cards.is_locked(member)


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "", None, "12 4", "١٢٣٤"])
def test_a_pin_is_four_ascii_digits(app, pin):
    member = make_member(pin="2468")
    with pytest.raises(InvalidPin):
        cards.verify_pin(member, pin)
    with pytest.raises(InvalidPin):
        cards.set_pin(member, pin)
    assert member.pin_failures == 0  # a malformed PIN is not an attempt


@pytest.mark.parametrize(
    "pin", ["0000", "1111", "9999", "1234", "0123", "6789", "4321", "9876", "3210"]
)
def test_a_chosen_pin_is_not_one_of_the_first_guesses(app, pin):
    member = make_member(pin="2468")
    with pytest.raises(InvalidPin, match="trop facile à deviner"):
        cards.set_pin(member, pin)
    assert cards.hash_pin("2468") == member.pin_hash
    # A member whose card already has such a PIN can still pay with it.
    member.pin_hash = cards.hash_pin(pin)
    assert cards.verify_pin(member, pin) is None


@pytest.mark.parametrize("pin", ["1235", "2468", "1122", "1212", "0001", "1990", "8642"])
def test_other_pins_can_be_chosen(app, pin):
    member = make_member(pin="2468")
    cards.set_pin(member, pin)
    assert member.pin_hash == cards.hash_pin(pin)


def test_setting_a_new_pin_unlocks_the_card(app):
    member = make_member(pin="2468")
    db.session.commit()
    for _ in range(3):
        _try(member, "0000")
    assert cards.is_locked(member)
    membership.change_pin(member, "patias-demo", "8642")
    db.session.commit()
    assert not cards.is_locked(member)
    assert _try(member, "8642") is None


def test_the_lock_survives_a_restart(app, database_url):
    member = make_member(pin="2468")
    db.session.commit()
    for _ in range(3):
        _try(member, "9999")
    member_id = member.id
    db.session.remove()

    restarted = make_app(database_url)  # a new process: nothing in memory, the same database
    try:
        with restarted.app_context():
            again = db.session.get(Member, member_id)
            assert cards.is_locked(again)
            with pytest.raises(CardLocked):
                cards.verify_pin(again, "2468")
            db.session.rollback()
    finally:
        with restarted.app_context():
            db.session.remove()
            db.engine.dispose()


def _every_value_in_the_database() -> list[str]:
    """Every cell of every table, as text (a dump of the database)."""
    values = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if not inspect(conn).has_table(table.name):
                continue
            for row in conn.execute(select(table)):
                values.extend(str(cell) for cell in row if cell is not None)
    return values


def _unkeyed_digests(secret: str) -> set[str]:
    data = secret.encode()
    digests = set()
    for name in (
        "md5",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha3_256",
        "blake2b",
        "blake2s",
    ):
        raw = hashlib.new(name, data).digest()
        digests |= {
            raw.hex(),
            raw.hex().upper(),
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        }
    return digests


def test_a_database_dump_holds_no_pin_and_no_unkeyed_hash(app):
    pin, password = "7391", "correct horse battery staple"
    member = make_member(pin=None, password=None)
    auth.activate(member.user, password, pin)  # through the real path
    issued = auth.issue_activation_code(make_member(email="", password=None).user)
    for wrong in ("1111", "2222"):
        _try(member, wrong)
    db.session.commit()

    values = _every_value_in_the_database()
    assert values, "the dump is empty: the test would prove nothing"
    assert pin not in values, "a PIN is stored in clear"
    assert password not in " ".join(values), "a password is stored in clear"
    code = auth.normalize_code(issued.code)
    assert code not in " ".join(values) and issued.code not in " ".join(values), (
        "an activation code in clear"
    )
    for secret in (pin, password, code, issued.code):
        for digest in _unkeyed_digests(secret):
            assert not any(digest in value for value in values), (
                f"an unkeyed hash of {secret!r} is stored"
            )
    # What is stored is keyed with the server's pepper: without it, the 10,000 PINs cannot be tried.
    stored = db.session.get(Member, member.id).pin_hash
    assert (
        stored
        == hmac.new(app.config["PIN_PEPPER"].encode(), pin.encode(), hashlib.sha256).hexdigest()
    )
    assert stored not in {hashlib.sha256(f"{n:04d}".encode()).hexdigest() for n in range(10000)}
