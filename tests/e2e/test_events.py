"""Events in Chromium at phone size: register, offer a ride, book a seat and give it up, with and
without JavaScript; axe-core finds no WCAG 2.2 AA violation on any event page."""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, admin_login, assert_no_console_errors


def create_event(live_app, **fields) -> dict:
    """An event of our own in the live database (the demo's stay untouched), with optional rides."""
    from app.core.extensions import db
    from tests.support.factories import make_event

    with live_app.app_context():
        event = make_event(days_ahead=8, at=(9, 30), capacity=20, **fields)
        info = {"slug": event.slug, "id": event.id}
        db.session.commit()
    return info


def register(
    page,
    base: str,
    slug: str,
    name: str,
    email: str,
    phone: str,
    commune: str,
    *,
    offers=False,
    needs=False,
):
    page.goto(f"{base}/evenements/{slug}")
    page.get_by_label("Nom", exact=True).fill(name)
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Téléphone").fill(phone)
    page.get_by_label("Commune").select_option(label=commune)
    if offers:
        page.get_by_label("Je peux proposer un trajet").check()
    if needs:
        page.get_by_label("J’ai besoin d’un trajet").check()
    page.get_by_role("button", name="S’inscrire").click()
    expect(page).to_have_url(re.compile(r"/inscription/[A-Za-z0-9_-]{43}#main$"))
    expect(page.get_by_role("heading", name="Votre inscription", level=1)).to_be_visible()
    # The URL and the heading come before the deferred htmx: a click made earlier posts the
    # carpool form as a plain page (redirected to #carpool), not as an htmx swap.
    page.wait_for_load_state()


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_register_offer_a_ride_book_and_cancel_at_phone_size(make_page, live_server, live_app):
    event = create_event(live_app, title_fr="Atelier covoiturage e2e")

    driver = make_page(viewport=PHONE)
    register(
        driver,
        live_server,
        event["slug"],
        "Didier Conduit",
        "didier@example.org",
        "06 11 11 11 11",
        "Sauvain",
        offers=True,
    )
    assert fits_the_screen(driver)
    driver.get_by_label("Point de départ").select_option(label="Place de la mairie, Sauvain")
    driver.get_by_label("Heure de départ").fill("08:45")
    driver.get_by_label("Places proposées").fill("3")
    driver.get_by_role("button", name="Proposer ce trajet").click()
    carpool = driver.locator("#carpool")
    expect(carpool).to_contain_text("Votre trajet est sur le tableau du covoiturage")
    expect(carpool.locator(".my-ride")).to_contain_text("08:45 depuis Place de la mairie, Sauvain")
    expect(carpool).to_contain_text("Pas encore de passager")

    passenger = make_page(viewport=PHONE)
    register(
        passenger,
        live_server,
        event["slug"],
        "Paula Passagère",
        "paula@example.org",
        "06 22 22 22 22",
        "Sauvain",
        needs=True,
    )
    offer = passenger.locator(".ride", has_text="08:45 depuis Place de la mairie, Sauvain")
    expect(offer).to_contain_text("3 places libres")
    url_before = passenger.url
    offer.get_by_role("button", name="Réserver").click()
    seat = passenger.locator("#carpool .my-seat")
    expect(seat).to_contain_text("Conducteur : Didier Conduit")
    expect(seat).to_contain_text("06 11 11 11 11")
    assert passenger.url == url_before  # htmx swapped the section, no page load
    assert fits_the_screen(passenger)

    driver.reload()
    passengers = driver.locator("#carpool .passenger-list")
    expect(passengers).to_contain_text("Paula Passagère")
    expect(passengers).to_contain_text("06 22 22 22 22")

    passenger.once("dialog", lambda dialog: dialog.accept())
    passenger.get_by_role("button", name="Annuler ma place").click()
    expect(passenger.locator("#carpool")).to_contain_text("Votre place est libérée")
    expect(passenger.locator(".ride", has_text="08:45")).to_contain_text("3 places libres")

    driver.reload()
    expect(driver.locator("#carpool")).to_contain_text("Pas encore de passager")
    assert_no_console_errors(driver)
    assert_no_console_errors(passenger)


def test_the_same_without_javascript(make_page, live_server, live_app):
    event = create_event(live_app)
    driver = make_page(viewport=PHONE, java_script_enabled=False)
    register(
        driver,
        live_server,
        event["slug"],
        "Sans Script",
        "sans.script@example.org",
        "06 33 33 33 33",
        "Arthun",
        offers=True,
    )
    expect(driver.locator(".flash")).to_contain_text("Vous êtes inscrit")
    driver.get_by_label("Heure de départ").fill("09:00")
    driver.get_by_label("Places proposées").fill("2")
    driver.get_by_label("Point de départ").select_option(label="Place de la mairie, Arthun")
    driver.get_by_role("button", name="Proposer ce trajet").click()
    expect(driver.locator(".flash")).to_contain_text("Votre trajet est sur le tableau")

    passenger = make_page(viewport=PHONE, java_script_enabled=False)
    register(
        passenger,
        live_server,
        event["slug"],
        "Passager Simple",
        "passager.simple@example.org",
        "06 44 44 44 44",
        "Arthun",
        needs=True,
    )
    passenger.locator(".ride", has_text="Place de la mairie, Arthun").get_by_role(
        "button", name="Réserver"
    ).click()
    expect(passenger.locator(".flash")).to_contain_text("Votre place est réservée")
    expect(passenger.locator(".my-seat")).to_contain_text("06 33 33 33 33")
    passenger.get_by_role("button", name="Annuler ma place").click()
    expect(passenger.locator(".flash")).to_contain_text("Votre place est libérée")
    passenger.get_by_role("button", name="Annuler mon inscription").click()
    expect(passenger.locator(".registration-status")).to_contain_text(
        "Cette inscription est annulée"
    )


def test_a_seat_taken_meanwhile_is_explained_in_place(make_page, live_server, live_app):
    from app.core.extensions import db
    from app.events import carpool
    from tests.support.factories import make_event, make_registration

    with live_app.app_context():
        event = make_event(days_ahead=9, at=(9, 30))
        driver = make_registration(event, offers_ride=True)
        ride = carpool.offer_ride(
            driver, departure=time(9, 0), seats=1, pickup_text="Parking de la salle"
        )
        late = make_registration(event, email="late@example.org")
        early = make_registration(event, email="early@example.org")
        ride_id, late_token, early_id = ride.id, late.token, early.id
        db.session.commit()

    page = make_page(viewport=PHONE)
    page.goto(f"{live_server}/inscription/{late_token}")
    book = page.locator(".ride", has_text="Parking de la salle").get_by_role(
        "button", name="Réserver"
    )
    expect(book).to_be_visible()
    with live_app.app_context():
        from app.events.models import Registration, Ride

        carpool.book(db.session.get(Ride, ride_id), db.session.get(Registration, early_id), 1)
        db.session.commit()
    book.click()
    expect(page.locator("#carpool [role=alert]")).to_contain_text(
        "cette voiture est maintenant complète"
    )
    assert_no_console_errors(page, ignore=[r"409"])


# --- Accessibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, (1280, 800)], ids=["phone", "desktop"])
def test_event_pages_have_no_axe_violations(make_page, live_server, live_app, viewport, login):
    from app.core.extensions import db
    from app.events import registrations as event_service
    from app.events.models import Event

    with live_app.app_context():
        upcoming = event_service.upcoming()
        meeting = next(
            e for e in upcoming if e.kind == "meeting" and any(r.active_bookings for r in e.rides)
        )
        full = next(e for e in upcoming if event_service.waiting_list(e))
        driver = next(r.driver for r in meeting.rides if r.active_bookings)
        slugs = {
            "meeting": meeting.slug,
            "full": full.slug,
            "past": db.session.scalar(
                db.select(Event.slug).where(Event.slug == "fete-de-lancement-2025-12-13")
            ),
        }
        driver_token = driver.token

    page = make_page(viewport=viewport)
    for path in (
        "/evenements",
        "/evenements/passes",
        f"/evenements/{slugs['meeting']}",
        f"/evenements/{slugs['full']}",
        f"/evenements/{slugs['past']}",
        f"/inscription/{driver_token}",
    ):
        page.goto(live_server + path)
        assert_no_axe_violations(page)

    # The confirmation: the private page right after registering, with its message.
    register(
        page,
        live_server,
        slugs["full"],
        "Axe Attente",
        f"axe.{viewport[0]}@example.org",
        "",
        "Leigneux",
        needs=True,
    )
    expect(page.locator(".flash")).to_contain_text("liste d’attente")
    assert_no_axe_violations(page)
    # A form sent back with its errors.
    page.goto(f"{live_server}/evenements/{slugs['meeting']}")
    page.get_by_label("Nombre de personnes").fill("9")
    page.get_by_role("button", name="S’inscrire").click()
    expect(page.locator("#people-error")).to_be_visible()
    assert_no_axe_violations(page)
    # The refused form comes back with 422, which Chromium logs as a failed resource load.
    assert_no_console_errors(page, ignore=[r"status of 422"])

    admin = make_page(viewport=viewport)
    admin_login(admin, live_server, live_app)
    admin.goto(f"{live_server}/evenements/{slugs['meeting']}/organisation")
    expect(admin.get_by_role("heading", name="Participants")).to_be_visible()
    assert_no_axe_violations(admin)
    admin.goto(f"{live_server}/evenements/{slugs['meeting']}")
    expect(admin.get_by_text("pour inscrire une personne qui a appelé")).to_be_visible()
    assert_no_axe_violations(admin)
