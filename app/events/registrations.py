"""Events: registration with a capacity counted in people, the waiting list, changes and
cancellations, reminders, and the calendar (ICS) and spreadsheet (CSV) exports.

Every operation that counts places and then writes takes the event's lock first
(`lock_event`), so that two people registering at the same moment never both get the last
place. On PostgreSQL that is a row lock (`SELECT ... FOR UPDATE`); on SQLite the request already
holds the database's write lock (`BEGIN IMMEDIATE`, see app/core/database.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import format_datetime, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select

from app.core import calendar
from app.core.calendar import PARIS
from app.core.columns import utcnow
from app.core.extensions import db
from app.core.mail import queue_mail
from app.core.spreadsheet import french_csv
from app.events import carpool
from app.events.errors import (
    AlreadyRegistered,
    NotEnoughPlaces,
    RegistrationCancelled,
    RegistrationClosed,
)
from app.events.models import MAX_PEOPLE, Event, Registration
from app.events.rules import CLOSED_MESSAGES, check_not_started, event_url, lock_event, private_url

# --- Reading -------------------------------------------------------------------------------


def confirmed_people(event_id: int) -> int:
    total = db.session.scalar(
        select(func.coalesce(func.sum(Registration.people), 0)).where(
            Registration.event_id == event_id, Registration.status == "confirmed"
        )
    )
    return int(total or 0)


def people_by_event(event_ids: Iterable[int]) -> dict[int, int]:
    """Confirmed people per event, in one query (for lists)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Registration.event_id, func.sum(Registration.people))
        .where(Registration.event_id.in_(ids), Registration.status == "confirmed")
        .group_by(Registration.event_id)
    )
    return {event_id: int(total) for event_id, total in rows}


def places_left(event: Event, confirmed: int | None = None) -> int | None:
    """Places still free, or None for an event without a capacity."""
    if event.capacity is None:
        return None
    taken = confirmed_people(event.id) if confirmed is None else confirmed
    return max(event.capacity - taken, 0)


def waiting_list(event: Event) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status == "waiting")
            .order_by(Registration.position, Registration.id)
        )
    )


def attendees(event: Event) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status == "confirmed")
            .order_by(func.lower(Registration.name), Registration.id)
        )
    )


def upcoming(
    limit: int | None = None, now: datetime | None = None, include_cancelled: bool = True
) -> list[Event]:
    """Published events that have not ended, soonest first (cancelled ones stay listed, marked)."""
    now = now or utcnow()
    statuses = ("published", "cancelled") if include_cancelled else ("published",)
    statement = (
        select(Event)
        .where(Event.status.in_(statuses), Event.ends_at >= now)
        .order_by(Event.starts_at, Event.id)
    )
    if limit:
        statement = statement.limit(limit)
    return list(db.session.scalars(statement))


def past(now: datetime | None = None) -> list[Event]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.status.in_(("published", "cancelled")), Event.ends_at < now)
            .order_by(Event.starts_at.desc(), Event.id.desc())
        )
    )


def by_month(items: Iterable, key=lambda item: item) -> list[tuple[date, list]]:
    """Group events (or items holding one, found by `key`) by month in Europe/Paris, in order."""
    groups: list[tuple[date, list]] = []
    for item in items:
        local = key(item).starts_at.astimezone(PARIS)
        month = date(local.year, local.month, 1)
        if not groups or groups[-1][0] != month:
            groups.append((month, []))
        groups[-1][1].append(item)
    return groups


def registration_of_member(event: Event, member_id: int | None) -> Registration | None:
    if member_id is None:
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.member_id == member_id,
            Registration.status != "cancelled",
        )
    )


# --- Whether registrations are open -------------------------------------------------------------


def registration_state(event: Event, now: datetime | None = None) -> str:
    """open, draft, cancelled, disabled (no registration needed), past, not_yet or closed."""
    now = now or utcnow()
    if event.status != "published":
        return event.status
    if event.starts_at <= now:
        return "past"
    if not event.registration_enabled:
        return "disabled"
    if event.registration_opens_at and now < event.registration_opens_at:
        return "not_yet"
    if event.registration_closes_at and now >= event.registration_closes_at:
        return "closed"
    return "open"


def closed_message(event: Event, state: str):
    if state == "not_yet":
        opens = format_datetime(event.registration_opens_at, "d MMMM y, HH:mm")
        return _l("Registrations open on %(date)s.", date=opens)
    return CLOSED_MESSAGES.get(state, CLOSED_MESSAGES["closed"])


def check_open(event: Event, now: datetime | None = None) -> None:
    state = registration_state(event, now)
    if state != "open":
        raise RegistrationClosed(closed_message(event, state), state=state)


# --- Contact details typed by people ------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s.\-/()]")
_FRENCH = re.compile(r"^0[1-9]\d{8}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{7,14}$")


def normalise_phone(text: str | None) -> str | None:
    """`06.12.34.56.78` -> `06 12 34 56 78`; `+33 6 ...` -> `06 ...`; other countries kept in
    international form. Returns None for empty input, raises ValueError for anything else."""
    raw = _PHONE_SEPARATORS.sub("", text or "")
    if not raw:
        return None
    if raw.startswith("0033"):
        raw = "+" + raw[2:]
    if raw.startswith("+33") and len(raw) == 12:
        raw = "0" + raw[3:]
    if _FRENCH.match(raw):
        return " ".join(raw[i : i + 2] for i in range(0, 10, 2))
    if _INTERNATIONAL.match(raw):
        return raw
    raise ValueError(raw)


def normalise_email(text: str | None) -> str | None:
    cleaned = (text or "").strip().lower()
    return cleaned or None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_key() -> str:
    """The idempotency key of a registration form, made when the form is shown."""
    return secrets.token_urlsafe(16)


# --- Registering, changing, cancelling ----------------------------------------------------------


@dataclass
class Outcome:
    """What a registration came to: `created` is False when an earlier one was updated, or left
    as it was (`unchanged`)."""

    registration: Registration
    created: bool
    promoted: list[Registration]
    unchanged: bool = False
    replayed: bool = False


def register(
    event: Event,
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    commune_id: int | None = None,
    people: int = 1,
    needs_ride: bool = False,
    offers_ride: bool = False,
    language: str = "fr",
    member_id: int | None = None,
    created_by_id: int | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Register someone, on the waiting list when the places left do not fit their party.

    An e-mail address (or a member) already registered for the event is not registered twice.
    A coordinator (`created_by_id`) registering it again updates the earlier registration. Its
    owner (the same member) gets it back unchanged (`Outcome.unchanged`): the registration form's
    defaults must not reset the party or the ride needs, which are changed from its private page.
    Anyone else may have typed someone else's address: the registration is neither changed nor
    shown to them, its private link goes to that address instead, and `AlreadyRegistered` is
    raised (commit, so that the mail leaves).

    `key` is the form's idempotency key: the same form sent again (a double click, a resend)
    gets back the registration it made (`Outcome.replayed`), and nothing else happens. Checked
    under the event's lock, so that two copies sent at once register once.
    """
    event = lock_event(event.id)
    if key is not None:
        done = db.session.scalar(select(Registration).where(Registration.idempotency_key == key))
        if done is not None:
            return Outcome(done, False, [], replayed=True)
    check_open(event, now)
    email, phone = normalise_email(email), normalise_phone(phone)
    if not email and not phone:
        raise ValueError("a registration needs an e-mail or a phone")
    _check_people(people)
    existing = _find_existing(event, email, member_id)
    if existing is not None and existing.status != "cancelled":
        if created_by_id is None:
            if member_id is None or existing.member_id != member_id:
                _mail_registration(existing, updated=False, resent=True)
                raise AlreadyRegistered()
            return Outcome(existing, False, [], unchanged=True)
        existing.name, existing.phone = name, phone or existing.phone
        existing.commune_id = commune_id
        if member_id:
            existing.member_id = member_id
        promoted = _change(
            event, existing, people=people, needs_ride=needs_ride, offers_ride=offers_ride
        )
        _mail_registration(existing, updated=True)
        return Outcome(existing, False, promoted)

    # Where the party goes is decided before the new row exists, so that it does not count itself.
    status, position = _placement(event, people)
    registration = existing or Registration(event_id=event.id, token=new_token())
    registration.status, registration.position = status, position
    registration.name, registration.email, registration.phone = name, email, phone
    registration.commune_id, registration.people = commune_id, people
    registration.needs_ride, registration.offers_ride = needs_ride, offers_ride
    registration.language, registration.cancelled_at = language, None
    registration.member_id = member_id or registration.member_id
    registration.created_by_id = created_by_id
    registration.idempotency_key = key
    db.session.add(registration)
    db.session.flush()
    carpool.sync_request(registration)
    _mail_registration(registration, updated=existing is not None)
    return Outcome(registration, existing is None, [])


def update_registration(
    registration: Registration,
    *,
    people: int,
    needs_ride: bool,
    offers_ride: bool,
    now: datetime | None = None,
) -> list[Registration]:
    """Change the party size or the ride needs from the private link; returns who got promoted.

    More people need the places to be free (else `NotEnoughPlaces`); fewer people free places
    for the waiting list. Unticking "I need a ride" gives up a booked seat; unticking "I can
    offer a ride" cancels the ride offered (the people concerned are told).
    """
    event = lock_event(registration.event_id)
    db.session.refresh(registration)
    if registration.status == "cancelled":
        raise RegistrationCancelled()
    if people > registration.people:
        check_open(event, now)
    else:
        check_not_started(event, now)
    _check_people(people)
    return _change(
        event, registration, people=people, needs_ride=needs_ride, offers_ride=offers_ride
    )


def cancel_registration(
    registration: Registration, now: datetime | None = None
) -> list[Registration]:
    """Cancel, free the places and the carpool seats, promote the waiting list; returns the promoted."""
    event = lock_event(registration.event_id)
    db.session.refresh(registration)
    if registration.status == "cancelled":
        return []
    check_not_started(event, now)
    registration.status, registration.position = "cancelled", None
    registration.cancelled_at = utcnow()
    carpool.release(registration)
    db.session.flush()
    promoted = promote(event)
    if registration.email:
        queue_mail(
            registration.email,
            "event_cancelled",
            registration.language,
            registration=registration,
            event=event,
            event_url=event_url(event),
        )
    return promoted


def forget_person(member_id: int | None, emails: Iterable[str]) -> set[str]:
    """Erasure: cancel the person's registrations to events not started yet (their places and
    seats go to others, as for any cancellation), then delete all their registrations, with their
    rides, bookings and ride requests (the database cascades). Returns the e-mail addresses those
    registrations held, so that the caller can delete mail to them too."""
    emails = {e for e in emails if e}
    conditions = []
    if member_id is not None:
        conditions.append(Registration.member_id == member_id)
    if emails:
        conditions.append(Registration.email.in_(emails))
    if not conditions:
        return set()
    registrations = db.session.scalars(select(Registration).where(or_(*conditions))).all()
    now = utcnow()
    for registration in registrations:
        if registration.status != "cancelled" and registration.event.starts_at > now:
            cancel_registration(registration, now)
    ids = [registration.id for registration in registrations]
    addresses = {registration.email for registration in registrations if registration.email}
    if ids:
        db.session.flush()
        db.session.execute(
            delete(Registration).where(Registration.id.in_(ids)),
            execution_options={"synchronize_session": False},
        )
        db.session.expire_all()
    return addresses


def promote(event: Event) -> list[Registration]:
    """Give freed places to the waiting list: in order, skipping parties too large for what is
    free (a party of four does not block a single person behind it). Tells those promoted."""
    free = places_left(event)
    promoted = []
    for waiting in waiting_list(event):
        if free is not None and waiting.people > free:
            continue
        waiting.status, waiting.position = "confirmed", None
        promoted.append(waiting)
        if free is not None:
            free -= waiting.people
    db.session.flush()
    _renumber(event)
    for registration in promoted:
        carpool.sync_request(registration)
        if registration.email:
            queue_mail(
                registration.email,
                "event_promoted",
                registration.language,
                registration=registration,
                event=event,
                private_url=private_url(registration),
            )
    return promoted


def _find_existing(event: Event, email: str | None, member_id: int | None) -> Registration | None:
    """The member's own registration first, else the one of the address (cancelled ones too)."""
    own = registration_of_member(event, member_id)
    if own is not None or not email:
        return own
    return db.session.scalar(
        select(Registration).where(Registration.event_id == event.id, Registration.email == email)
    )


def _check_people(people: int) -> None:
    if not 1 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be between 1 and {MAX_PEOPLE}")


def _placement(event: Event, people: int) -> tuple[str, int | None]:
    """Confirmed if the party fits in the places left, else last on the waiting list."""
    free = places_left(event)
    if free is None or people <= free:
        return "confirmed", None
    last = db.session.scalar(
        select(func.max(Registration.position)).where(
            Registration.event_id == event.id, Registration.status == "waiting"
        )
    )
    return "waiting", (last or 0) + 1


def _change(
    event: Event, registration: Registration, *, people: int, needs_ride: bool, offers_ride: bool
):
    if registration.status == "confirmed" and people > registration.people:
        free = places_left(event)
        if free is not None and people - registration.people > free:
            if free == 0:
                raise NotEnoughPlaces(free, _l("No place is left: your party cannot grow."))
            raise NotEnoughPlaces(
                free,
                " ".join(
                    (
                        ngettext(
                            "Only %(num)d place is left.", "Only %(num)d places are left.", free
                        ),
                        ngettext(
                            "Your party can be at most %(num)d person.",
                            "Your party can be at most %(num)d people.",
                            registration.people + free,
                        ),
                    )
                ),
            )
    registration.people = people
    registration.needs_ride, registration.offers_ride = needs_ride, offers_ride
    carpool.follow_needs(registration)
    db.session.flush()
    return promote(event)


def _renumber(event: Event) -> None:
    """Waiting positions stay 1, 2, 3, ... after promotions and cancellations."""
    for position, registration in enumerate(waiting_list(event), start=1):
        registration.position = position
    db.session.flush()


def _mail_registration(registration: Registration, updated: bool, resent: bool = False) -> None:
    """The confirmation with the private link; `resent`: the same again, because someone typed
    this address to register once more."""
    if registration.email:
        queue_mail(
            registration.email,
            "event_registered",
            registration.language,
            registration=registration,
            event=registration.event,
            updated=updated,
            resent=resent,
            private_url=private_url(registration),
        )


# --- Reminders ----------------------------------------------------------------------------------


def send_reminders(today: date | None = None) -> int:
    """Queue the reminder of the day before for every event of tomorrow (Europe/Paris) to its
    confirmed registrants with an e-mail, drivers included. Each person gets it once: a second
    run the same day queues nothing. Returns the number of messages queued."""
    today = today or calendar.today()
    tomorrow = today + timedelta(days=1)
    start = datetime.combine(tomorrow, time(0), PARIS)
    end = datetime.combine(tomorrow + timedelta(days=1), time(0), PARIS)
    event_ids = db.session.scalars(
        select(Event.id)
        .where(Event.status == "published", Event.starts_at >= start, Event.starts_at < end)
        .order_by(Event.starts_at)
    ).all()
    queued = 0
    for event_id in event_ids:
        event = lock_event(event_id)
        pending = db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == "confirmed",
                Registration.email.is_not(None),
                Registration.reminded_at.is_(None),
            )
            .order_by(Registration.id)
        ).all()
        for registration in pending:
            queue_mail(
                registration.email,
                "event_reminder",
                registration.language,
                registration=registration,
                event=event,
                ride=registration.open_ride,
                booking=registration.active_booking,
                private_url=private_url(registration),
            )
            registration.reminded_at = utcnow()
            queued += 1
        db.session.flush()
    return queued


# --- Calendar (ICS) -----------------------------------------------------------------------------


def uid(event: Event) -> str:
    return f"event-{event.id}@patias"


def calendar_ics(events: list[Event], name: str, language: str = "fr") -> bytes:
    """An iCalendar file: stable UIDs, times in Europe/Paris with its VTIMEZONE, and SEQUENCE
    and LAST-MODIFIED so that calendar apps replace an event they imported instead of adding it
    again."""
    from icalendar import Calendar
    from icalendar import Event as VEvent

    calendar = Calendar()
    calendar.add("prodid", "-//SSA PATIAS//events//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Paris")
    for event in events:
        entry = VEvent()
        entry.add("uid", uid(event))
        entry.add("summary", getattr(event, f"title_{language}") or event.title_fr)
        entry.add("dtstart", event.starts_at.astimezone(PARIS))
        entry.add("dtend", event.ends_at.astimezone(PARIS))
        modified = (event.updated_at or event.created_at).astimezone(ZoneInfo("UTC"))
        entry.add("dtstamp", modified)
        entry.add("last-modified", modified)
        entry.add("sequence", event.sequence)
        location = ", ".join(
            part for part in (event.place_name, event.address, event.locality) if part
        )
        if location:
            entry.add("location", location)
        description = getattr(event, f"description_{language}") or event.description_fr
        entry.add("description", f"{description}\n\n{event_url(event)}".strip())
        entry.add("url", event_url(event))
        entry.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
        calendar.add_component(entry)
    if events:
        first = min(e.starts_at for e in events).astimezone(PARIS).date() - timedelta(days=366)
        last = max(e.ends_at for e in events).astimezone(PARIS).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


# --- Organisers' spreadsheet (CSV) --------------------------------------------------------------


def attendees_csv(event: Event, headers: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a byte-order mark and `;` separators: what French Excel and LibreOffice open
    right with a double click."""
    return french_csv(headers, rows)
