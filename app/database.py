"""Engine set-up that money depends on.

SQLite: WAL, `synchronous=FULL`, foreign keys, a busy timeout, and transactions that we begin
ourselves. The driver's implicit BEGIN is taken away so that state-changing work starts with
`BEGIN IMMEDIATE`: a deferred transaction that reads then writes fails with SQLITE_BUSY_SNAPSHOT
when another writer got in between, and the busy timeout does not cure that.
"""
from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_installed = False


def _wants_write_lock() -> bool:
    """Requests that may change state, and all work outside a request, take the write lock."""
    if has_request_context():
        return request.method not in READ_ONLY_METHODS
    return True


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        "busy_timeout=30000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_begin(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    mode = "IMMEDIATE" if _wants_write_lock() else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


def install_engine_events() -> None:
    """Register the listeners once per process (they apply to every engine)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    _installed = True


def is_sqlite(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if hasattr(session_or_engine, "get_bind") else session_or_engine
    return bind.dialect.name == "sqlite"
