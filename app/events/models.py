"""Events (working-group meetings, cooking workshops, ...), registrations with a waiting list,
and the carpools that bring people from the town-hall squares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import Localized, Timestamped, UTCDateTime, utcnow
from app.core.extensions import db
from app.members.models import Commune

EVENT_KINDS = ("meeting", "workshop", "screening", "party", "visit", "other")
EVENT_STATUSES = ("draft", "published", "cancelled")
REGISTRATION_STATUSES = ("confirmed", "waiting", "cancelled")
MAX_PEOPLE = 6
MAX_SEATS = 8


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Event(Localized, Timestamped, db.Model):
    """Something the association organises. Times are stored in UTC and shown in Europe/Paris.

    `capacity` counts people (a registration may bring up to six); None means no limit.
    `sequence` and `updated_at` let calendar apps replace an event they imported.
    """

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="meeting")
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place_name: Mapped[str] = mapped_column(String(160), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # Events outside the 21 communes (a festival in a neighbouring town) have no commune, a town.
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"), nullable=True)
    town: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None] = mapped_column(nullable=True)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    registration_enabled: Mapped[bool] = mapped_column(default=True)
    carpool: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    commune = relationship("Commune")
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="event", order_by="Registration.id", cascade="all, delete-orphan"
    )
    rides: Mapped[list[Ride]] = relationship(
        back_populates="event", order_by="Ride.departs_at", cascade="all, delete-orphan"
    )

    @property
    def locality(self) -> str:
        return self.commune.name if self.commune else self.town

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"


# What a calendar app shows: a change to any of these bumps SEQUENCE so that the app replaces its copy.
CALENDAR_FIELDS = (
    "starts_at",
    "ends_at",
    "place_name",
    "address",
    "commune_id",
    "town",
    "status",
    "title_fr",
    "title_en",
    "description_fr",
    "description_en",
)


@event.listens_for(Event, "before_update")
def _bump_sequence(_mapper, _connection, target: Event) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in CALENDAR_FIELDS):
        target.sequence = (target.sequence or 0) + 1


class Registration(Timestamped, db.Model):
    """A person (and up to five companions) coming to an event, or waiting for a place.

    `token` is the secret of the private link `/inscription/<token>`. `position` is the rank on
    the waiting list (1 = next in line), None unless waiting. `reminded_at` marks that the
    reminder of the day before went out, so that it never goes out twice. `idempotency_key` is
    the random key of the registration form that made it: the same form sent twice registers once.
    """

    __tablename__ = "event_registration"
    __table_args__ = (
        CheckConstraint(f"people BETWEEN 1 AND {MAX_PEOPLE}", name="people_range"),
        CheckConstraint(_in("status", REGISTRATION_STATUSES), name="status"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="reachable"),
        CheckConstraint(
            "(status = 'waiting') = (position IS NOT NULL)", name="position_iff_waiting"
        ),
        UniqueConstraint("event_id", "email", name="uq_event_registration_event_id_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"), nullable=True)
    people: Mapped[int] = mapped_column(default=1)
    needs_ride: Mapped[bool] = mapped_column(default=False)
    offers_ride: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="confirmed", index=True)
    position: Mapped[int | None] = mapped_column(nullable=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id"), nullable=True, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    event: Mapped[Event] = relationship(back_populates="registrations")
    commune = relationship("Commune")
    member = relationship("Member")
    rides: Mapped[list[Ride]] = relationship(back_populates="driver", order_by="Ride.id")
    bookings: Mapped[list[Booking]] = relationship(
        back_populates="registration", order_by="Booking.id"
    )
    ride_request: Mapped[RideRequest | None] = relationship(
        back_populates="registration", uselist=False
    )

    @property
    def is_active(self) -> bool:
        return self.status != "cancelled"

    @property
    def open_ride(self) -> Ride | None:
        return next((ride for ride in self.rides if ride.status == "open"), None)

    @property
    def active_booking(self) -> Booking | None:
        return next(
            (b for b in self.bookings if b.status == "booked" and b.ride.status == "open"), None
        )


class Ride(Timestamped, db.Model):
    """A car leaving from a pickup point (or a place described in words) for an event."""

    __tablename__ = "ride"
    __table_args__ = (
        CheckConstraint(f"seats BETWEEN 1 AND {MAX_SEATS}", name="seats_range"),
        CheckConstraint("status IN ('open', 'cancelled')", name="status"),
        CheckConstraint("pickup_point_id IS NOT NULL OR pickup_text <> ''", name="has_pickup"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    driver_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), index=True
    )
    pickup_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("pickup_point.id"), nullable=True
    )
    pickup_text: Mapped[str] = mapped_column(String(160), default="")
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seats: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")

    event: Mapped[Event] = relationship(back_populates="rides")
    driver: Mapped[Registration] = relationship(back_populates="rides")
    pickup_point = relationship("PickupPoint")
    bookings: Mapped[list[Booking]] = relationship(back_populates="ride", order_by="Booking.id")

    @property
    def pickup(self) -> str:
        return self.pickup_point.name if self.pickup_point else self.pickup_text

    @property
    def active_bookings(self) -> list[Booking]:
        return [b for b in self.bookings if b.status == "booked"]

    @property
    def seats_taken(self) -> int:
        return sum(b.seats for b in self.active_bookings)

    @property
    def seats_left(self) -> int:
        return max(self.seats - self.seats_taken, 0) if self.status == "open" else 0


class Booking(Timestamped, db.Model):
    """Seats a passenger holds in a ride. Cancelled bookings stay, for the record."""

    __tablename__ = "ride_booking"
    __table_args__ = (
        CheckConstraint(f"seats BETWEEN 1 AND {MAX_SEATS}", name="seats_range"),
        CheckConstraint("status IN ('booked', 'cancelled')", name="status"),
        UniqueConstraint(
            "ride_id", "registration_id", name="uq_ride_booking_ride_id_registration_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ride_id: Mapped[int] = mapped_column(ForeignKey("ride.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), index=True
    )
    seats: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default="booked")

    ride: Mapped[Ride] = relationship(back_populates="bookings")
    registration: Mapped[Registration] = relationship(back_populates="bookings")


class RideRequest(Timestamped, db.Model):
    """ "I need a ride from there": the demand drivers see on the carpool board.

    One per registration; `status` is open, matched (the person booked a seat) or cancelled.
    """

    __tablename__ = "ride_request"
    __table_args__ = (
        CheckConstraint(f"seats BETWEEN 1 AND {MAX_PEOPLE}", name="seats_range"),
        CheckConstraint("status IN ('open', 'matched', 'cancelled')", name="status"),
        CheckConstraint("pickup_point_id IS NOT NULL OR pickup_text <> ''", name="has_pickup"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), unique=True
    )
    pickup_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("pickup_point.id"), nullable=True
    )
    pickup_text: Mapped[str] = mapped_column(String(160), default="")
    seats: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10), default="open")

    registration: Mapped[Registration] = relationship(back_populates="ride_request")
    pickup_point = relationship("PickupPoint")

    @property
    def pickup(self) -> str:
        return self.pickup_point.name if self.pickup_point else self.pickup_text


class PickupPoint(db.Model):
    """Carpool departure points: the town-hall squares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id"))
    position: Mapped[int] = mapped_column(default=0)

    commune: Mapped[Commune] = relationship()
