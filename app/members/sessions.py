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
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.core.columns import utcnow
from app.core.database import direct_sql, in_read_phase, request_holds_write_lock
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


def _parsed(cookie_id: str) -> tuple[int, int, str] | None:
    parts = cookie_id.split(":")
    if len(parts) != 3:
        return None
    user_id, version, token = parts
    if not (_NUMBER.fullmatch(user_id) and _NUMBER.fullmatch(version) and _TOKEN.fullmatch(token)):
        return None
    return int(user_id), int(version), token


def load(cookie_id: str, *, light: bool = False) -> User | SignedIn | None:
    """The user of a cookie's "id:version:token", or None when that sign-in no longer holds.

    `light`: a `SignedIn` read by hand instead of the ORM's `User` (the register's busiest
    requests, `@light_user` views), with the same checks."""
    parsed = _parsed(cookie_id)
    if parsed is None:
        return None
    if light:
        return _load_light(*parsed)
    user_id, version, token = parsed
    row = db.session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == user_id, UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    user, record = row
    moment = now()
    if user.session_version != version or not user.is_enabled or not is_alive(record, moment):
        return None
    user.session_token, user.current_session = token, record
    if record.idle_seconds is not None and moment - record.last_seen_at >= TOUCH_EVERY:
        _touch(record, moment)
    return user


class SignedIn:
    """The signed-in user as the register's busiest requests need it: the columns those views
    read, loaded with the sign-in's row in one hand-written query (`load(light=True)`), without
    the ORM's loading (about 0.15 ms a request, bench/README.md). Flask-Login sees a user as
    `User` is one (`get_id`, `is_authenticated`, `is_active`); anything else (a relationship,
    a column not held here, an attribute set) goes to the ORM's `User`, loaded on first use."""

    FIELDS = ("id", "role", "merchant_id", "is_enabled", "session_version", "display_name")
    __slots__ = (*FIELDS, "session_token", "session_id", "_user")

    is_authenticated = True  # the loader refused ended sign-ins and disabled accounts
    is_anonymous = False

    def __init__(self, values: tuple, session_token: str, session_id: int):
        for name, value in zip(self.FIELDS, values, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "session_token", session_token)
        object.__setattr__(self, "session_id", session_id)
        object.__setattr__(self, "_user", None)

    @property
    def is_active(self) -> bool:
        return bool(self.is_enabled)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}:{self.session_token}"

    def __eq__(self, other) -> bool:
        return hasattr(other, "get_id") and self.get_id() == other.get_id()

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = None

    def orm(self) -> User:
        """The ORM's `User` (its sign-in set), loaded once."""
        if self._user is None:
            user = db.session.get(User, self.id)
            user.session_token = self.session_token
            user.current_session = db.session.get(UserSession, self.session_id)
            object.__setattr__(self, "_user", user)
        return self._user

    @property
    def merchant(self):
        return self.orm().merchant

    @property
    def current_session(self) -> UserSession | None:
        return self.orm().current_session

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.orm(), name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self.orm(), name, value)

    def __repr__(self) -> str:
        return f"<SignedIn {self.id} {self.role}>"


_LIGHT = (
    "SELECT u.id, u.role, u.merchant_id, u.is_enabled, u.session_version, u.display_name, "
    "s.id, s.revoked_at, s.expires_at, s.idle_seconds, s.last_seen_at "
    'FROM "user" u JOIN user_session s ON s.user_id = u.id '
    "WHERE u.id = ? AND s.token_hash = ?"
)


def _utc(value) -> datetime | None:
    """A `UTCDateTime` as the driver returns it (SQLite: naive text; psycopg: aware)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _load_light(user_id: int, version: int, token: str) -> SignedIn | None:
    row = direct_sql(db.session).one(_LIGHT, (user_id, hash_token(token)))
    if row is None:
        return None
    session_id, revoked_at, expires_at, idle_seconds, last_seen_at = row[6:]
    user = SignedIn(row[:6], token, session_id)
    moment = now()
    last_seen_at = _utc(last_seen_at)
    alive = (
        revoked_at is None
        and moment < _utc(expires_at)
        and (idle_seconds is None or moment - last_seen_at < timedelta(seconds=idle_seconds))
    )
    if user.session_version != version or not user.is_enabled or not alive:
        return None
    if idle_seconds is not None and moment - last_seen_at >= TOUCH_EVERY:
        _touch_row(session_id, moment)
    return user


def _touch(record: UserSession, moment: datetime) -> None:
    if _touch_row(record.id, moment):
        set_committed_value(record, "last_seen_at", moment)


def _touch_row(session_id: int, moment: datetime) -> bool:
    """Write `last_seen_at` without holding the request's transaction to it; whether written.

    A request whose transaction already holds SQLite's write lock (a POST) writes it there; any
    other (a GET, which never commits) writes it at once on a connection of its own. The read
    phase of a `@reads_first` view (the sale) writes nothing: it waits for the next request.
    """
    statement = (
        update(UserSession.__table__)
        .where(UserSession.__table__.c.id == session_id)
        .values(last_seen_at=moment)
    )
    if in_read_phase():
        return False
    if db.session.get_bind().dialect.name == "sqlite" and request_holds_write_lock():
        db.session.execute(statement)
    else:
        with db.engine.begin() as connection:
            connection.execute(statement)
    return True


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
