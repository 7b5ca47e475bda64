"""Fixed-window counters in the database, so that every worker and server shares them."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from app.core.errors import RateLimited
from app.core.extensions import db


def hit(scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> None:
    """Count one attempt of `key` in `scope`; raise `RateLimited` past `limit` in the window.

    Keys are hashed: the table never holds an address or an e-mail in clear.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitHit).values(scope=scope, key=digest, window=window, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["scope", "key", "window"], set_={"count": RateLimitHit.count + 1}
    ).returning(RateLimitHit.count)
    count = db.session.execute(statement).scalar_one()
    if count > limit:
        raise RateLimited(retry_after_seconds=int((window + 1) * window_seconds - now) + 1)


def check(scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> None:
    """Raise `RateLimited` if `key` already reached `limit` in the window, without counting.

    With `hit(..., limit=very large)` after a failure, this throttles failures only (sign-in:
    successful logins from a shared address must not use up its allowance).
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    count = db.session.scalar(
        db.select(RateLimitHit.count).where(
            RateLimitHit.scope == scope, RateLimitHit.key == digest, RateLimitHit.window == window
        )
    )
    if count is not None and count >= limit:
        raise RateLimited(retry_after_seconds=int((window + 1) * window_seconds - now) + 1)


class RateLimitHit(db.Model):
    """Counters for public forms and lookups (per address or per user, per window)."""

    __table_args__ = (
        UniqueConstraint("scope", "key", "window", name="uq_rate_limit_hit_scope_key_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    window: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
