"""Fixed-window counters in the database, so that every worker and server shares them."""
from __future__ import annotations

import hashlib
import time

from sqlalchemy import update

from app.extensions import db
from app.models import RateLimitHit
from app.services.errors import RateLimited


def hit(scope: str, key: str, limit: int, window_seconds: int, now: float | None = None) -> None:
    """Count one attempt of `key` in `scope`; raise `RateLimited` past `limit` in the window.

    Keys are hashed: the table never holds an address or an e-mail in clear.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    updated = db.session.execute(
        update(RateLimitHit)
        .where(RateLimitHit.scope == scope, RateLimitHit.key == digest, RateLimitHit.window == window)
        .values(count=RateLimitHit.count + 1)
        .returning(RateLimitHit.count)
    ).scalar()
    if updated is None:
        db.session.add(RateLimitHit(scope=scope, key=digest, window=window, count=1))
        db.session.flush()
        updated = 1
    if updated > limit:
        raise RateLimited(retry_after_seconds=int((window + 1) * window_seconds - now) + 1)
