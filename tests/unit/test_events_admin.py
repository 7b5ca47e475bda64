"""Events in the back office: drafts, publishing, editing (calendar sequence, capacity), and the
"duplicate for next month" rule (same weekday of the same week; a fifth one becomes the last)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.core.calendar import PARIS
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.events import admin as events_admin
from app.events.admin import EventData, same_weekday_next_month
from app.events.models import Registration
from app.members.models import Commune
from tests.support.factories import make_event, make_registration


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 3, 14), date(2026, 4, 11)),  # 2nd Saturday -> 2nd Saturday
        (date(2026, 1, 1), date(2026, 2, 5)),  # 1st Thursday -> 1st Thursday
        (
            date(2026, 1, 31),
            date(2026, 2, 28),
        ),  # 5th Saturday: February has none -> its last Saturday
        (date(2026, 12, 9), date(2027, 1, 13)),  # across the year: 2nd Wednesday
        (date(2026, 5, 29), date(2026, 6, 26)),  # 5th Friday -> last (4th) Friday of June
        (date(2026, 7, 29), date(2026, 8, 26)),  # 5th Wednesday -> August's last Wednesday
    ],
)
def test_same_weekday_of_the_same_week_next_month(day, expected):
    result = same_weekday_next_month(day)
    assert result == expected and result.weekday() == day.weekday()


def _data(**overrides) -> EventData:
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    starts = datetime(2099, 3, 14, 9, 30, tzinfo=PARIS)
    values = dict(
        kind="meeting",
        title_fr="Groupe de travail",
        title_en="Working group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        description_fr="Ordre du jour",
        description_en="Agenda",
        place_name="Salle des fêtes",
        commune_id=commune.id,
        capacity=20,
    )
    values.update(overrides)
    return EventData(**values)


def test_create_is_a_draft_and_publish_shows_it(app):
    event = events_admin.create_event(_data(), actor_id=None)
    assert event.status == "draft" and event.slug == "groupe-de-travail-2099-03-14"
    again = events_admin.create_event(_data(), actor_id=None)
    assert again.slug == "groupe-de-travail-2099-03-14-2"
    assert events_admin.publish_event(event, actor_id=None) is True
    assert event.status == "published"
    assert events_admin.publish_event(event, actor_id=None) is False


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title_en": ""}, "title_en"),
        ({"title_fr": "  "}, "title_fr"),
        ({"description_en": ""}, "description_en"),
        ({"ends_at": datetime(2099, 3, 14, 9, 0, tzinfo=PARIS)}, "ends_at"),
        ({"ends_at": datetime(2099, 4, 14, 9, 0, tzinfo=PARIS)}, "ends_at"),
        ({"commune_id": None, "town": ""}, "town"),
        ({"commune_id": 999_999}, "commune_id"),
        ({"capacity": 0}, "capacity"),
        ({"registration_closes_at": datetime(2099, 3, 15, tzinfo=PARIS)}, "registration_closes_at"),
        (
            {"registration_opens_at": datetime(2099, 3, 14, 9, 30, tzinfo=PARIS)},
            "registration_opens_at",
        ),
        ({"kind": "rave"}, "kind"),
    ],
)
def test_bad_events_are_refused_with_the_field(app, overrides, field):
    with pytest.raises(InvalidContent) as refused:
        events_admin.create_event(_data(**overrides), actor_id=None)
    assert refused.value.details["field"] == field


def test_editing_a_published_event_bumps_its_calendar_sequence(app):
    event = make_event(days_ahead=20)
    db.session.commit()
    data = _data(
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        title_fr=event.title_fr,
        title_en=event.title_en,
        description_fr=event.description_fr,
        description_en=event.description_en,
        place_name=event.place_name,
        address=event.address,
        commune_id=event.commune_id,
        capacity=None,
        registration_enabled=event.registration_enabled,
        carpool=event.carpool,
    )
    assert events_admin.update_event(event, data, actor_id=None) == []
    assert event.sequence == 0
    changed = events_admin.update_event(
        event, _data(**{**vars(data), "place_name": "Halle du marché"}), actor_id=None
    )
    assert changed == ["place_name"] and event.sequence == 1


def test_capacity_cannot_drop_below_confirmed_people_and_rising_promotes(app):
    event = make_event(days_ahead=20, capacity=2)
    make_registration(event, people=2)
    waiting = make_registration(event, people=1)
    assert waiting.status == "waiting"
    base = dict(
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        title_fr=event.title_fr,
        title_en=event.title_en,
        description_fr=event.description_fr,
        description_en=event.description_en,
        place_name=event.place_name,
        address=event.address,
        commune_id=event.commune_id,
    )
    with pytest.raises(InvalidContent) as refused:
        events_admin.update_event(event, _data(**base, capacity=1), actor_id=None)
    assert refused.value.details["field"] == "capacity"
    events_admin.update_event(event, _data(**base, capacity=3), actor_id=None)
    assert db.session.get(Registration, waiting.id).status == "confirmed"


def test_duplicate_for_next_month_keeps_wall_clock_time_across_summer_time(app):
    # Saturday 14 March 2099, 9:30 in Paris (winter time) -> Saturday 11 April 2099, 9:30 (summer time).
    starts = datetime(2099, 3, 14, 9, 30, tzinfo=PARIS)
    event = make_event(
        starts_at=starts.astimezone(UTC),
        ends_at=(starts + timedelta(hours=2)).astimezone(UTC),
        registration_closes_at=datetime(2099, 3, 13, 18, 0, tzinfo=PARIS).astimezone(UTC),
        capacity=12,
    )
    make_registration(event)
    copy = events_admin.duplicate_for_next_month(event, actor_id=None)
    local = copy.starts_at.astimezone(PARIS)
    assert (local.date(), local.hour, local.minute) == (date(2099, 4, 11), 9, 30)
    assert copy.ends_at - copy.starts_at == timedelta(hours=2)
    assert copy.registration_closes_at.astimezone(PARIS) == datetime(
        2099, 4, 10, 18, 0, tzinfo=PARIS
    )
    assert copy.status == "draft" and copy.sequence == 0 and copy.registrations == []
    assert (copy.title_fr, copy.title_en, copy.capacity, copy.commune_id) == (
        event.title_fr,
        event.title_en,
        12,
        event.commune_id,
    )
    assert copy.slug != event.slug and copy.slug.endswith("2099-04-11")
