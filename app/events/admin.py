"""The back office's events: create, edit, publish, and duplicate for next month.

An event is created as a draft (invisible to the public) and published when ready. Editing what
calendar apps show bumps the event's `sequence` (the model does it), so that they replace it.
Raising the capacity gives the freed places to the waiting list; lowering it below the people
already confirmed is refused (nobody loses a confirmed place silently).

Duplicating for next month keeps the rhythm of monthly meetings: the copy falls on the same
weekday of the same week of the next month ("the second Saturday" stays the second Saturday),
and a fifth weekday that the next month does not have becomes its last one. The local time in
Europe/Paris is kept (across a daylight-saving change too), the registration window moves by
the same number of days, registrations and rides are not copied, and the copy is a draft.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit import log as audit
from app.content.admin import clean_text, slugify, unique_slug
from app.core import ordering
from app.core.calendar import PARIS
from app.core.columns import utcnow
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.i18n import fold
from app.events import registrations as event_service
from app.events import rules
from app.events.errors import InvalidPickupPoint, PickupPointExists, PickupPointInUse
from app.events.models import EVENT_KINDS, Event, PickupPoint, Ride, RideRequest
from app.members.applications import clean_address, clean_line
from app.members.models import Commune

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
MAX_CAPACITY = 10_000
# Event dates: the back-office form takes the years FIRST_YEAR to YEARS_AHEAD years from now (a
# year typed 9999 is a typo); the services keep every date within FIRST_YEAR..LAST_YEAR, so that
# date arithmetic (duplicating for next month) never leaves the calendar.
FIRST_YEAR, LAST_YEAR = 2020, 2100
YEARS_AHEAD = 5


def latest_day(now: datetime | None = None) -> date:
    """The last day the back-office form accepts for an event date (Paris)."""
    return (now or utcnow()).astimezone(PARIS).date() + timedelta(days=365 * YEARS_AHEAD + 1)


def _in_calendar(moment: datetime | None) -> bool:
    return moment is None or FIRST_YEAR <= moment.astimezone(PARIS).year <= LAST_YEAR


@dataclass
class EventData:
    kind: str
    title_fr: str
    title_en: str
    starts_at: datetime
    ends_at: datetime
    description_fr: str = ""
    description_en: str = ""
    place_name: str = ""
    address: str = ""
    commune_id: int | None = None
    town: str = ""
    capacity: int | None = None
    registration_enabled: bool = True
    carpool: bool = True
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None


def admin_list(now: datetime | None = None) -> tuple[list[Event], list[Event]]:
    """(coming: drafts and events not ended, soonest first; past: most recent first)."""
    now = now or utcnow()
    coming = list(
        db.session.scalars(
            select(Event).where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
        )
    )
    past = list(
        db.session.scalars(
            select(Event)
            .where(Event.ends_at < now)
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(50)
        )
    )
    return coming, past


def _clean(data: EventData) -> EventData:
    cleaned = EventData(
        kind=data.kind,
        title_fr=clean_line(data.title_fr)[:TITLE_MAX],
        title_en=clean_line(data.title_en)[:TITLE_MAX],
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        description_fr=clean_text(data.description_fr, DESCRIPTION_MAX),
        description_en=clean_text(data.description_en, DESCRIPTION_MAX),
        place_name=clean_line(data.place_name)[:160],
        address=clean_address(data.address)[:300],
        commune_id=data.commune_id,
        town=clean_line(data.town)[:120],
        capacity=data.capacity,
        registration_enabled=bool(data.registration_enabled),
        carpool=bool(data.carpool),
        registration_opens_at=data.registration_opens_at,
        registration_closes_at=data.registration_closes_at,
    )
    if cleaned.kind not in EVENT_KINDS:
        raise InvalidContent(_l("Choose the kind of event."), field="kind")
    if not cleaned.title_fr:
        raise InvalidContent(_l("Write the title in French."), field="title_fr")
    if not cleaned.title_en:
        raise InvalidContent(_l("Write the title in English."), field="title_en")
    if bool(cleaned.description_fr) != bool(cleaned.description_en):
        field = "description_en" if cleaned.description_fr else "description_fr"
        raise InvalidContent(
            _l("Write the description in both languages, or leave both empty."), field=field
        )
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        moment = getattr(cleaned, name)
        if moment is not None and moment.tzinfo is None:
            raise ValueError("event times must be timezone-aware")
        if not _in_calendar(moment):
            raise InvalidContent(
                _l(
                    "Enter a date between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR
                ),
                field=name,
            )
    if cleaned.ends_at <= cleaned.starts_at:
        raise InvalidContent(_l("The end must be after the start."), field="ends_at")
    if cleaned.ends_at - cleaned.starts_at > timedelta(days=14):
        raise InvalidContent(
            _l("An event lasts at most two weeks: check the end date."), field="ends_at"
        )
    if cleaned.commune_id is not None:
        if db.session.get(Commune, cleaned.commune_id) is None:
            raise InvalidContent(_l("Choose the commune from the list."), field="commune_id")
        cleaned.town = ""
    elif not cleaned.town:
        raise InvalidContent(
            _l("Choose one of the communes, or write the town of the event."), field="town"
        )
    if cleaned.capacity is not None and not 1 <= cleaned.capacity <= MAX_CAPACITY:
        raise InvalidContent(
            _l("The capacity is a number of people between 1 and %(max)d.", max=MAX_CAPACITY),
            field="capacity",
        )
    opens, closes = cleaned.registration_opens_at, cleaned.registration_closes_at
    if closes is not None and closes > cleaned.starts_at:
        raise InvalidContent(
            _l("Registrations must close before the event starts."), field="registration_closes_at"
        )
    if opens is not None and opens >= (closes or cleaned.starts_at):
        raise InvalidContent(
            _l("Registrations must open before they close and before the event."),
            field="registration_opens_at",
        )
    return cleaned


def _new_slug(title_fr: str, starts_at: datetime) -> str:
    day = starts_at.astimezone(PARIS).date().isoformat()
    return unique_slug(Event, f"{slugify(title_fr, 80)}-{day}")


def create_event(data: EventData, actor_id: int | None) -> Event:
    """A new draft event."""
    data = _clean(data)
    event = Event(slug=_new_slug(data.title_fr, data.starts_at), status="draft", **vars(data))
    db.session.add(event)
    db.session.flush()
    _log(actor_id, event, "created")
    return event


def update_event(event: Event, data: EventData, actor_id: int | None) -> list[str]:
    """Change an event; returns the names of the fields that changed."""
    data = _clean(data)
    event = rules.lock_event(event.id)
    confirmed = event_service.confirmed_people(event.id)
    if data.capacity is not None and data.capacity < confirmed:
        raise InvalidContent(
            _l(
                "%(num)d people already have a confirmed place: the capacity cannot be lower.",
                num=confirmed,
            ),
            field="capacity",
        )
    changed = [f.name for f in fields(EventData) if getattr(event, f.name) != getattr(data, f.name)]
    if not changed:
        return []
    more_places = event.capacity is not None and (
        data.capacity is None or data.capacity > event.capacity
    )
    for name in changed:
        setattr(event, name, getattr(data, name))
    db.session.flush()  # the model bumps `sequence` when what calendar apps show has changed
    if more_places:
        event_service.promote(event)
    _log(actor_id, event, "updated", changed=changed)
    return changed


def publish_event(event: Event, actor_id: int | None) -> bool:
    """Make a draft visible to the public; False when it is not a draft."""
    if event.status != "draft":
        return False
    if event.starts_at <= utcnow():
        raise InvalidContent(
            _l("This event has already started: change its date before publishing it.")
        )
    event.status = "published"
    db.session.flush()
    _log(actor_id, event, "published")
    return True


def same_weekday_next_month(day: date) -> date:
    """The same weekday of the same week of the next month (2nd Saturday -> 2nd Saturday);
    a 5th weekday the next month lacks becomes its last one."""
    week = (day.day - 1) // 7  # 0 for the first such weekday of the month
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    first = date(year, month, 1)
    candidate = first + timedelta(days=(day.weekday() - first.weekday()) % 7 + 7 * week)
    if candidate.month != month:
        candidate -= timedelta(days=7)
    return candidate


def duplicate_for_next_month(event: Event, actor_id: int | None) -> Event:
    """A draft copy of `event` on the same weekday of the same week next month; refused
    (InvalidContent) when next month is out of the calendar the events may use."""
    start_local = event.starts_at.astimezone(PARIS)
    if (start_local.year, start_local.month) >= (LAST_YEAR, 12):
        raise InvalidContent(
            _l(
                "The copy would fall after %(last)d: change this event’s date first.",
                last=LAST_YEAR,
            )
        )
    new_day = same_weekday_next_month(start_local.date())
    shift_days = (new_day - start_local.date()).days

    def moved(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        local = moment.astimezone(PARIS)
        # Wall-clock time kept: 18:30 stays 18:30 even when summer time starts or ends between.
        return datetime.combine(
            local.date() + timedelta(days=shift_days), local.time().replace(tzinfo=None), PARIS
        ).astimezone(event.starts_at.tzinfo)

    copy = Event(
        slug=_new_slug(event.title_fr, moved(event.starts_at)),
        status="draft",
        sequence=0,
        **{
            f.name: getattr(event, f.name)
            for f in fields(EventData)
            if f.name
            not in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
        },
        starts_at=moved(event.starts_at),
        ends_at=moved(event.ends_at),
        registration_opens_at=moved(event.registration_opens_at),
        registration_closes_at=moved(event.registration_closes_at),
    )
    db.session.add(copy)
    db.session.flush()
    _log(actor_id, copy, "duplicated", source=event.id)
    return copy


def _log(actor_id: int | None, event: Event, what: str, **more) -> None:
    audit.record(
        actor_id, "content.changed", "event", event.id, {"change": what, "slug": event.slug, **more}
    )


# --- Carpool pickup points --------------------------------------------------------------------

PICKUP_NAME_MAX = 160


def pickup_points() -> list[PickupPoint]:
    return list(
        db.session.scalars(select(PickupPoint).order_by(PickupPoint.position, PickupPoint.id))
    )


def _point_snapshot(point: PickupPoint) -> dict:
    return {"name": point.name, "commune_id": point.commune_id, "position": point.position}


def _clean_point(name: str, commune_id: int | None, point: PickupPoint | None) -> str:
    cleaned = clean_line(name)
    if not fold(cleaned):
        raise InvalidPickupPoint(_l("Enter the pickup point’s name."), field="name")
    if len(cleaned) > PICKUP_NAME_MAX:
        raise InvalidPickupPoint(
            _l("At most %(num)d characters.", num=PICKUP_NAME_MAX), field="name"
        )
    if not commune_id or db.session.get(Commune, commune_id) is None:
        raise InvalidPickupPoint(_l("Choose the commune."), field="commune")
    for other in pickup_points():
        if (point is None or other.id != point.id) and fold(other.name) == fold(cleaned):
            raise PickupPointExists(field="name")
    return cleaned


def create_pickup_point(name: str, commune_id: int | None, actor_id: int | None) -> PickupPoint:
    """A new pickup point, last in the order."""
    cleaned = _clean_point(name, commune_id, None)
    last = db.session.scalar(select(func.max(PickupPoint.position)))
    point = PickupPoint(
        name=cleaned, commune_id=commune_id, position=(last if last is not None else -1) + 1
    )
    db.session.add(point)
    db.session.flush()
    audit.record_change(actor_id, "pickup_point", point.id, "created", None, _point_snapshot(point))
    return point


def update_pickup_point(
    point: PickupPoint, name: str, commune_id: int | None, actor_id: int | None
) -> bool:
    """Rename the point or move it to another commune. False when nothing changed."""
    cleaned = _clean_point(name, commune_id, point)
    before = _point_snapshot(point)
    point.name, point.commune_id = cleaned, commune_id
    db.session.flush()
    after = _point_snapshot(point)
    if after == before:
        return False
    audit.record_change(actor_id, "pickup_point", point.id, "updated", before, after)
    return True


def move_pickup_point(point: PickupPoint, direction: str, actor_id: int | None) -> bool:
    """One place up or down in the lists people choose from; False at either end."""
    before = point.position
    if not ordering.move(pickup_points(), point, direction):
        return False
    db.session.flush()
    audit.record_change(
        actor_id,
        "pickup_point",
        point.id,
        "moved",
        {"position": before},
        {"position": point.position},
    )
    return True


def pickup_point_in_use(point: PickupPoint) -> bool:
    for model in (Ride, RideRequest):
        used = db.session.scalar(select(model.id).where(model.pickup_point_id == point.id).limit(1))
        if used is not None:
            return True
    return False


def delete_pickup_point(point: PickupPoint, actor_id: int | None) -> None:
    """Remove a point no ride or request starts from; else `PickupPointInUse`."""
    if pickup_point_in_use(point):
        raise PickupPointInUse()
    before = _point_snapshot(point)
    point_id = point.id
    db.session.delete(point)
    db.session.flush()
    audit.record_change(actor_id, "pickup_point", point_id, "removed", before, None)
