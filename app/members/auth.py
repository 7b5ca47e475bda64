"""Passwords, sign-in with per-account throttling, password-reset and activation links, and
the one-time codes of activation letters.

Throttling lives in the `user` row, so every worker and server shares it: an attempt slot is
claimed with a conditional UPDATE before the password is compared (as for PINs), so parallel
guesses compare at most `MAX_FAILED_LOGINS` passwords before the account is blocked for
`BLOCK_MINUTES`. A right password gives the counter back.

Links are signed with itsdangerous and carry a fingerprint of the user's password hash and
session version: setting a password (activation, reset) changes the fingerprint, so a link
serves once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from werkzeug.security import check_password_hash, generate_password_hash

from app.core import ratelimit
from app.core.columns import utcnow
from app.core.errors import RateLimited
from app.core.extensions import db
from app.members import attempts, cards, sessions
from app.members.errors import (
    InvalidActivationCode,
    InvalidToken,
    LoginBlocked,
    LoginFailed,
    WeakPassword,
    WrongPassword,
)
from app.members.models import ActivationCode, Member, User

MAX_FAILED_LOGINS = 5
BLOCK_MINUTES = 15
CLIENT_WINDOW_SECONDS = 600
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
RESET_LINK_HOURS = 2
ACTIVATION_LINK_DAYS = 30
ACTIVATION_CODE_DAYS = 60
# No 0/O, 1/I/L: the code is read on paper and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_CODE_ATTEMPTS = 5  # per member number and hour


# Passwords


def check_password_strength(password: str | None) -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            _l("The password needs at least %(min)d characters.", min=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            _l("The password can have at most %(max)d characters.", max=MAX_PASSWORD_LENGTH)
        )
    return password


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str | None) -> bool:
    """Compare without throttling (callers go through `check_password` or `authenticate`)."""
    if not user.password_hash or not password:
        return False
    return check_password_hash(user.password_hash, password)


def set_password(user: User, password: str) -> None:
    """Set a new password: ends the user's other sessions and lifts a login block."""
    user.password_hash = hash_password(check_password_strength(password))
    sessions.end_all(user)
    user.failed_logins = 0
    user.login_blocked_until = None
    db.session.flush()


def change_password(user: User, current: str | None, new: str, keep=None) -> None:
    """A signed-in user's new password, the current one asked again (throttled like a sign-in):
    every other sign-in of the user ends, `keep` (this device's) goes on."""
    password = check_password_strength(new)  # first: a refused new one tries no current one
    check_password(user, current)
    user.password_hash = hash_password(password)
    sessions.end_all(user, keep=keep)
    db.session.flush()


# Sign-in and throttling


def find_login_user(login: str | None) -> User | None:
    """The user behind an e-mail or a member number; None when nobody matches.

    A member number with a wrong check digit raises `InvalidMemberNumber` before any lookup.
    """
    text = (login or "").strip()
    if "@" in text:
        return db.session.scalar(db.select(User).where(User.email == text.lower()))
    number = cards.check_member_number(text)
    member = db.session.scalar(db.select(Member).where(Member.number == number))
    return member.user if member is not None else None


def _minutes_left(user: User) -> int:
    if user.login_blocked_until is None:
        return BLOCK_MINUTES
    seconds = (user.login_blocked_until - utcnow()).total_seconds()
    return max(1, math.ceil(seconds / 60))


def _blocked_error(minutes: int) -> LoginBlocked:
    # Translated now: the error is raised while the request's language is known.
    return LoginBlocked(
        minutes,
        ngettext(
            "Too many wrong passwords for this account. Try again in %(num)d minute.",
            "Too many wrong passwords for this account. Try again in %(num)d minutes.",
            minutes,
        ),
    )


def _claim_attempt(user: User) -> int:
    """Take one attempt slot for `user` (returns its rank), or raise `LoginBlocked`."""
    return attempts.claim(
        user,
        User.failed_logins,
        User.login_blocked_until,
        MAX_FAILED_LOGINS,
        lambda: _blocked_error(_minutes_left(user)),
    )


def _give_back(user: User) -> None:
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=0, login_blocked_until=None)
    )
    db.session.refresh(user, ["failed_logins", "login_blocked_until"])


def _record_failure(user: User, claimed: int) -> None:
    """A wrong password: the attempt that fills the last slot blocks the account."""
    attempts.record_failure(
        user,
        claimed,
        User.failed_logins,
        User.login_blocked_until,
        MAX_FAILED_LOGINS,
        BLOCK_MINUTES,
    )


def check_password(user: User, password: str | None) -> None:
    """The password asked again before a sensitive change, throttled like a sign-in.

    Raises `WrongPassword` or `LoginBlocked`. The caller commits even on failure: it counts.
    """
    claimed = _claim_attempt(user)
    if password_matches(user, password):
        _give_back(user)
        return
    _record_failure(user, claimed)
    if user.login_blocked_until is not None:
        raise _blocked_error(_minutes_left(user))
    raise WrongPassword(_l("This password is not right."))


def authenticate(login: str | None, password: str | None, client: str | None = None) -> User:
    """The user signing in with `login` (e-mail or member number) and `password`.

    Raises `InvalidMemberNumber` (typo in the number, before any lookup), `LoginFailed`
    (unknown account, wrong password, disabled account: one message), `LoginBlocked`, or
    `RateLimited` (a failure from an address, `client`, that failed too often across accounts).
    The caller commits even on failure: the failure counts.

    The address limit refuses failures only: a right password for an account that is not
    blocked signs in whatever its address did before (a market's tablets share one 4G
    address, and one mistyped member number there must not lock every stall out). Guessing
    stays bounded per account (`MAX_FAILED_LOGINS`, for known and unknown logins alike).
    """
    over_limit = _client_over_limit(client)
    user = find_login_user(login)
    if user is None or not user.is_enabled or not user.password_hash:
        # Hash anyway, so that an unknown account takes as long as a wrong password, and
        # throttle it the same way, so that the block message does not reveal which exist.
        check_password_hash(_dummy_hash(), password or "")
        _count_client_failure(client)
        try:
            ratelimit.hit(
                "login-unknown",
                (login or "").strip().lower(),
                MAX_FAILED_LOGINS - 1,
                BLOCK_MINUTES * 60,
            )
        except RateLimited as exc:
            raise _blocked_error(max(1, math.ceil(exc.retry_after / 60))) from exc
        if over_limit is not None:
            raise over_limit
        raise LoginFailed(_l("Wrong e-mail, member number or password."))
    claimed = _claim_attempt(user)
    if not password_matches(user, password):
        _record_failure(user, claimed)
        _count_client_failure(client)
        if user.login_blocked_until is not None:
            raise _blocked_error(_minutes_left(user))
        if over_limit is not None:
            raise over_limit
        raise LoginFailed(_l("Wrong e-mail, member number or password."))
    _give_back(user)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def _client_over_limit(client: str | None) -> RateLimited | None:
    """The refusal a failure from `client` gets once the address failed too often (else None)."""
    if not client:
        return None
    try:
        ratelimit.check("login-client", client, _client_limit(), CLIENT_WINDOW_SECONDS)
    except RateLimited as exc:
        return exc
    return None


def _client_limit() -> int:
    return int(current_app.config.get("LOGIN_CLIENT_LIMIT", 50))


def _count_client_failure(client: str | None) -> None:
    """Failed sign-ins per address, across accounts (one address trying many accounts).
    Successes are not counted: a market's tablets may share one address."""
    if client:
        ratelimit.hit("login-client", client, 10**9, CLIENT_WINDOW_SECONDS)


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "hash" not in _DUMMY:
        _DUMMY["hash"] = generate_password_hash(secrets.token_hex(16))
    return _DUMMY["hash"]


# Signed links (activation by e-mail, password reset)


def _fingerprint(user: User) -> str:
    """Changes whenever the password or the session version changes: links serve once."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{user.id}:{user.password_hash}:{user.session_version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"patias-{purpose}")


def make_link_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def read_link_token(token: str, purpose: str, max_age_seconds: int) -> User:
    """The user a link was made for, or `InvalidToken` (forged, expired, already used)."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise InvalidToken(_l("This link has expired.")) from exc
    except BadSignature as exc:
        raise InvalidToken(_l("This link is not valid.")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidToken(_l("This link is not valid."))
    user = db.session.get(User, data["u"])
    if (
        user is None
        or not user.is_enabled
        or not hmac.compare_digest(str(data.get("f")), _fingerprint(user))
    ):
        raise InvalidToken(_l("This link was already used or is no longer valid."))
    return user


def activation_token(user: User) -> str:
    return make_link_token(user, "activation")


def reset_token(user: User) -> str:
    return make_link_token(user, "reset")


def user_for_activation_token(token: str) -> User:
    user = read_link_token(token, "activation", ACTIVATION_LINK_DAYS * 86400)
    if user.password_hash:
        raise InvalidToken(_l("This account is already activated: log in."))
    return user


def user_for_reset_token(token: str) -> User:
    return read_link_token(token, "reset", RESET_LINK_HOURS * 3600)


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail or a letter, built from `BASE_URL` (works outside a request)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def request_password_reset(email: str | None) -> bool:
    """Mail a reset link if an enabled account has this e-mail. Returns whether one was sent;
    the view must not tell (no enumeration of accounts)."""
    from app.core.mail import queue_mail

    address = (email or "").strip().lower()
    if "@" not in address:
        return False
    try:
        # A few links an hour per address: enough for a lost mail, too few to flood a mailbox.
        ratelimit.hit("password-reset", address, 3, 3600)
    except RateLimited:
        return False
    user = db.session.scalar(db.select(User).where(User.email == address))
    if user is None or not user.is_enabled:
        return False
    if not user.password_hash:
        # Not activated yet: the activation link is what they need.
        queue_mail(
            address,
            "activation",
            user.language,
            name=user.display_name,
            link=absolute_url("auth.activate", token=activation_token(user)),
            days=ACTIVATION_LINK_DAYS,
        )
        return True
    queue_mail(
        address,
        "password_reset",
        user.language,
        name=user.display_name,
        link=absolute_url("auth.reset_password", token=reset_token(user)),
        hours=RESET_LINK_HOURS,
    )
    return True


# Activation


def activate(user: User, password: str, pin: str) -> None:
    """Set the first password and the card's PIN of a member (link or letter)."""
    check_password_strength(password)
    cards.check_new_pin(pin)
    member = db.session.scalar(db.select(Member).where(Member.user_id == user.id))
    if member is not None:
        cards.set_pin(member, pin)
    set_password(user, password)


def _hash_code(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"activation-code:" + code.encode(), hashlib.sha256).hexdigest()


def normalize_code(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def format_code(code: str) -> str:
    """ABCD-EFGH: easier to read on paper."""
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class IssuedCode:
    code: str  # in clear: shown once, on the letter
    expires_at: datetime


def issue_activation_code(user: User) -> IssuedCode:
    """A new one-time code for `user`; earlier unused codes stop working."""
    now = utcnow()
    db.session.execute(
        update(ActivationCode)
        .where(ActivationCode.user_id == user.id, ActivationCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = now + timedelta(days=ACTIVATION_CODE_DAYS)
    db.session.add(ActivationCode(user_id=user.id, code_hash=_hash_code(code), expires_at=expires))
    db.session.flush()
    return IssuedCode(code=format_code(code), expires_at=expires)


def activate_with_code(
    number: str, code: str, password: str, pin: str, client: str | None = None
) -> User:
    """Activate the account of member `number` with the code of its letter.

    Raises `InvalidMemberNumber` (typo), `InvalidActivationCode` (unknown member, wrong,
    expired or used code: one message), `WeakPassword`, `InvalidPin`, or `RateLimited`
    (a few tries per number and per connection an hour: 8 characters from 31 cannot be
    guessed that way). The caller commits even on failure: the attempt counts.
    """
    number = cards.check_member_number(number)
    check_password_strength(password)
    cards.check_pin_format(pin)
    ratelimit.hit("activation-code", number, MAX_CODE_ATTEMPTS, 3600)
    if client:
        ratelimit.hit(
            "activation-client", client, current_app.config.get("ACTIVATION_CLIENT_LIMIT", 30), 3600
        )
    invalid = InvalidActivationCode(
        _l(
            "This code does not match this member number, or it has expired. Check both, or ask the association for a new letter."
        )
    )
    member = db.session.scalar(db.select(Member).where(Member.number == number))
    if member is None or member.user is None:
        raise invalid
    now = utcnow()
    # Consume the code with a conditional update: two submissions cannot both use it.
    used = db.session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.user_id == member.user_id,
            ActivationCode.code_hash == _hash_code(normalize_code(code)),
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(ActivationCode.id)
    ).scalar()
    if used is None:
        raise invalid
    activate(member.user, password, pin)
    return member.user
