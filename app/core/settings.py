"""The association's rules, read from `app/data/association.json` and overridden by the
`setting` table (editable by an admin). Code asks here instead of holding constants."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import g, has_app_context
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.calendar import Month
from app.core.database import direct_sql
from app.core.extensions import db

DATA = Path(__file__).resolve().parent.parent / "data"


@cache
def load_data(name: str):
    """A file of `app/data/` (communes, categories, ...), parsed once."""
    with open(DATA / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def association() -> dict:
    """Defaults from the data file, overridden by the settings table; cached per request."""
    if has_app_context() and "association" in g:
        return g.association
    values = dict(load_data("association"))
    if has_app_context():
        # Read at every page (the layout shows the association's details): by hand, as the
        # ORM's loading costs ten times the query. SQLite returns the JSON column's text, or
        # a number (the column has numeric affinity); psycopg decodes it.
        sql = direct_sql(db.session)
        for key, value in sql.execute('SELECT "key", value FROM setting').fetchall():
            values[key] = (
                json.loads(value) if isinstance(value, str) and not sql.postgresql else value
            )
        g.association = values
    return values


def scheduled_allocation(rules: dict | None = None, period: str | None = None) -> int:
    """The monthly allocation in cents for `period` (`YYYY-MM`, default: this month).

    `allocation_schedule` lists `{"from": "YYYY-MM", "cents": N}`: the amount in effect from that
    month on; before the first entry (or without any) it is `allocation_cents`. Months written
    `YYYY-MM` compare as text in time order."""
    rules = rules if rules is not None else association()
    period = period or str(Month.current())
    amount = int(rules.get("allocation_cents") or 0)
    entries = sorted(rules.get("allocation_schedule") or [], key=lambda e: str(e.get("from")))
    for entry in entries:
        if str(entry.get("from")) <= period:
            amount = int(entry.get("cents") or 0)
    return amount


def set_setting(key: str, value) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    g.pop("association", None)


class Setting(db.Model):
    """Association rules as data (allocation amount, roll-over rule, minimum contribution, ...)."""

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)
