"""The admins' second factor: TOTP codes (RFC 6238) from any authenticator app.

An admin signs in with the password, then enrols once (a QR code of an `otpauth://` URI, confirmed
with a first code) and, at every later sign-in, types the current 6-digit code. A code is accepted
within one 30-second step either side of the server's clock (`VALID_WINDOW`), and only for a step
later than the last accepted one, so a code cannot be used twice. Wrong codes are throttled in the
credential's row, shared by every worker: the attempt slot is claimed with a conditional UPDATE
before the code is compared, as for passwords and PINs.

The session remembers the verified factor as a marker bound to the user's session version and to
the credential: a reset of the factor or a "log out everywhere" ends the admin's sessions.
"""

from __future__ import annotations

import hmac
import re
import time

import pyotp
import segno
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, or_, select, update

from app.audit import log as audit
from app.core.columns import utcnow
from app.core.extensions import db
from app.members import attempts, sessions
from app.members.errors import AlreadyEnrolled, InvalidTotpCode, TotpBlocked, TotpCodeReused
from app.members.models import TotpCredential, User

VALID_WINDOW = 1
MAX_WRONG_CODES = 5
BLOCK_MINUTES = 15
SESSION_KEY = "admin_second_factor"
# The demo admin's secret: public on purpose (README, `flask ssa seed-demo`), demo data only.
DEMO_TOTP_SECRET = "PATIASDEMOTOTPSECRETFORADMINS234"
_CODE = re.compile(r"^\d{6}$")


def credential_for(user: User) -> TotpCredential | None:
    return db.session.scalar(select(TotpCredential).where(TotpCredential.user_id == user.id))


def is_enrolled(user: User) -> bool:
    credential = credential_for(user)
    return credential is not None and credential.is_confirmed


# Enrolment


def start_enrolment(user: User) -> TotpCredential:
    """The admin's pending (unconfirmed) secret, created on first call; `AlreadyEnrolled` once confirmed."""
    credential = credential_for(user)
    if credential is not None and credential.is_confirmed:
        raise AlreadyEnrolled(_l("Your second factor is already set up."))
    if credential is None:
        credential = TotpCredential(user_id=user.id, secret=pyotp.random_base32(32))
        db.session.add(credential)
        db.session.flush()
    return credential


def provisioning_uri(credential: TotpCredential, user: User, issuer: str) -> str:
    """The `otpauth://totp/...` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(credential.secret).provisioning_uri(
        name=user.email or f"admin-{user.id}", issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """The QR code of `uri` as an SVG data URI (an <img src>: the CSP forbids inline styles)."""
    return segno.make(uri, error="m").svg_data_uri(scale=1, border=4)


def grouped_secret(secret: str) -> str:
    """The secret in groups of four letters, to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str | None, now: float | None = None) -> TotpCredential:
    """Check a first code against the pending secret and make it the admin's second factor."""
    credential = credential_for(user)
    if credential is None:
        credential = start_enrolment(user)
    if credential.is_confirmed:
        raise AlreadyEnrolled(_l("Your second factor is already set up."))
    _check(credential, code, now)
    credential.confirmed_at = utcnow()
    db.session.flush()
    audit.record(user.id, "admin.totp_enrolled", "user", user.id)
    return credential


# Verification


def verify(user: User, code: str | None, now: float | None = None) -> TotpCredential:
    """Check the admin's code at sign-in. Raises `InvalidTotpCode`, `TotpCodeReused`,
    `TotpBlocked`; the caller commits even then (a wrong code counts)."""
    credential = credential_for(user)
    if credential is None or not credential.is_confirmed:
        raise InvalidTotpCode(_l("Set up your second factor first."))
    _check(credential, code, now)
    return credential


def _matching_step(secret: str, code: str, now: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def normalise_code(code: str | None) -> str:
    return re.sub(r"\s+", "", code or "")


def _blocked(credential: TotpCredential) -> TotpBlocked:
    seconds = (
        (credential.blocked_until - utcnow()).total_seconds()
        if credential.blocked_until
        else BLOCK_MINUTES * 60
    )
    minutes = max(1, -(-int(seconds) // 60))
    return TotpBlocked(
        minutes,
        ngettext(
            "Too many wrong codes. Try again in %(num)d minute.",
            "Too many wrong codes. Try again in %(num)d minutes.",
            minutes,
        ),
    )


def _claim_attempt(credential: TotpCredential) -> int:
    return attempts.claim(
        credential,
        TotpCredential.failures,
        TotpCredential.blocked_until,
        MAX_WRONG_CODES,
        lambda: _blocked(credential),
    )


def _check(credential: TotpCredential, code: str | None, now: float | None) -> None:
    now = time.time() if now is None else now
    claimed = _claim_attempt(credential)
    code = normalise_code(code)
    step = _matching_step(credential.secret, code, now) if _CODE.match(code) else None
    if step is None:
        if attempts.record_failure(
            credential,
            claimed,
            TotpCredential.failures,
            TotpCredential.blocked_until,
            MAX_WRONG_CODES,
            BLOCK_MINUTES,
        ):
            raise _blocked(credential)
        raise InvalidTotpCode(_l("This code is not right. Type the 6 digits your app shows now."))
    # Accepted only for a step later than the last one used (atomic: two tabs cannot both win).
    accepted = db.session.execute(
        update(TotpCredential)
        .where(
            TotpCredential.id == credential.id,
            or_(TotpCredential.last_step.is_(None), TotpCredential.last_step < step),
        )
        .values(last_step=step, failures=0, blocked_until=None)
        .returning(TotpCredential.id)
    ).scalar()
    if accepted is None:
        # The failed attempt stays counted: a code seen once must not reset the throttle.
        db.session.refresh(credential, ["failures", "blocked_until", "last_step"])
        raise TotpCodeReused(
            _l("This code was already used. Wait for the next one (at most 30 seconds).")
        )
    db.session.refresh(credential, ["failures", "blocked_until", "last_step"])


# The session's marker


def session_marker(user: User, credential: TotpCredential | None = None) -> str | None:
    credential = credential or credential_for(user)
    if credential is None or not credential.is_confirmed:
        return None
    return f"{user.id}:{user.session_version}:{credential.id}"


def session_is_verified(user: User, stored: str | None) -> bool:
    expected = session_marker(user)
    return bool(expected and stored and hmac.compare_digest(expected, stored))


# Reset and demo


def reset(user: User, actor_id: int | None = None) -> bool:
    """Remove the admin's second factor (lost phone): they enrol again at the next sign-in.

    Ends the admin's sessions too. Returns False when there was nothing to remove.
    """
    removed = db.session.execute(
        delete(TotpCredential).where(TotpCredential.user_id == user.id)
    ).rowcount
    if not removed:
        return False
    sessions.end_all(user)
    db.session.flush()
    audit.record(actor_id, "admin.totp_reset", "user", user.id)
    return True


def ensure_demo_totp(user: User) -> TotpCredential:
    """Demo data only: give `user` the published demo secret, already confirmed."""
    credential = credential_for(user)
    if credential is None:
        credential = TotpCredential(user_id=user.id, secret=DEMO_TOTP_SECRET, confirmed_at=utcnow())
        db.session.add(credential)
    elif credential.secret != DEMO_TOTP_SECRET or not credential.is_confirmed:
        credential.secret = DEMO_TOTP_SECRET
        credential.confirmed_at = credential.confirmed_at or utcnow()
        credential.last_step = None
    db.session.flush()
    return credential


def demo_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(DEMO_TOTP_SECRET).provisioning_uri(
        name=user.email or "admin", issuer_name=issuer
    )
