"""Places and seats under concurrent requests, on the file SQLite and on PostgreSQL.

Each thread has its own app context, hence its own session and connection, like a worker.
A barrier releases them together so that they really race for the last places. The test's own
session reads nothing while they run: on SQLite, work outside a request holds the write lock.
"""

from __future__ import annotations

from datetime import time

from app.core.extensions import db as _db
from app.events import carpool
from app.events import registrations as event_service
from app.events.errors import RideFull
from app.events.models import Booking, Event, Registration, Ride
from tests.support.concurrency import run_together
from tests.support.factories import make_event, make_registration


def test_twenty_registrations_at_once_for_five_places(app, db):
    event = make_event(capacity=5)
    event_id = event.id
    db.session.commit()

    def register(i: int) -> str:
        target = _db.session.get(Event, event_id)
        return event_service.register(
            target, name=f"Personne {i}", email=f"p{i}@example.test"
        ).registration.status

    results = run_together(app, 20, register)
    assert not [r for r in results if isinstance(r, Exception)], results
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(Registration).where(Registration.event_id == event_id)
    ).all()
    assert len(rows) == 20
    assert sum(1 for r in rows if r.status == "confirmed") == 5
    waiting = sorted(r.position for r in rows if r.status == "waiting")
    assert waiting == list(range(1, 16))
    assert event_service.confirmed_people(event_id) == 5


def test_one_form_sent_five_times_at_once_registers_once(app, db):
    event = make_event(capacity=5)
    event_id, key = event.id, event_service.new_key()
    db.session.commit()

    def register(i: int) -> int:
        target = _db.session.get(Event, event_id)
        return event_service.register(
            target, name="Par téléphone", phone="06 12 34 56 78", people=2, key=key
        ).registration.id

    results = run_together(app, 5, register)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    db.session.expire_all()
    assert event_service.confirmed_people(event_id) == 2


def test_concurrent_cancellations_promote_the_waiting_list_in_order(app, db):
    event = make_event(capacity=5)
    confirmed = [make_registration(event) for _ in range(5)]
    waiting = [make_registration(event) for _ in range(10)]
    event_id, leaving_ids, waiting_ids = (
        event.id,
        [r.id for r in confirmed[:3]],
        [r.id for r in waiting],
    )
    db.session.commit()

    def cancel(i: int) -> int:
        registration = _db.session.get(Registration, leaving_ids[i])
        return len(event_service.cancel_registration(registration))

    results = run_together(app, 3, cancel)
    assert results == [1, 1, 1], results
    db.session.expire_all()
    statuses = {r.id: (r.status, r.position) for r in db.session.scalars(db.select(Registration))}
    assert [statuses[i] for i in waiting_ids[:3]] == [("confirmed", None)] * 3
    assert [statuses[i] for i in waiting_ids[3:]] == [("waiting", n) for n in range(1, 8)]
    assert event_service.confirmed_people(event_id) == 5


def test_ten_passengers_at_once_for_three_seats(app, db):
    event = make_event(capacity=None)
    driver = make_registration(event, offers_ride=True)
    ride = carpool.offer_ride(
        driver, departure=time(9, 0), seats=3, pickup_text="Place de la mairie"
    )
    passengers = [make_registration(event, needs_ride=True) for _ in range(10)]
    ride_id, passenger_ids = ride.id, [p.id for p in passengers]
    db.session.commit()

    def book(i: int):
        return carpool.book(
            _db.session.get(Ride, ride_id), _db.session.get(Registration, passenger_ids[i]), 1
        ).id

    results = run_together(app, 10, book)
    booked = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, RideFull)]
    assert len(booked) == 3 and len(refused) == 7, results
    db.session.expire_all()
    seats = db.session.scalar(
        db.select(db.func.sum(Booking.seats)).where(
            Booking.ride_id == ride_id, Booking.status == "booked"
        )
    )
    assert seats == 3
