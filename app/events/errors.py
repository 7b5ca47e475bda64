"""Refusals of registrations and carpools: all answered with 409, the event's state refuses them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class RegistrationClosed(DomainError):
    """Draft, cancelled, past or not-yet-open events, and closed registrations."""

    message = _l("Registrations for this event are closed.")
    status = 409


class RegistrationCancelled(DomainError):
    message = _l("This registration was cancelled.")
    status = 409


class AlreadyRegistered(DomainError):
    """An e-mail address already registered for the event, typed by someone who may not own it:
    nothing was changed and the registration stays hidden; its private link went to that address
    (the mail is queued: kept)."""

    message = _l(
        "This e-mail address is already registered for this event: we have sent the link to manage "
        "the registration to it."
    )
    status = 409
    keeps_side_effects = True


class NotEnoughPlaces(DomainError):
    """A confirmed registration asked for more people than there are places left."""

    message = _l("No place is left: your party cannot grow.")
    status = 409

    def __init__(self, places_left: int, message=None):
        super().__init__(message, places_left=places_left)
        self.places_left = places_left


class NotConfirmed(DomainError):
    """Carpools are for people who have a place, not for the waiting list."""

    message = _l("Carpools are open once your place is confirmed.")
    status = 409


class CarpoolClosed(DomainError):
    message = _l("There is no carpool for this event.")
    status = 409


class InvalidRide(DomainError):
    """A departure after the event's start, or a ride that is not open any more."""

    message = _l("This ride is not available any more.")
    status = 409


class AlreadyOffering(DomainError):
    message = _l("You already offer a ride for this event: cancel it first to offer another.")
    status = 409


class RideFull(DomainError):
    message = _l("Sorry, this car is full now.")
    status = 409

    def __init__(self, seats_left: int, message=None):
        super().__init__(message, seats_left=seats_left)
        self.seats_left = seats_left


class AlreadyBooked(DomainError):
    message = _l("You already have a seat in another car: cancel it first.")
    status = 409


class InvalidPickupPoint(DomainError):
    """A carpool pickup point the back office refuses (empty name, unknown commune)."""

    message = _l("Check the pickup point’s name and commune.")


class PickupPointExists(DomainError):
    message = _l("A pickup point already has this name.")


class PickupPointInUse(DomainError):
    """Rides or requests for a ride start there: removing it would lose where they meet."""

    message = _l("Rides or ride requests start at this pickup point: it cannot be removed.")
    status = 409


class PrivateLinkExpired(DomainError):
    """A registration's private link, 30 days after its event ended: it no longer opens."""

    message = _l(
        "This link has expired: the event ended more than 30 days ago. "
        "Write to the association if you need anything about it."
    )
    status = 404  # as for a link that never existed, with this message
