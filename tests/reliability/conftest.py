"""Fixtures of the reliability tests."""

from __future__ import annotations

import os

import pytest

from tests.support.apps import require
from tests.support.register_server import create_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def server_database_url(request, tmp_path):
    """A database of this test's own for a real server, file SQLite and PostgreSQL (the suite's
    shared databases are not touched)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/register-load.sqlite3"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set: PostgreSQL load test skipped")
    url, drop = create_postgres_database(base)
    yield url
    drop()
