"""What registrations and carpools both rely on: the event's write lock, the rule that changes
stop when the event starts, and the private links written into e-mails.

Every operation that counts places and then writes takes the event's lock first (`lock_event`),
so that two people registering at the same moment never both get the last place. On PostgreSQL
that is a row lock (`SELECT ... FOR UPDATE`); on SQLite the request already holds the database's
write lock (`BEGIN IMMEDIATE`, see app/core/database.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.columns import utcnow
from app.core.extensions import db
from app.events.errors import PrivateLinkExpired, RegistrationClosed
from app.events.models import Event, Registration


def lock_event(event_id: int) -> Event:
    """Load the event for writing, serialising every writer of its registrations and rides."""
    statement = (
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.execute(statement).scalar_one()


CLOSED_MESSAGES = {
    "draft": _l("This event is not published yet: registrations are not open."),
    "cancelled": _l("This event is cancelled."),
    "disabled": _l("This event needs no registration: just come along."),
    "past": _l("This event has already taken place."),
    "closed": _l("Registrations for this event are closed."),
}


def check_not_started(event: Event, now: datetime | None = None) -> None:
    """Cancelling and carpool changes are possible until the event starts."""
    now = now or utcnow()
    if event.status == "draft":
        raise RegistrationClosed(CLOSED_MESSAGES["draft"], state="draft")
    if event.starts_at <= now:
        raise RegistrationClosed(CLOSED_MESSAGES["past"], state="past")


# A private link opens until this long after the event's end: a forwarded old mail then leads
# nowhere, and the page stops showing names and e-mails of a long-past event.
LINK_LIFETIME_AFTER_EVENT = timedelta(days=30)


def registration_by_token(token: str, now: datetime | None = None) -> Registration | None:
    """The registration of a private link (None: no such link); `PrivateLinkExpired` once its
    event ended more than `LINK_LIFETIME_AFTER_EVENT` before `now`."""
    registration = db.session.scalar(select(Registration).where(Registration.token == token))
    if registration is None:
        return None
    if registration.event.ends_at + LINK_LIFETIME_AFTER_EVENT < (now or utcnow()):
        raise PrivateLinkExpired()
    return registration


def private_url(registration: Registration) -> str:
    """The private link, absolute (for e-mails written outside any request)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/inscription/{registration.token}"


def event_url(event: Event) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/evenements/{event.slug}"
