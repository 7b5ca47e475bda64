"""Demo data for `flask ssa seed-demo`: each domain seeds its own part, in this order.

Every step is idempotent: running the command twice changes nothing the second time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from app.core.extensions import db
from app.members.models import Commune

STEPS = ("association", "members", "merchants", "events")


def database_is_empty() -> bool:
    return db.session.scalar(db.select(db.func.count()).select_from(Commune)) == 0


def seed_demo() -> Iterator[str]:
    """Run each step (a module of this package with a `seed()` generator of report lines)."""
    for name in STEPS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # that domain has no demo data yet
            raise
        yield from module.seed()
        db.session.flush()
