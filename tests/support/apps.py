"""The app under test, the databases it runs on, and what a test needs before it can run."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from app import create_app
from app.core.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"
ENGINES = ("sqlite", "postgresql")


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing; in CI that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(
            f"{reason} (CI=true: missing requirements fail instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def libpq_url(url) -> str:
    """A SQLAlchemy URL as psycopg takes it (no driver name, password shown)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(database_url: str, **overrides):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, **overrides)


def fresh_g() -> None:
    """Empty Flask's `g`, as a new request in production starts with."""
    from flask import g

    for name in list(vars(g)):
        delattr(g, name)


def truncate_all() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if conn.execute(
                text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))
