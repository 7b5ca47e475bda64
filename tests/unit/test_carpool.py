"""Carpool service: rides, bookings, requests, and what a cancellation frees and tells."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from app.core.mail import OutboxMessage
from app.events import carpool
from app.events import registrations as event_service
from app.events.errors import (
    AlreadyBooked,
    AlreadyOffering,
    CarpoolClosed,
    InvalidRide,
    NotConfirmed,
    RegistrationClosed,
    RideFull,
)
from app.events.models import Booking, PickupPoint, RideRequest
from app.members.models import Commune
from tests.support.factories import make_event, make_registration


def commune(db, name):
    return db.session.scalar(db.select(Commune).where(Commune.name == name))


def point(db, commune_name):
    return db.session.scalar(
        db.select(PickupPoint).join(Commune).where(Commune.name == commune_name)
    )


def mails_to(db, recipient):
    return db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.recipient == recipient)
        .order_by(OutboxMessage.id)
    ).all()


@pytest.fixture
def event(app):
    return make_event(at=(9, 30), capacity=30)


@pytest.fixture
def driver(event):
    return make_registration(
        event,
        name="Didier Conduit",
        email="driver@example.test",
        phone="0611111111",
        offers_ride=True,
    )


@pytest.fixture
def ride(db, event, driver):
    return carpool.offer_ride(
        driver,
        departure=time(9, 0),
        seats=3,
        pickup_point_id=point(db, "Boën-sur-Lignon").id,
        note="Devant la mairie",
    )


# --- Pickup points -------------------------------------------------------------------------------


def test_pickup_points_start_with_boen_town_hall_square(app):
    points = carpool.pickup_points()
    assert points[0].name == "Place de la mairie, Boën-sur-Lignon"
    assert len(points) == 21


# --- Offering rides ------------------------------------------------------------------------------


def test_a_ride_leaves_on_the_day_before_the_start(db, event, ride):
    local = ride.departs_at.astimezone(event_service.PARIS)
    assert (local.date(), local.hour, local.minute) == (
        event.starts_at.astimezone(event_service.PARIS).date(),
        9,
        0,
    )
    assert ride.seats_left == 3 and ride.pickup == "Place de la mairie, Boën-sur-Lignon"


@pytest.mark.parametrize("departure", [time(9, 30), time(10, 0), time(23, 59)])
def test_a_ride_leaving_at_or_after_the_start_is_refused(db, event, driver, departure):
    with pytest.raises(InvalidRide) as caught:
        carpool.offer_ride(driver, departure=departure, seats=2, pickup_text="Sur la place")
    assert "09:30" in str(caught.value.message)


@pytest.mark.parametrize("seats", [0, 9, -1])
def test_seats_must_be_one_to_eight(db, event, driver, seats):
    with pytest.raises(ValueError):
        carpool.offer_ride(driver, departure=time(9, 0), seats=seats, pickup_text="Sur la place")


def test_a_ride_needs_a_place(db, event, driver):
    with pytest.raises(ValueError):
        carpool.offer_ride(driver, departure=time(9, 0), seats=2, pickup_text="  ")


def test_free_text_pickup(db, event, driver):
    ride = carpool.offer_ride(
        driver, departure=time(8, 50), seats=2, pickup_text="Parking du stade, Sauvain"
    )
    assert ride.pickup == "Parking du stade, Sauvain" and ride.pickup_point_id is None


def test_one_open_ride_per_driver(db, event, driver, ride):
    with pytest.raises(AlreadyOffering):
        carpool.offer_ride(driver, departure=time(8, 0), seats=2, pickup_text="Ailleurs")


def test_the_waiting_list_cannot_offer_rides(db):
    full = make_event(capacity=1)
    make_registration(full)
    waiting = make_registration(full)
    with pytest.raises(NotConfirmed):
        carpool.offer_ride(waiting, departure=time(9, 0), seats=2, pickup_text="Place")


def test_no_carpool_no_ride(db):
    quiet = make_event(carpool=False)
    registration = make_registration(quiet)
    with pytest.raises(CarpoolClosed):
        carpool.offer_ride(registration, departure=time(9, 0), seats=2, pickup_text="Place")


# --- Booking -------------------------------------------------------------------------------------


def test_booking_takes_seats_and_tells_the_driver(db, event, ride):
    passenger = make_registration(
        event, name="Paula Passagère", phone="0622222222", people=2, needs_ride=True
    )
    booking = carpool.book(ride, passenger, 2)
    assert booking.status == "booked" and ride.seats_left == 1
    (mail,) = mails_to(db, "driver@example.test")[-1:]
    assert "Paula Passagère" in mail.body and "06 22 22 22 22" in mail.body


def test_never_more_seats_than_left(db, event, ride):
    first = make_registration(event, people=2)
    second = make_registration(event, people=2)
    carpool.book(ride, first, 2)
    with pytest.raises(RideFull) as caught:
        carpool.book(ride, second, 2)
    assert caught.value.seats_left == 1
    carpool.book(ride, second, 1)
    third = make_registration(event)
    with pytest.raises(RideFull) as full:
        carpool.book(ride, third, 1)
    assert full.value.seats_left == 0


def test_seats_booked_are_at_most_the_party(db, event, ride):
    passenger = make_registration(event, people=1)
    with pytest.raises(ValueError):
        carpool.book(ride, passenger, 2)


def test_no_seat_in_ones_own_car(db, driver, ride):
    with pytest.raises(InvalidRide):
        carpool.book(ride, driver, 1)


def test_one_car_at_a_time(db, event, ride):
    other_driver = make_registration(event)
    other = carpool.offer_ride(other_driver, departure=time(9, 5), seats=4, pickup_text="Leigneux")
    passenger = make_registration(event)
    carpool.book(ride, passenger, 1)
    with pytest.raises(AlreadyBooked):
        carpool.book(other, passenger, 1)


def test_booking_the_same_car_again_changes_the_seats(db, event, ride):
    passenger = make_registration(event, people=3)
    carpool.book(ride, passenger, 1)
    carpool.book(ride, passenger, 3)
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 1
    assert ride.seats_left == 0


def test_the_waiting_list_cannot_book(db, ride):
    small = make_event(capacity=1)
    make_registration(small)
    waiting = make_registration(small)
    with pytest.raises((NotConfirmed, InvalidRide)):
        carpool.book(ride, waiting, 1)


def test_a_ride_of_another_event_cannot_be_booked(db, ride):
    elsewhere = make_registration(make_event())
    with pytest.raises(InvalidRide):
        carpool.book(ride, elsewhere, 1)


def test_no_booking_once_the_event_started(db, event, ride):
    passenger = make_registration(event)
    with pytest.raises(RegistrationClosed):
        carpool.book(ride, passenger, 1, now=event.starts_at + timedelta(minutes=1))


# --- Cancelling ----------------------------------------------------------------------------------


def test_cancelling_a_booking_frees_the_seat_and_tells_the_driver(db, event, ride):
    passenger = make_registration(
        event, name="Paul", needs_ride=True, commune_id=commune(db, "Sauvain").id
    )
    booking = carpool.book(ride, passenger, 1)
    request = db.session.scalar(
        db.select(RideRequest).where(RideRequest.registration_id == passenger.id)
    )
    assert request.status == "matched"
    before = len(mails_to(db, "driver@example.test"))
    carpool.cancel_booking(booking)
    assert booking.status == "cancelled" and ride.seats_left == 3
    assert len(mails_to(db, "driver@example.test")) == before + 1
    assert request.status == "open"


def test_cancelling_a_ride_frees_and_tells_its_passengers(db, event, ride):
    one = make_registration(event, email="one@example.test", needs_ride=True)
    two = make_registration(event, email="two@example.test", needs_ride=True)
    b1, b2 = carpool.book(ride, one, 1), carpool.book(ride, two, 1)
    carpool.cancel_ride(ride)
    assert ride.status == "cancelled" and {b1.status, b2.status} == {"cancelled"}
    for address in ("one@example.test", "two@example.test"):
        assert "09:00" in mails_to(db, address)[-1].body
    assert carpool.board(event).rides == []


def test_a_driver_who_cancels_the_registration_cancels_the_ride(db, event, driver, ride):
    passenger = make_registration(event, email="p@example.test")
    carpool.book(ride, passenger, 1)
    event_service.cancel_registration(driver)
    assert ride.status == "cancelled"
    assert carpool.active_booking_of(passenger.id) is None
    assert any("annulé" in m.subject.lower() for m in mails_to(db, "p@example.test"))


def test_a_passenger_who_cancels_the_registration_frees_the_seat(db, event, ride):
    passenger = make_registration(event, name="Partante")
    carpool.book(ride, passenger, 1)
    event_service.cancel_registration(passenger)
    assert ride.seats_left == 3
    assert "Partante" in mails_to(db, "driver@example.test")[-1].body


def test_unticking_the_needs_gives_up_the_seat_and_the_ride(db, event, driver, ride):
    passenger = make_registration(event, needs_ride=True)
    carpool.book(ride, passenger, 1)
    event_service.update_registration(passenger, people=1, needs_ride=False, offers_ride=False)
    assert carpool.active_booking_of(passenger.id) is None
    event_service.update_registration(driver, people=1, needs_ride=False, offers_ride=False)
    assert ride.status == "cancelled"


def test_a_smaller_party_holds_fewer_seats(db, event, ride):
    passenger = make_registration(event, people=3, needs_ride=True)
    booking = carpool.book(ride, passenger, 3)
    event_service.update_registration(passenger, people=2, needs_ride=True, offers_ride=False)
    assert booking.seats == 2 and ride.seats_left == 1


# --- Requests and the board ----------------------------------------------------------------------


def test_needing_a_ride_opens_a_request_from_ones_commune(db, event):
    registration = make_registration(
        event, needs_ride=True, people=2, commune_id=commune(db, "Sauvain").id
    )
    request = registration.ride_request
    assert request.status == "open" and request.seats == 2
    assert request.pickup == "Place de la mairie, Sauvain"


def test_the_board_groups_the_demand_by_pickup_point_in_order(db, event, ride):
    make_registration(event, needs_ride=True, people=2, commune_id=commune(db, "Sauvain").id)
    make_registration(event, needs_ride=True, commune_id=commune(db, "Sauvain").id)
    make_registration(event, needs_ride=True, commune_id=commune(db, "Boën-sur-Lignon").id)
    without = make_registration(event, needs_ride=True)
    carpool.request_ride(without, seats=1, pickup_text="Hameau des Places")
    board = carpool.board(event)
    assert [(d.pickup, d.seats) for d in board.demand] == [
        ("Place de la mairie, Boën-sur-Lignon", 1),
        ("Place de la mairie, Sauvain", 3),
        ("Hameau des Places", 1),
    ]
    assert [r.id for r in board.rides] == [ride.id]


def test_waiting_people_are_not_in_the_demand_until_promoted(db):
    event = make_event(capacity=1)
    first = make_registration(event)
    waiting = make_registration(event, needs_ride=True, commune_id=commune(db, "Trelins").id)
    assert carpool.board(event).demand == []
    event_service.cancel_registration(first)
    assert waiting.status == "confirmed"
    assert [d.pickup for d in carpool.board(event).demand] == ["Place de la mairie, Trelins"]


def test_withdrawing_a_request(db, event):
    registration = make_registration(event, needs_ride=True, commune_id=commune(db, "Arthun").id)
    carpool.cancel_request(registration)
    assert registration.needs_ride is False and registration.ride_request.status == "cancelled"
    assert carpool.board(event).demand == []


def test_request_seats_are_at_most_the_party(db, event):
    registration = make_registration(event, people=2)
    with pytest.raises(ValueError):
        carpool.request_ride(registration, seats=3, pickup_text="Ici")
