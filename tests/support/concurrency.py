"""Races for the concurrency tests: each thread has its own app context, hence its own session and
connection (like a worker), and a barrier releases them together."""

from __future__ import annotations

import threading

from app.core.extensions import db


def run_together(app, count: int, work, join_timeout: float = 300) -> list:
    """Run `work(index)` in `count` threads at once, each committing its own session; each result
    is `work`'s value or the exception it raised (rolled back)."""
    # End the test's own transaction: outside a request, SQLite transactions hold the write lock.
    db.session.commit()
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[index] = work(index)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts on it
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results
