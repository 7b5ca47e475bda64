"""Organisers: lists, carpool plan, CSV export (admins only); the reminders command; the demo."""

from __future__ import annotations

import csv
import io
from datetime import time, timedelta

import pytest

from app.core.mail import OutboxMessage
from app.events import carpool
from app.events import registrations as event_service
from app.events.models import Event, Registration, Ride
from app.ledger.transfers import today as paris_today
from tests.support.factories import make_admin, make_event, make_member, make_registration


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def busy_event(app, db):
    event = make_event(capacity=3, at=(9, 30), title_fr="Atelier cuisine")
    driver = make_registration(event, name="Didier Conduit", phone="0611111111", offers_ride=True)
    passenger = make_registration(
        event, name="=cmd|' /C calc'!A0", phone="+33 6 22 22 22 22", email="p@example.org"
    )
    make_registration(event, name="<b>Zoé</b> Durand", email="zoe@example.org")
    make_registration(event, name="Attente Une", email="w1@example.org", people=2)
    make_registration(event, name="@Attente Deux", email=None, phone="0633333333")
    ride = carpool.offer_ride(
        driver, departure=time(9, 0), seats=3, pickup_point_id=carpool.pickup_points()[0].id
    )
    carpool.book(ride, passenger, 1)
    db.session.commit()
    return event


@pytest.fixture
def as_admin(client, db, auth):
    admin = make_admin()
    db.session.commit()
    auth.login_admin(admin.email)
    return admin


def test_organiser_pages_are_for_admins_only(client, db, auth, busy_event):
    for url in (
        f"/evenements/{busy_event.slug}/organisation",
        f"/evenements/{busy_event.slug}/organisation.csv",
    ):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]
    make_member(email="membre@example.org")
    db.session.commit()
    auth.login("membre@example.org")
    for url in (
        f"/evenements/{busy_event.slug}/organisation",
        f"/evenements/{busy_event.slug}/organisation.csv",
    ):
        assert client.get(url).status_code == 403


def test_organiser_page_lists_attendees_waiting_list_and_carpool_plan(
    client, db, as_admin, busy_event
):
    response = client.get(f"/evenements/{busy_event.slug}/organisation")
    assert response.status_code == 200
    page = text(response)
    assert "Didier Conduit" in page and "&lt;b&gt;Zoé&lt;/b&gt; Durand" in page
    assert "<b>Zoé</b>" not in page
    waiting = page[page.index('id="waiting-title"') : page.index('id="plan-title"')]
    assert waiting.index("Attente Une") < waiting.index("@Attente Deux")
    plan = page[page.index('id="plan-title"') :]
    assert "09:00 depuis Place de la mairie, Boën-sur-Lignon" in plan and "06 11 11 11 11" in plan
    assert "=cmd" in plan
    assert "3 personnes confirmées" in page
    assert "2 inscriptions en attente" in page
    assert page.count("/inscription/") >= 5


def test_csv_opens_in_french_spreadsheets(client, db, as_admin, busy_event):
    response = client.get(f"/evenements/{busy_event.slug}/organisation.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    assert header[:3] == ["Statut", "Rang en liste d’attente", "Nom"]
    by_name = {row[2]: row for row in rows[1:]}
    assert len(rows) == 6
    assert "'=cmd|' /C calc'!A0" in by_name
    assert by_name["'=cmd|' /C calc'!A0"][5] == "06 22 22 22 22"
    assert "<b>Zoé</b> Durand" in by_name
    assert "'@Attente Deux" in by_name and by_name["'@Attente Deux"][1] == "2"
    assert by_name["Attente Une"][0] == "Liste d’attente" and by_name["Attente Une"][1] == "1"
    assert (
        "Conducteur depuis Place de la mairie, Boën-sur-Lignon à 09:00"
        in by_name["Didier Conduit"][9]
    )
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_admins_can_manage_any_registration(client, db, as_admin, busy_event):
    registration = db.session.scalar(
        db.select(Registration).where(Registration.name == "Attente Une")
    )
    page = text(client.get(f"/evenements/{busy_event.slug}/organisation"))
    assert f"/inscription/{registration.token}" in page


# --- Reminders ----------------------------------------------------------------------------------


def test_send_reminders_command(runner, db):
    tomorrow = paris_today() + timedelta(days=1)
    event = make_event(days_ahead=1)
    driver = make_registration(event, email="driver@example.org", offers_ride=True)
    passenger = make_registration(
        event, name="Paula", email="paula@example.org", phone="0622222222"
    )
    ride = carpool.offer_ride(driver, departure=time(9, 0), seats=2, pickup_text="Place du marché")
    carpool.book(ride, passenger, 1)
    db.session.commit()
    result = runner.invoke(
        args=["ssa", "send-reminders", "--date", (tomorrow - timedelta(days=1)).isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "2 reminder(s) queued" in result.output
    reminders = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.subject.startswith("Demain"))
    ).all()
    assert {m.recipient for m in reminders} == {"driver@example.org", "paula@example.org"}
    to_driver = next(m for m in reminders if m.recipient == "driver@example.org")
    assert "Paula" in to_driver.body and "06 22 22 22 22" in to_driver.body
    again = runner.invoke(
        args=["ssa", "send-reminders", "--date", (tomorrow - timedelta(days=1)).isoformat()]
    )
    assert "0 reminder(s) queued" in again.output
    elsewhere = runner.invoke(args=["ssa", "send-reminders", "--date", tomorrow.isoformat()])
    assert "0 reminder(s) queued" in elsewhere.output


def test_send_reminders_refuses_a_bad_date(runner):
    result = runner.invoke(args=["ssa", "send-reminders", "--date", "31/12/2026"])
    assert result.exit_code != 0


# --- Demo data ----------------------------------------------------------------------------------


def test_demo_events_are_seeded_once(app, db):
    from app.demo import events as demo

    first = list(demo.seed())
    db.session.commit()
    count = db.session.scalar(db.select(db.func.count()).select_from(Event))
    assert first != ["Events: 0 demo event(s) added."]
    assert list(demo.seed()) == ["Events: 0 demo event(s) added."]
    assert db.session.scalar(db.select(db.func.count()).select_from(Event)) == count

    slugs = set(db.session.scalars(db.select(Event.slug)))
    assert {
        "groupe-de-travail-2025-11-15",
        "alimenterre-manger-pour-vivre-2025-11-23",
        "fete-de-lancement-2025-12-13",
    } <= slugs
    cezay = db.session.scalar(db.select(Event).where(Event.slug == "groupe-de-travail-2025-11-15"))
    local = cezay.starts_at.astimezone(event_service.PARIS)
    assert (local.hour, local.minute, cezay.ends_at.astimezone(event_service.PARIS).hour) == (
        9,
        30,
        12,
    )
    assert cezay.commune.name == "Cezay"

    upcoming = event_service.upcoming()
    meetings = [e for e in upcoming if e.kind == "meeting"]
    assert len(meetings) >= 4
    for meeting in meetings:
        start = meeting.starts_at.astimezone(event_service.PARIS)
        assert start.weekday() == 5 and (start.hour, start.minute) == (9, 30)
    assert len({m.commune_id for m in meetings}) == len(meetings)

    workshop = next(e for e in upcoming if e.kind == "workshop")
    assert workshop.capacity == 12 and 0 < event_service.places_left(workshop) <= 2
    assert any(event_service.waiting_list(e) for e in upcoming)
    assert db.session.scalar(db.select(db.func.count()).select_from(Ride)) >= 2
    assert any(ride.active_bookings for ride in db.session.scalars(db.select(Ride)))
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
