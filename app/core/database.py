"""Engine set-up that money depends on.

SQLite: WAL, `synchronous=FULL`, foreign keys, a busy timeout, and transactions that we begin
ourselves. The driver's implicit BEGIN is taken away so that state-changing work starts with
`BEGIN IMMEDIATE`: a deferred transaction that reads then writes fails with SQLITE_BUSY_SNAPSHOT
when another writer got in between, and the busy timeout does not cure that.

SQLite has one writer at a time, so the write lock should cover the writes, not a whole request.
A view marked `@reads_first` (the register's sale) does its reads (signed-in user, form checks,
the member, the key already used?) in a read transaction, then calls `start_writing()`, which
ends it and begins the write transaction on the same connection. What was read may have
changed meanwhile: the writes re-check what matters in SQL (conditional debit, PIN attempt
claimed with a conditional update, unique idempotency key). A write through SQLAlchemy before
`start_writing()` in such a view is a programming error and raises at once.

`DirectSQL` runs hand-written statements on the session's connection, for the sale's hot path.

Writers in web requests also queue for the write lock outside SQLite (`QueuedConnection`):
SQLite's busy handler sleeps with a growing back-off (1, 2, 5, ... 100 ms) and lets a newcomer
overtake the sleepers, so under load a few sales waited a second or more while others passed.
The threads of a process queue on a lock, the processes on an exclusive `flock` of a file next
to the database: a waiter is woken as soon as the writer before it commits. The queue is an aid
to latency, not to correctness: SQLite's own lock still decides, so a writer that bypasses the
queue (a shell, the CLI) is only waited for by the busy handler, as before. It is taken only in
requests, whose transactions end with the request (gunicorn's timeout bounds a stuck one).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import ClassVar

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_installed = False


def reads_first(view):
    """Mark a state-changing view that reads first and calls `start_writing()` before writing."""
    view.reads_first = True
    return view


def _in_read_phase() -> bool:
    """In a `@reads_first` request that has not called `start_writing()` yet."""
    if not has_request_context() or request.method in READ_ONLY_METHODS or g.get("_patias_writing"):
        return False
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "reads_first", False)


def _wants_write_lock() -> bool:
    """Requests that may change state, and all work outside a request, take the write lock;
    a `@reads_first` request only once it has called `start_writing()`."""
    if has_request_context():
        return request.method not in READ_ONLY_METHODS and not _in_read_phase()
    return True


def in_read_phase() -> bool:
    """In the read phase of a `@reads_first` request: nothing may be written yet."""
    return _in_read_phase()


def request_holds_write_lock() -> bool:
    """Whether this request's transaction (on SQLite) takes the write lock at its first statement
    (`BEGIN IMMEDIATE`): another connection of the same request must not write then."""
    return _wants_write_lock()


def start_writing(session) -> None:
    """End the read phase of a `@reads_first` request (a no-op anywhere else).

    On SQLite the read transaction (it wrote nothing) is committed and a `BEGIN IMMEDIATE` is
    issued on the same connection, after the writers' queue: the session keeps its connection
    and what it loaded, and the request's commit ends the write transaction.
    """
    if not _in_read_phase():
        return
    g._patias_writing = True
    if not is_sqlite(session):
        return
    target = session() if callable(session) else session  # the scoped session's Session
    if target.new or target.dirty or target.deleted:
        raise RuntimeError("a @reads_first view changed objects before start_writing()")
    if not target.in_transaction():
        return  # nothing read yet: the next statement begins the write transaction
    dbapi_connection = target.connection().connection.dbapi_connection
    if dbapi_connection.in_transaction:
        dbapi_connection.execute("COMMIT")
    queued = isinstance(dbapi_connection, QueuedConnection)
    if queued:
        dbapi_connection.take_turn()
    try:
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except BaseException:
        if queued:
            dbapi_connection.pass_turn()
        raise


class DirectSQL:
    """Hand-written SQL on the session's own connection, in its transaction.

    For the register's sale, where SQLAlchemy's work around each statement (compilation cache
    keys, result objects, ORM loading) costs several times the statement itself on SQLite.
    Statements are written once with `?` placeholders (translated to `%s` for psycopg) and
    may not contain `%`. Rows come back as tuples; the session's objects are not refreshed
    (the caller does it with `set_committed_value` where it matters). The session is flushed
    first, so that what it holds is visible to these statements. SQLAlchemy's events do not
    see them: in a `@reads_first` view, write only after `start_writing()`.
    """

    _translated: ClassVar[dict[str, str]] = {}

    def __init__(self, session):
        session.flush()
        connection = session.connection()
        self.connection = connection.connection.dbapi_connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.IntegrityError = connection.dialect.dbapi.IntegrityError

    def _sql(self, sql: str) -> str:
        if not self.postgresql:
            return sql
        translated = self._translated.get(sql)
        if translated is None:
            if "%" in sql:
                raise ValueError("DirectSQL statements may not contain %")
            translated = self._translated[sql] = sql.replace("?", "%s")
        return translated

    def execute(self, sql: str, parameters: tuple = ()):
        """Run one statement; the driver's cursor (rows as tuples, `rowcount`)."""
        return self.connection.execute(self._sql(sql), parameters)

    def one(self, sql: str, parameters: tuple = ()) -> tuple | None:
        """The first row of a query, or None."""
        return self.connection.execute(self._sql(sql), parameters).fetchone()


def direct_sql(session) -> DirectSQL:
    """The `DirectSQL` of the session's current transaction, made once and shared by what runs
    in it (the sale's user load, settings and operation each asked the session for its
    connection again). The session is still flushed at every call, as `DirectSQL()` does."""
    target = session() if callable(session) else session  # the scoped session's Session
    if not has_app_context():
        return DirectSQL(target)
    transaction = target.get_transaction()
    cached = g.get("_patias_direct_sql")
    if transaction is not None and cached is not None and cached[0] is transaction:
        target.flush()
        return cached[1]
    sql = DirectSQL(target)
    g._patias_direct_sql = (target.get_transaction(), sql)
    return sql


def _refuse_early_writes(
    connection, _cursor, statement, _parameters, _context, _executemany
) -> None:
    if (
        connection.dialect.name == "sqlite"
        and statement.lstrip()[:7].upper().startswith(_WRITES)
        and _in_read_phase()
    ):
        raise RuntimeError("a @reads_first view wrote before start_writing(): " + statement[:80])


class _WriterQueue:
    """The queue of one database file's writers: a lock per process, then a file lock."""

    _queues: ClassVar[dict[str, _WriterQueue]] = {}
    _guard = threading.Lock()

    def __init__(self, path: str):
        self.path = path + ".writers"
        self.threads = threading.Lock()
        self.fd: int | None = None
        self.pid = 0
        self.owner = threading.local()

    @classmethod
    def of(cls, database: str) -> _WriterQueue:
        with cls._guard:
            queue = cls._queues.get(database)
            if queue is None:
                queue = cls._queues[database] = cls(database)
            return queue

    def _file(self) -> int:
        if self.fd is None or self.pid != os.getpid():  # a forked worker opens its own
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
        return self.fd

    def acquire(self) -> bool:
        """Wait for our turn; False when this thread already holds it (a nested connection)."""
        if getattr(self.owner, "holding", False):
            return False
        if not self.threads.acquire(timeout=30):
            return False  # something is wrong: let SQLite's busy handler decide
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except OSError:
            self.threads.release()
            return False
        self.owner.holding = True
        return True

    def release(self) -> None:
        self.owner.holding = False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self.threads.release()


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions, in a request, wait in the writers' queue;
    the turn passes on at commit, rollback or close, whatever happens."""

    _queue: _WriterQueue | None = None
    _turn = False

    def take_turn(self) -> None:
        """Wait for this connection's turn to write (in a request; else a no-op)."""
        if self._turn or not has_request_context():
            return
        if self._queue is None:
            database = self.execute("PRAGMA database_list").fetchone()[2]
            self._queue = _WriterQueue.of(database) if database else None
        if self._queue is not None:
            self._turn = self._queue.acquire()

    def pass_turn(self) -> None:
        if self._turn:
            self._turn = False
            self._queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.pass_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.pass_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.pass_turn()


def engine_options(uri: str, options: dict) -> dict:
    """The engine options for `uri`: a file SQLite gets `QueuedConnection`."""
    if (
        not uri.startswith("sqlite")
        or ":memory:" in uri
        or uri.rstrip("/") in ("sqlite:", "sqlite:/")
    ):
        return options
    connect_args = {**options.get("connect_args", {}), "factory": QueuedConnection}
    return {**options, "connect_args": connect_args}


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
    if not _wants_write_lock():
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
    dbapi_connection = connection.connection.dbapi_connection
    queued = isinstance(dbapi_connection, QueuedConnection)
    if queued:
        dbapi_connection.take_turn()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if queued:
            dbapi_connection.pass_turn()
        raise


def install_engine_events() -> None:
    """Register the listeners once per process (they apply to every engine)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    event.listen(Engine, "before_cursor_execute", _refuse_early_writes)
    _installed = True


def is_sqlite(session_or_engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if hasattr(session_or_engine, "get_bind")
        else session_or_engine
    )
    return bind.dialect.name == "sqlite"
