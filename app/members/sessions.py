"""Sign-ins that end on the server: one `UserSession` row per sign-in on a device.

The cookie stays Flask's signed cookie, and Flask-Login keeps "user id:session version:token"
in it (`User.get_id`). The user loader (`load`) reads the user and the sign-in's row in one
query (a join on the token's SHA-256) and refuses a revoked, expired or idle sign-in, a stale
session version or a disabled account. So a copy of the cookie opens nothing once the sign-in
ended: sign-out and the cashier's lock revoke their own row (a stall's two tablets share one
cashier account: the other keeps working); a password change, an admin's reset, suspension,
erasure and "sign out of every device" end them all (`end_all`: the version is bumped and the
rows revoked). Whatever serves the app (workers, servers) reads the same rows.

Why not Flask-Session on the database: it stores the whole session server-side, which is a
second read (the session, then the user) and a write on every request that changes the session,
on the register's hot path; here the user and the sign-in come in the one query the user load
already made, the cookie stays signed and small, and `last_seen_at` (the idle limit) is written
at most every `TOUCH_EVERY`, never for a cashier (no idle limit on a market day).

Lifetimes: members and admins, a browser session (the cookie has no Expires) ended after
`IDLE_LIMIT` without a request, and at most `BROWSER_LIMIT` after sign-in; a member who ticks
"stay signed in on this device", `REMEMBER_LIMIT` (absolute, permanent cookie, no idle limit);
cashiers, `MARKET_DAY` (permanent cookie: the tablet restarts). `now()` is this module's clock:
tests move it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.core.columns import utcnow
from app.core.database import in_read_phase, request_holds_write_lock
from app.core.extensions import db
from app.members.models import User, UserSession

IDLE_LIMIT = timedelta(hours=2)
BROWSER_LIMIT = timedelta(hours=14)
REMEMBER_LIMIT = timedelta(days=30)
MARKET_DAY = timedelta(hours=14)
TOUCH_EVERY = timedelta(minutes=5)
DEVICE_LENGTH = 60

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NUMBER = re.compile(r"[0-9]{1,12}")


def now() -> datetime:
    return utcnow()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    """A new sign-in: the user (its `session_token` set) and what the cookie must carry."""

    user: User
    role: str
    permanent: bool
    expires_at: datetime


def open_session(user: User, *, remember: bool = False, user_agent: str = "") -> Opened:
    """Start a sign-in of `user` on this device; `remember` counts for members only."""
    moment = now()
    remember = bool(remember) and user.role == "member"
    if user.role == "cashier":
        lifetime, idle, permanent = MARKET_DAY, None, True
    elif remember:
        lifetime, idle, permanent = REMEMBER_LIMIT, None, True
    else:
        lifetime, idle, permanent = BROWSER_LIMIT, IDLE_LIMIT, False
    purge(moment)
    token = secrets.token_urlsafe(16)  # 128 random bits
    record = UserSession(
        token_hash=hash_token(token),
        user_id=user.id,
        kind=user.role,
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetime,
        idle_seconds=int(idle.total_seconds()) if idle else None,
        remember=remember,
        device=device_label(user_agent),
    )
    db.session.add(record)
    db.session.flush()
    user.session_token, user.current_session = token, record
    user.cookie_id = f"{user.id}:{user.session_version}:{token}"
    # Plain values: after the sign-in's commit, reading the user again would open a second
    # transaction (on SQLite, a second write lock in the sign-in's POST).
    return Opened(user=user, role=user.role, permanent=permanent, expires_at=record.expires_at)


def is_alive(record: UserSession, moment: datetime | None = None) -> bool:
    moment = moment or now()
    if record.revoked_at is not None or moment >= record.expires_at:
        return False
    return record.idle_seconds is None or moment - record.last_seen_at < timedelta(
        seconds=record.idle_seconds
    )


def load(cookie_id: str) -> User | None:
    """The user of a cookie's "id:version:token", or None when that sign-in no longer holds."""
    parts = cookie_id.split(":")
    if len(parts) != 3:
        return None
    user_id, version, token = parts
    if not (_NUMBER.fullmatch(user_id) and _NUMBER.fullmatch(version) and _TOKEN.fullmatch(token)):
        return None
    row = db.session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(user_id), UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    user, record = row
    moment = now()
    if user.session_version != int(version) or not user.is_enabled or not is_alive(record, moment):
        return None
    user.session_token, user.current_session = token, record
    if record.idle_seconds is not None and moment - record.last_seen_at >= TOUCH_EVERY:
        _touch(record, moment)
    return user


def _touch(record: UserSession, moment: datetime) -> None:
    """Write `last_seen_at` without holding the request's transaction to it.

    A request whose transaction already holds SQLite's write lock (a POST) writes it there; any
    other (a GET, which never commits) writes it at once on a connection of its own. The read
    phase of a `@reads_first` view (the sale) writes nothing: it waits for the next request.
    """
    statement = (
        update(UserSession.__table__)
        .where(UserSession.__table__.c.id == record.id)
        .values(last_seen_at=moment)
    )
    if in_read_phase():
        return
    if db.session.get_bind().dialect.name == "sqlite" and request_holds_write_lock():
        db.session.execute(statement)
    else:
        with db.engine.begin() as connection:
            connection.execute(statement)
    set_committed_value(record, "last_seen_at", moment)


def end(record: UserSession | None) -> None:
    """End one sign-in (sign-out, the cashier's lock): the user's other devices keep theirs."""
    if record is not None and record.revoked_at is None:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == record.id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        db.session.flush()


def end_all(user: User, keep: UserSession | None = None) -> None:
    """End every sign-in of `user`, except `keep` when given (a password changed while signed
    in). Without `keep` the session version is bumped too, which also voids the admins'
    second-factor marker and the signed links made before."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    else:
        user.session_version += 1
    db.session.execute(query.values(revoked_at=now()))
    db.session.flush()


def active(user: User) -> list[UserSession]:
    """The user's sign-ins still open, the most recently used first."""
    moment = now()
    rows = db.session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > moment,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [row for row in rows if is_alive(row, moment)]


def purge(moment: datetime | None = None) -> int:
    """Delete the rows of sign-ins that ended (revoked, expired, idle): run at each sign-in."""
    moment = moment or now()
    result = db.session.execute(
        delete(UserSession).where(
            or_(
                UserSession.revoked_at.is_not(None),
                UserSession.expires_at <= moment,
                and_(
                    UserSession.idle_seconds.is_not(None),
                    UserSession.last_seen_at <= moment - IDLE_LIMIT,
                ),
            )
        ),
        # What the session holds of the deleted rows leaves its identity map (SQLite reuses ids).
        execution_options={"synchronize_session": "fetch"},
    )
    return result.rowcount or 0


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str | None) -> str:
    """A short label for the "your devices" list ("Firefox, Android"), or "" when unknown."""
    text = (user_agent or "")[:512]
    browser = next((name for marker, name in _BROWSERS if marker in text), "")
    system = next((name for marker, name in _SYSTEMS if marker in text), "")
    return ", ".join(part for part in (browser, system) if part)[:DEVICE_LENGTH]
