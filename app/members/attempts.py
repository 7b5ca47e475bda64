"""Failed-attempt throttling kept in a database row (a user's password, an admin's TOTP
credential), so every worker and server shares it.

An attempt slot is claimed with a conditional UPDATE before the secret is compared: parallel
guesses compare at most `limit` secrets. The attempt that fills the last slot blocks the row for
`block_minutes` and starts the counter again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import InstrumentedAttribute

from app.core.columns import utcnow
from app.core.extensions import db


def claim(
    row,
    counter: InstrumentedAttribute,
    blocked_until: InstrumentedAttribute,
    limit: int,
    blocked: Callable[[], Exception],
) -> int:
    """Take one attempt slot on `row` (returns its rank: `counter` after the claim).

    No slot while `counter` has reached `limit` or `blocked_until` is still to come: `row` is then
    refreshed and `blocked()`, built from the fresh row, is raised.
    """
    model = counter.class_
    now = utcnow()
    claimed = db.session.execute(
        update(model)
        .where(
            model.id == row.id,
            counter < limit,
            or_(blocked_until.is_(None), blocked_until <= now),
        )
        .values({counter.key: counter + 1})
        .returning(counter)
    ).scalar()
    if claimed is None:
        db.session.refresh(row, [counter.key, blocked_until.key])
        raise blocked()
    return claimed


def record_failure(
    row,
    claimed: int,
    counter: InstrumentedAttribute,
    blocked_until: InstrumentedAttribute,
    limit: int,
    block_minutes: int,
) -> bool:
    """A wrong secret on the attempt ranked `claimed`: the one that fills the last slot blocks `row`.

    Refreshes `row` either way; returns whether this attempt blocked it.
    """
    blocking = claimed >= limit
    if blocking:
        db.session.execute(
            update(counter.class_)
            .where(counter.class_.id == row.id)
            .values(
                {counter.key: 0, blocked_until.key: utcnow() + timedelta(minutes=block_minutes)}
            )
        )
    db.session.refresh(row, [counter.key, blocked_until.key])
    return blocking
