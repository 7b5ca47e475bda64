"""Registration service: capacity in people, waiting list, changes, cancellations, reminders,
and the ICS and CSV exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from icalendar import Calendar

from app.core.columns import utcnow
from app.core.mail import OutboxMessage
from app.events import registrations as event_service
from app.events import rules
from app.events.errors import (
    AlreadyRegistered,
    NotEnoughPlaces,
    RegistrationCancelled,
    RegistrationClosed,
)
from app.events.models import Registration
from app.ledger.transfers import today as paris_today
from app.members.models import Commune
from tests.support.factories import make_admin, make_event, make_member, make_registration


def outbox(db, recipient=None):
    statement = db.select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient:
        statement = statement.where(OutboxMessage.recipient == recipient)
    return db.session.scalars(statement).all()


# --- Capacity and waiting list -----------------------------------------------------------------


def test_capacity_counts_people_not_registrations(app, db):
    event = make_event(capacity=5)
    first = make_registration(event, people=3)
    second = make_registration(event, people=2)
    third = make_registration(event, people=1)
    assert (first.status, second.status) == ("confirmed", "confirmed")
    assert third.status == "waiting" and third.position == 1
    assert event_service.places_left(event) == 0
    assert event_service.confirmed_people(event.id) == 5


def test_a_party_larger_than_the_places_left_waits(app, db):
    event = make_event(capacity=4)
    make_registration(event, people=3)
    big = make_registration(event, people=2)
    small = make_registration(event, people=1)
    assert big.status == "waiting" and big.position == 1
    assert small.status == "confirmed"
    assert event_service.places_left(event) == 0


def test_no_capacity_means_everyone_is_confirmed(app, db):
    event = make_event(capacity=None)
    registrations = [make_registration(event, people=6) for _ in range(5)]
    assert {r.status for r in registrations} == {"confirmed"}
    assert event_service.places_left(event) is None


def test_waiting_positions_follow_arrival(app, db):
    event = make_event(capacity=1)
    make_registration(event)
    waiting = [make_registration(event) for _ in range(3)]
    assert [r.position for r in waiting] == [1, 2, 3]
    assert [r.id for r in event_service.waiting_list(event)] == [r.id for r in waiting]


@pytest.mark.parametrize("people", [0, 7, -1])
def test_party_size_must_be_one_to_six(app, db, people):
    event = make_event()
    with pytest.raises(ValueError):
        make_registration(event, people=people)


def test_a_registration_needs_an_email_or_a_phone(app, db):
    event = make_event()
    with pytest.raises(ValueError):
        event_service.register(event, name="Sans contact")
    phone_only = event_service.register(
        event, name="Par téléphone", phone="06 12 34 56 78"
    ).registration
    assert phone_only.email is None and phone_only.status == "confirmed"


# --- The same person twice -----------------------------------------------------------------------


def test_a_coordinator_registering_the_same_email_again_updates(app, db):
    event = make_event(capacity=10)
    coordinator = make_admin()
    first = event_service.register(event, name="Alice", email="Alice@Example.test", people=1)
    again = event_service.register(
        event,
        name="Alice Martin",
        email="alice@example.test ",
        people=3,
        needs_ride=True,
        created_by_id=coordinator.id,
    )
    assert first.created and not again.created
    assert again.registration.id == first.registration.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1
    registration = again.registration
    assert (registration.name, registration.people, registration.needs_ride) == (
        "Alice Martin",
        3,
        True,
    )
    assert registration.email == "alice@example.test"


def test_someone_else_typing_a_registered_email_changes_nothing_and_the_owner_gets_the_link(
    app, db
):
    event = make_event(capacity=10)
    first = event_service.register(
        event, name="Alice", email="alice@example.test", people=2, needs_ride=True
    )
    with pytest.raises(AlreadyRegistered):
        event_service.register(
            event, name="Mallory", email="Alice@Example.test", phone="06 99 99 99 99", people=1
        )
    registration = first.registration
    assert (
        registration.name,
        registration.phone,
        registration.people,
        registration.needs_ride,
    ) == ("Alice", None, 2, True)
    # So does a member typing it: only the member who owns the registration may update it.
    stranger = make_member()
    with pytest.raises(AlreadyRegistered):
        event_service.register(
            event, name="Mallory", email="alice@example.test", member_id=stranger.id
        )
    assert registration.member_id is None and registration.name == "Alice"
    mails = outbox(db, "alice@example.test")
    assert len(mails) == 3 and all(rules.private_url(registration) in m.body for m in mails)
    assert "Mallory" not in mails[-1].body and "n’a pas changé" in mails[-1].body


def test_a_member_registering_again_leaves_their_own_registration_as_it_is(app, db):
    """The registration form's defaults must not reset a party: changes go through its page."""
    event = make_event(capacity=10)
    member = make_member()
    first = event_service.register(
        event,
        name="Odile",
        email="odile@example.test",
        member_id=member.id,
        people=3,
        needs_ride=True,
    )
    again = event_service.register(
        event, name="Odile Faure", email="other@example.test", people=1, member_id=member.id
    )
    assert again.unchanged and not again.created and again.registration.id == first.registration.id
    registration = again.registration
    assert (
        registration.name,
        registration.email,
        registration.people,
        registration.needs_ride,
    ) == ("Odile", "odile@example.test", 3, True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1


def test_the_same_form_key_registers_once(app, db):
    event = make_event(capacity=10)
    key = event_service.new_key()
    first = event_service.register(
        event, name="Par téléphone", phone="06 12 34 56 78", people=2, key=key
    )
    again = event_service.register(
        event, name="Par téléphone", phone="06 12 34 56 78", people=2, key=key
    )
    assert first.created and again.replayed and not again.created
    assert again.registration.id == first.registration.id
    assert first.registration.idempotency_key == key
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1
    assert event_service.confirmed_people(event.id) == 2
    other = event_service.register(
        event, name="Par téléphone", phone="06 12 34 56 78", key=event_service.new_key()
    )
    assert other.created and other.registration.id != first.registration.id


def test_the_same_email_on_another_event_is_another_registration(app, db):
    one, two = make_event(), make_event()
    a = make_registration(one, email="same@example.test")
    b = make_registration(two, email="same@example.test")
    assert a.id != b.id


def test_registering_again_after_cancelling_reuses_the_registration(app, db):
    event = make_event(capacity=2)
    registration = make_registration(event, email="back@example.test")
    token = registration.token
    event_service.cancel_registration(registration)
    again = event_service.register(event, name="De retour", email="back@example.test", people=2)
    assert again.registration.id == registration.id and again.registration.token == token
    assert again.registration.status == "confirmed" and again.registration.people == 2


def test_registering_twice_does_not_grow_beyond_the_places(app, db):
    event = make_event(capacity=3)
    make_registration(event, people=2)
    coordinator = make_admin()
    make_registration(event, email="me@example.test", people=1)
    with pytest.raises(NotEnoughPlaces) as caught:
        event_service.register(
            event, name="Moi", email="me@example.test", people=3, created_by_id=coordinator.id
        )
    assert caught.value.places_left == 0


# --- Closed events -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"status": "draft"}, "draft"),
        ({"status": "cancelled"}, "cancelled"),
        ({"days_ahead": -2}, "past"),
        ({"registration_enabled": False}, "disabled"),
    ],
)
def test_closed_events_refuse_registrations(app, db, fields, state):
    event = make_event(**fields)
    with pytest.raises(RegistrationClosed) as caught:
        make_registration(event)
    assert caught.value.details["state"] == state
    assert str(caught.value.message)


def test_registrations_open_and_close_on_their_dates(app, db):
    now = utcnow()
    not_yet = make_event(registration_opens_at=now + timedelta(days=1))
    closed = make_event(registration_closes_at=now - timedelta(minutes=1))
    with pytest.raises(RegistrationClosed) as early:
        make_registration(not_yet)
    assert early.value.details["state"] == "not_yet"
    with pytest.raises(RegistrationClosed) as late:
        make_registration(closed)
    assert late.value.details["state"] == "closed"
    assert make_registration(not_yet, now=now + timedelta(days=2)).status == "confirmed"


# --- Cancelling and promoting ---------------------------------------------------------------------


def test_cancelling_promotes_the_waiting_list_in_order(app, db):
    event = make_event(capacity=2)
    confirmed = [make_registration(event) for _ in range(2)]
    waiting = [make_registration(event) for _ in range(3)]
    event_service.cancel_registration(confirmed[0])
    assert [r.status for r in waiting] == ["confirmed", "waiting", "waiting"]
    assert [waiting[1].position, waiting[2].position] == [1, 2]
    event_service.cancel_registration(confirmed[1])
    assert [r.status for r in waiting] == ["confirmed", "confirmed", "waiting"]
    assert waiting[2].position == 1


def test_promotion_skips_parties_too_large_and_keeps_their_place(app, db):
    event = make_event(capacity=3)
    leaving = make_registration(event, people=2)
    make_registration(event, people=1)
    family = make_registration(event, people=4)
    single = make_registration(event, people=1)
    couple = make_registration(event, people=2)
    promoted = event_service.cancel_registration(leaving)
    assert [r.id for r in promoted] == [single.id]
    assert family.status == "waiting" and family.position == 1
    assert couple.status == "waiting" and couple.position == 2
    assert event_service.places_left(event) == 1


def test_those_promoted_are_told_by_email(app, db):
    event = make_event(capacity=1)
    leaving = make_registration(event)
    waiting = make_registration(event, email="next@example.test")
    phone_only = make_registration(event, email=None, phone="0612345678")
    before = len(outbox(db, "next@example.test"))
    event_service.cancel_registration(leaving)
    mails = outbox(db, "next@example.test")
    assert len(mails) == before + 1
    assert event.title_fr in mails[-1].subject
    assert f"/inscription/{waiting.token}" in mails[-1].body
    assert phone_only.status == "waiting" and phone_only.position == 1


def test_a_waiting_person_who_cancels_leaves_the_list_renumbered(app, db):
    event = make_event(capacity=1)
    make_registration(event)
    first, second, third = (make_registration(event) for _ in range(3))
    event_service.cancel_registration(second)
    assert second.status == "cancelled" and second.position is None
    assert (first.position, third.position) == (1, 2)


def test_cancelling_twice_is_harmless(app, db):
    event = make_event(capacity=1)
    registration = make_registration(event)
    event_service.cancel_registration(registration)
    assert event_service.cancel_registration(registration) == []


def test_no_cancelling_once_the_event_has_started(app, db):
    event = make_event()
    registration = make_registration(event)
    with pytest.raises(RegistrationClosed):
        event_service.cancel_registration(registration, now=event.starts_at + timedelta(minutes=5))


def test_cancelling_queues_a_confirmation(app, db):
    event = make_event()
    registration = make_registration(event, email="bye@example.test")
    event_service.cancel_registration(registration)
    assert (
        "cancel" in outbox(db, "bye@example.test")[-1].subject.lower()
        or "annul" in outbox(db, "bye@example.test")[-1].subject.lower()
    )


# --- Changing a registration ----------------------------------------------------------------------


def test_more_people_need_free_places(app, db):
    event = make_event(capacity=4)
    registration = make_registration(event, people=2)
    make_registration(event, people=1)
    event_service.update_registration(registration, people=3, needs_ride=False, offers_ride=False)
    assert registration.people == 3
    with pytest.raises(NotEnoughPlaces) as caught:
        event_service.update_registration(
            registration, people=4, needs_ride=False, offers_ride=False
        )
    assert caught.value.places_left == 0
    assert str(caught.value.message)


@pytest.mark.parametrize(
    ("language", "others", "expected"),
    [
        ("en", 2, "No place is left: your party cannot grow."),
        ("en", 1, "Only 1 place is left. Your party can be at most 3 people."),
        ("en", 0, "Only 2 places are left. Your party can be at most 4 people."),
        ("fr", 2, "Il ne reste plus de place\u00a0: votre groupe ne peut pas s’agrandir."),
        ("fr", 1, "Il ne reste plus qu’une place. Votre groupe peut compter au plus 3 personnes."),
        ("fr", 0, "Il ne reste plus que 2 places. Votre groupe peut compter au plus 4 personnes."),
    ],
)
def test_a_party_that_cannot_grow_is_told_how_far_it_can(app, db, language, others, expected):
    from flask_babel import force_locale

    event = make_event(capacity=4)
    registration = make_registration(event, people=2)
    if others:
        make_registration(event, people=others)
    with force_locale(language), pytest.raises(NotEnoughPlaces) as caught:
        event_service.update_registration(
            registration, people=6, needs_ride=False, offers_ride=False
        )
    with force_locale(language):
        assert str(caught.value.message) == expected


def test_fewer_people_free_places_for_the_waiting_list(app, db):
    event = make_event(capacity=3)
    registration = make_registration(event, people=3)
    waiting = make_registration(event, people=2)
    promoted = event_service.update_registration(
        registration, people=1, needs_ride=False, offers_ride=False
    )
    assert [r.id for r in promoted] == [waiting.id]
    assert event_service.places_left(event) == 0


def test_a_cancelled_registration_cannot_be_changed(app, db):
    event = make_event()
    registration = make_registration(event)
    event_service.cancel_registration(registration)
    with pytest.raises(RegistrationCancelled):
        event_service.update_registration(
            registration, people=2, needs_ride=False, offers_ride=False
        )


# --- Mails ---------------------------------------------------------------------------------------


def test_confirmation_mail_has_the_private_link(app, db):
    event = make_event()
    registration = make_registration(event, email="hello@example.test", people=2)
    (mail,) = outbox(db, "hello@example.test")
    assert event.title_fr in mail.subject
    assert (
        f"http://127.0.0.1:5000/inscription/{registration.token}" in mail.body
        or f"/inscription/{registration.token}" in mail.body
    )
    assert "2 personnes" in mail.body


def test_waiting_list_mail_gives_the_position(app, db):
    event = make_event(capacity=1)
    make_registration(event)
    make_registration(event, email="waits@example.test")
    (mail,) = outbox(db, "waits@example.test")
    assert "attente" in mail.subject.lower()
    assert "numéro 1" in mail.body


def test_english_speakers_get_english_mail(app, db):
    event = make_event()
    make_registration(event, email="en@example.test", language="en")
    (mail,) = outbox(db, "en@example.test")
    assert mail.subject.startswith("Registration confirmed")
    assert event.title_en in mail.subject


# --- Reminders -----------------------------------------------------------------------------------


def test_reminders_go_once_to_tomorrows_registrants(app, db):

    tomorrow = make_event(days_ahead=1)
    later = make_event(days_ahead=5)
    coming = make_registration(tomorrow, email="coming@example.test")
    make_registration(tomorrow, email=None, phone="0612345678")
    make_registration(later, email="later@example.test")
    full = make_event(days_ahead=1, capacity=1)
    make_registration(full, email="in@example.test")
    make_registration(full, email="waiting@example.test")
    gone = make_registration(tomorrow, email="gone@example.test")
    event_service.cancel_registration(gone)

    queued = event_service.send_reminders(paris_today())
    assert queued == 2
    reminded = {m.recipient for m in outbox(db) if m.subject.startswith("Demain")}
    assert reminded == {"coming@example.test", "in@example.test"}
    assert coming.reminded_at is not None
    assert event_service.send_reminders(paris_today()) == 0


def test_unpublished_events_get_no_reminder(app, db):

    event = make_event(days_ahead=1)
    make_registration(event, email="x@example.test")
    event.status = "cancelled"
    db.session.flush()
    assert event_service.send_reminders(paris_today()) == 0


# --- Phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0612345678", "06 12 34 56 78"),
        ("06.12.34.56.78", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("0033612345678", "06 12 34 56 78"),
        ("+44 20 7946 0958", "+442079460958"),
        ("", None),
    ],
)
def test_phone_numbers_are_normalised(typed, stored):
    assert event_service.normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "06123456789", "abc", "+33", "0012345678", "<b>06</b>"])
def test_wrong_phone_numbers_are_refused(typed):
    with pytest.raises(ValueError):
        event_service.normalise_phone(typed)


# --- Exports -------------------------------------------------------------------------------------


def test_csv_has_bom_semicolons_and_no_formulas(app, db):
    event = make_event()
    body = event_service.attendees_csv(
        event,
        ["Nom", "Téléphone"],
        [
            ['=HYPERLINK("http://x")', "+33 6"],
            ["@SUM(A1)", "-1"],
            ['<b>Zoé</b>; "quoted"', "06 12"],
        ],
    )
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Téléphone"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', "'+33 6"]
    assert rows[2] == ["'@SUM(A1)", "'-1"]
    assert rows[3] == ['<b>Zoé</b>; "quoted"', "06 12"]


def test_ics_round_trip_keeps_times_in_paris_and_stable_uids(app, db):
    from zoneinfo import ZoneInfo

    event = make_event(at=(9, 30))
    first = event_service.calendar_ics([event], "Test")
    second = event_service.calendar_ics([event], "Test")
    parsed = Calendar.from_ical(first)
    (vevent,) = parsed.walk("VEVENT")
    start = vevent.decoded("dtstart")
    assert start.tzinfo is not None and str(start.tzinfo) == "Europe/Paris"
    assert (start.hour, start.minute) == (9, 30)
    assert start == event.starts_at.astimezone(ZoneInfo("Europe/Paris"))
    assert vevent["dtstart"].params["TZID"] == "Europe/Paris"
    assert str(vevent["uid"]) == f"event-{event.id}@patias"
    assert [str(v["uid"]) for v in Calendar.from_ical(second).walk("VEVENT")] == [
        str(vevent["uid"])
    ]
    assert parsed.walk("VTIMEZONE")[0]["tzid"] == "Europe/Paris"
    assert int(vevent["sequence"]) == 0


def test_commune_or_town_is_the_locality(app, db):
    boen = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    assert make_event(commune=boen).locality == "Boën-sur-Lignon"
    outside = make_event(town="Saint-Bonnet-le-Château")
    outside.commune = None
    assert outside.locality == "Saint-Bonnet-le-Château"


def test_calendar_changes_bump_the_sequence(app, db):
    event = make_event()
    db.session.commit()
    assert event.sequence == 0
    event.place_name = "Salle polyvalente"
    db.session.commit()
    assert event.sequence == 1
    make_registration(event)
    event.capacity = 50
    db.session.commit()
    assert event.sequence == 1
