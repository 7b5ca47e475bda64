"""The queue of SQLite writers in requests (app/core/database.py, `QueuedConnection`).

It must never leak (a turn not passed on would stall every later sale): the turn passes on at
commit, at rollback, when a statement fails, and when the session is removed. Writers from
several threads, each in a request of its own, take turns and every write lands.
"""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy import text

from app.core.database import QueuedConnection, _WriterQueue
from app.core.extensions import db as _db
from tests.support.factories import make_member

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def sqlite_only(engine_name):
    """PostgreSQL has no single writer lock and no queue: these tests are about SQLite."""
    if engine_name != "sqlite":
        assert not isinstance(
            _db.session.connection().connection.dbapi_connection, QueuedConnection
        )
        _db.session.rollback()
        return False
    return True


def _queue() -> _WriterQueue:
    return _WriterQueue.of(_db.engine.url.database)


def _free(queue: _WriterQueue) -> bool:
    """Nobody holds the turn: neither a thread of this process nor the file lock."""
    if queue.threads.locked():
        return False
    fd = os.open(queue.path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _write() -> None:
    _db.session.execute(text("UPDATE member SET pin_failures = pin_failures WHERE id = 0"))


@pytest.mark.parametrize("end", ["commit", "rollback", "failed statement", "session removed"])
def test_the_turn_passes_on_however_the_transaction_ends(app, sqlite_only, end):
    if not sqlite_only:
        return
    _db.session.commit()
    _db.session.remove()
    queue = _queue()
    with app.test_request_context("/caisse/debit", method="POST"):
        from flask import g

        g._patias_writing = True  # past the read phase
        _write()
        assert not _free(queue), "a write transaction in a request holds the turn"
        if end == "commit":
            _db.session.commit()
        elif end == "rollback":
            _db.session.rollback()
        elif end == "failed statement":
            with pytest.raises(Exception, match="no such table"):
                _db.session.execute(text("UPDATE no_such_table SET x = 1"))
            _db.session.rollback()
        else:
            _db.session.remove()
        assert _free(queue), f"the turn was not passed on after {end}"
    _db.session.remove()


def test_outside_requests_writers_do_not_queue(app, sqlite_only):
    if not sqlite_only:
        return
    _db.session.commit()
    _write()  # the CLI, the tests: SQLite's busy handler only, as before
    assert _free(_queue())
    _db.session.rollback()


def test_writers_in_parallel_requests_take_turns(app, sqlite_only):
    if not sqlite_only:
        return
    member_id = make_member().id
    _db.session.commit()
    _db.session.remove()
    threads_count, writes_each = 6, 25
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(writes_each):
                with app.test_request_context("/caisse/debit", method="POST"):
                    from flask import g

                    g._patias_writing = True
                    _db.session.execute(
                        text("UPDATE member SET pin_failures = pin_failures + 1 WHERE id = :id"),
                        {"id": member_id},
                    )
                    _db.session.commit()
                    _db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a writer hung in the queue"
    assert errors == []
    total = _db.session.execute(
        text("SELECT pin_failures FROM member WHERE id = :id"), {"id": member_id}
    ).scalar_one()
    assert total == threads_count * writes_each
    assert _free(_queue())
