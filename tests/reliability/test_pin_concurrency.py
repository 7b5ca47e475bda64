"""Twenty wrong PINs sent at once, from as many tablets (threads, each with its own session and
connection, on a file SQLite and on PostgreSQL): at most three are ever compared."""

from __future__ import annotations

import threading
from collections import Counter

from app.core.extensions import db
from app.members import cards
from app.members.errors import CardLocked, WrongPin
from app.members.models import Member
from tests.support.factories import make_member

TABLETS = 20


def test_twenty_parallel_wrong_pins_evaluate_at_most_three(app, monkeypatch):
    member_id = make_member(pin="2468").id

    # Count the PIN comparisons: `hash_pin` runs once per PIN actually compared.
    compared = Counter()
    lock = threading.Lock()
    real_hash = cards.hash_pin

    def counting_hash(pin):
        with lock:
            compared["pins"] += 1
        return real_hash(pin)

    monkeypatch.setattr(cards, "hash_pin", counting_hash)

    barrier = threading.Barrier(TABLETS)
    outcomes: list = [None] * TABLETS

    def tablet(index: int) -> None:
        with app.app_context():
            try:
                target = db.session.get(Member, member_id)
                # End the read before waiting: outside a request a transaction holds SQLite's
                # write lock, and the other tablets could not start.
                db.session.commit()
                barrier.wait(timeout=60)
                cards.verify_pin(target, f"{1000 + index:04d}")  # all wrong
                outcomes[index] = "accepted"
            except (WrongPin, CardLocked) as exc:
                outcomes[index] = type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes[index] = repr(exc)
            finally:
                db.session.commit()  # the register commits failures: they count
                db.session.remove()

    # End the test's own transaction: outside a request it would hold SQLite's write lock.
    db.session.commit()
    threads = [threading.Thread(target=tablet, args=(i,)) for i in range(TABLETS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a tablet hung"

    kinds = Counter(outcomes)
    assert set(kinds) <= {"WrongPin", "CardLocked"}, kinds
    assert compared["pins"] <= cards.MAX_PIN_FAILURES, f"{compared['pins']} PINs were compared"
    assert kinds["WrongPin"] == 2 and kinds["CardLocked"] == TABLETS - 2, kinds
    db.session.expire_all()
    member = db.session.get(Member, member_id)
    assert member.pin_failures == cards.MAX_PIN_FAILURES
    assert cards.is_locked(member)
