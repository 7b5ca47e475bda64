"""Carpools: drivers offer seats from a pickup point, passengers book them or leave a request.

Seats are counted under the event's lock (`events.lock_event`), the same lock as places, so that
two passengers booking the last seat at the same moment never both get it. Whoever depends on
a change is told by e-mail: the driver when a seat is booked or given up, the passengers when a
ride is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from flask_babel import format_time, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.calendar import PARIS
from app.core.columns import utcnow
from app.core.extensions import db
from app.core.mail import queue_mail
from app.events import rules
from app.events.errors import (
    AlreadyBooked,
    AlreadyOffering,
    CarpoolClosed,
    InvalidRide,
    NotConfirmed,
    RegistrationCancelled,
    RideFull,
)
from app.events.models import (
    MAX_PEOPLE,
    MAX_SEATS,
    Booking,
    Event,
    PickupPoint,
    Registration,
    Ride,
    RideRequest,
)

# --- Reading -------------------------------------------------------------------------------


def pickup_points() -> list[PickupPoint]:
    """The association's pickup points, Boën-sur-Lignon's town-hall square first."""
    return list(
        db.session.scalars(select(PickupPoint).order_by(PickupPoint.position, PickupPoint.id))
    )


def default_point(commune_id: int | None) -> PickupPoint | None:
    """The town-hall square of a commune, where a passenger most likely leaves from."""
    if commune_id is None:
        return None
    return db.session.scalar(
        select(PickupPoint)
        .where(PickupPoint.commune_id == commune_id)
        .order_by(PickupPoint.position)
        .limit(1)
    )


def seats_taken(ride_id: int, except_booking_id: int | None = None) -> int:
    statement = select(func.coalesce(func.sum(Booking.seats), 0)).where(
        Booking.ride_id == ride_id, Booking.status == "booked"
    )
    if except_booking_id is not None:
        statement = statement.where(Booking.id != except_booking_id)
    return int(db.session.scalar(statement) or 0)


def open_ride_of(registration_id: int) -> Ride | None:
    return db.session.scalar(
        select(Ride)
        .where(Ride.driver_id == registration_id, Ride.status == "open")
        .order_by(Ride.id)
        .limit(1)
    )


def active_booking_of(registration_id: int) -> Booking | None:
    return db.session.scalar(
        select(Booking)
        .join(Ride)
        .where(
            Booking.registration_id == registration_id,
            Booking.status == "booked",
            Ride.status == "open",
        )
        .limit(1)
    )


@dataclass
class Demand:
    """Passengers without a seat yet, leaving from one pickup point."""

    pickup: str
    seats: int = 0
    requests: list[RideRequest] = field(default_factory=list)


@dataclass
class Board:
    rides: list[Ride]
    demand: list[Demand]

    @property
    def is_empty(self) -> bool:
        return not self.rides and not self.demand


def board(event: Event) -> Board:
    """Open rides (with the seats left) and open requests grouped by pickup point, in the
    association's order of pickup points, free-text places last."""
    rides = list(
        db.session.scalars(
            select(Ride)
            .join(Registration, Ride.driver_id == Registration.id)
            .where(
                Ride.event_id == event.id, Ride.status == "open", Registration.status == "confirmed"
            )
            .order_by(Ride.departs_at, Ride.id)
        )
    )
    requests = db.session.scalars(
        select(RideRequest)
        .join(Registration, RideRequest.registration_id == Registration.id)
        .outerjoin(PickupPoint, RideRequest.pickup_point_id == PickupPoint.id)
        .where(
            RideRequest.event_id == event.id,
            RideRequest.status == "open",
            Registration.status == "confirmed",
        )
        .order_by(
            PickupPoint.position.is_(None),
            PickupPoint.position,
            RideRequest.pickup_text,
            RideRequest.id,
        )
    )
    demand: dict[str, Demand] = {}
    for request in requests:
        group = demand.setdefault(request.pickup, Demand(request.pickup))
        group.seats += request.seats
        group.requests.append(request)
    return Board(rides, list(demand.values()))


# --- Drivers -------------------------------------------------------------------------------


def departure_time(event: Event, at: time) -> datetime:
    """A time of day typed by the driver, on the event's day in Europe/Paris."""
    local_day = event.starts_at.astimezone(PARIS).date()
    return datetime.combine(local_day, at, PARIS)


def offer_ride(
    registration: Registration,
    *,
    departure: time,
    seats: int,
    pickup_point_id: int | None = None,
    pickup_text: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Ride:
    """Offer seats in one's car. The ride leaves on the event's day, before it starts."""
    event = _lock_for_carpool(registration, now)
    if not 1 <= seats <= MAX_SEATS:
        raise ValueError(f"seats must be between 1 and {MAX_SEATS}")
    if pickup_point_id is None and not pickup_text.strip():
        raise ValueError("a ride needs a pickup point or a place")
    if open_ride_of(registration.id) is not None:
        raise AlreadyOffering()
    departs_at = departure_time(event, departure)
    if departs_at >= event.starts_at:
        raise InvalidRide(
            _l(
                "The ride must leave before the event starts (%(time)s).",
                time=format_time(event.starts_at, "HH:mm"),
            )
        )
    if departs_at <= (now or utcnow()):
        raise InvalidRide(_l("This departure time has already passed."))
    ride = Ride(
        event_id=event.id,
        driver_id=registration.id,
        pickup_point_id=pickup_point_id,
        pickup_text="" if pickup_point_id else pickup_text.strip(),
        departs_at=departs_at,
        seats=seats,
        note=note.strip(),
        status="open",
    )
    registration.offers_ride = True
    db.session.add(ride)
    db.session.flush()
    return ride


def cancel_ride(ride: Ride, now: datetime | None = None) -> None:
    """The driver cannot go: the passengers' seats are freed and each passenger is told."""
    _lock_for_carpool(ride.driver, now, need_confirmed=False)
    db.session.refresh(ride)
    if ride.status != "open":
        return
    ride.driver.offers_ride = False
    _cancel_ride(ride)


def _cancel_ride(ride: Ride) -> None:
    ride.status = "cancelled"
    for booking in db.session.scalars(
        select(Booking).where(Booking.ride_id == ride.id, Booking.status == "booked")
    ):
        booking.status = "cancelled"
        db.session.flush()
        passenger = booking.registration
        sync_request(passenger)
        if passenger.email:
            queue_mail(
                passenger.email,
                "event_ride_cancelled",
                passenger.language,
                ride=ride,
                event=ride.event,
                registration=passenger,
                private_url=rules.private_url(passenger),
            )
    db.session.flush()


# --- Passengers ----------------------------------------------------------------------------


def book(
    ride: Ride, registration: Registration, seats: int, now: datetime | None = None
) -> Booking:
    """Book seats in a ride; never more than it has left, even when others book at the same moment."""
    _lock_for_carpool(registration, now)
    db.session.refresh(ride)
    if ride.event_id != registration.event_id or ride.status != "open":
        raise InvalidRide(_l("This ride is not available any more."))
    if ride.driver_id == registration.id:
        raise InvalidRide(_l("You cannot book a seat in your own car."))
    if not 1 <= seats <= registration.people:
        raise ValueError("seats must be between 1 and the party's size")
    current = active_booking_of(registration.id)
    if current is not None and current.ride_id != ride.id:
        raise AlreadyBooked()
    booking = current or db.session.scalar(
        select(Booking).where(
            Booking.ride_id == ride.id, Booking.registration_id == registration.id
        )
    )
    left = ride.seats - seats_taken(ride.id, except_booking_id=booking.id if booking else None)
    if seats > left:
        raise RideFull(max(left, 0), _ride_full_message(max(left, 0)))
    if booking is None:
        booking = Booking(
            ride_id=ride.id, registration_id=registration.id, seats=seats, status="booked"
        )
        db.session.add(booking)
    else:
        booking.seats, booking.status = seats, "booked"
    registration.needs_ride = True
    db.session.flush()
    sync_request(registration)
    driver = ride.driver
    if driver.email:
        queue_mail(
            driver.email,
            "event_ride_booked",
            driver.language,
            ride=ride,
            event=ride.event,
            passenger=registration,
            seats=seats,
            private_url=rules.private_url(driver),
        )
    return booking


def cancel_booking(booking: Booking, now: datetime | None = None) -> None:
    """Give up a seat: the driver is told, and the passenger's request for a ride reopens."""
    _lock_for_carpool(booking.registration, now, need_confirmed=False)
    db.session.refresh(booking)
    if booking.status != "booked":
        return
    _cancel_booking(booking)


def _cancel_booking(booking: Booking) -> None:
    booking.status = "cancelled"
    db.session.flush()
    sync_request(booking.registration)
    ride, driver = booking.ride, booking.ride.driver
    if ride.status == "open" and driver.email:
        queue_mail(
            driver.email,
            "event_booking_cancelled",
            driver.language,
            ride=ride,
            event=ride.event,
            passenger=booking.registration,
            seats=booking.seats,
            private_url=rules.private_url(driver),
        )


def request_ride(
    registration: Registration,
    *,
    seats: int,
    pickup_point_id: int | None = None,
    pickup_text: str = "",
    now: datetime | None = None,
) -> RideRequest:
    """ "I need a ride from there": drivers see the demand per pickup point."""
    _lock_for_carpool(registration, now)
    if not 1 <= seats <= min(registration.people, MAX_PEOPLE):
        raise ValueError("seats must be between 1 and the party's size")
    if pickup_point_id is None and not pickup_text.strip():
        raise ValueError("a request needs a pickup point or a place")
    request = db.session.scalar(
        select(RideRequest).where(RideRequest.registration_id == registration.id)
    )
    if request is None:
        request = RideRequest(event_id=registration.event_id, registration_id=registration.id)
        db.session.add(request)
    request.pickup_point_id = pickup_point_id
    request.pickup_text = "" if pickup_point_id else pickup_text.strip()
    request.seats = seats
    request.status = "matched" if active_booking_of(registration.id) else "open"
    registration.needs_ride = True
    db.session.flush()
    return request


def cancel_request(registration: Registration, now: datetime | None = None) -> None:
    _lock_for_carpool(registration, now, need_confirmed=False)
    registration.needs_ride = False
    sync_request(registration)


# --- Kept in step with the registration ----------------------------------------------------


def sync_request(registration: Registration) -> None:
    """Open a request for a confirmed registrant who needs a ride and has no seat (from their
    commune's town-hall square unless they chose a point); close it otherwise."""
    request = db.session.scalar(
        select(RideRequest).where(RideRequest.registration_id == registration.id)
    )
    booked = active_booking_of(registration.id) is not None
    wanted = registration.status == "confirmed" and registration.needs_ride and not booked
    if wanted:
        if request is None:
            point = default_point(registration.commune_id)
            if point is None:
                return  # no commune: the private page asks where they would leave from
            request = RideRequest(
                event_id=registration.event_id,
                registration_id=registration.id,
                pickup_point_id=point.id,
                seats=registration.people,
            )
            db.session.add(request)
        request.status = "open"
        request.seats = min(request.seats, registration.people)
    elif request is not None and request.status == "open":
        request.status = "matched" if booked else "cancelled"
    db.session.flush()


def follow_needs(registration: Registration) -> None:
    """After a change of the registration: no ride needed gives up the seat, no ride offered
    cancels the ride, fewer people hold fewer seats."""
    booking = active_booking_of(registration.id)
    if booking is not None and not registration.needs_ride:
        _cancel_booking(booking)
    elif booking is not None and booking.seats > registration.people:
        booking.seats = registration.people
    ride = open_ride_of(registration.id)
    if ride is not None and not registration.offers_ride:
        _cancel_ride(ride)
    sync_request(registration)


def release(registration: Registration) -> None:
    """A cancelled registration gives up its seat and its ride, and closes its request."""
    booking = active_booking_of(registration.id)
    if booking is not None:
        _cancel_booking(booking)
    ride = open_ride_of(registration.id)
    if ride is not None:
        _cancel_ride(ride)
    sync_request(registration)


def _lock_for_carpool(
    registration: Registration, now: datetime | None, need_confirmed: bool = True
) -> Event:
    event = rules.lock_event(registration.event_id)
    db.session.refresh(registration)
    if not event.carpool:
        raise CarpoolClosed()
    rules.check_not_started(event, now)
    if registration.status == "cancelled":
        raise RegistrationCancelled()
    if need_confirmed and registration.status != "confirmed":
        raise NotConfirmed()
    return event


def _ride_full_message(left: int):
    if left == 0:
        return _l("Sorry, this car is full now.")
    return ngettext(
        "Only %(num)d seat left in this car.", "Only %(num)d seats left in this car.", left
    )
