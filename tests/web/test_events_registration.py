"""Registering through the event page, the private link, the carpool buttons (with and without
htmx), bad input and the rate limit."""

from __future__ import annotations

import html as html_lib
import re
from datetime import time, timedelta

import pytest

from app.core.mail import OutboxMessage
from app.events import carpool
from app.events.models import Booking, Registration, Ride
from tests.support.factories import make_admin, make_event, make_member, make_registration

FORM = {
    "name": "Jeanne Martin",
    "email": "jeanne@example.org",
    "phone": "",
    "commune": "0",
    "people": "1",
}


def text(response) -> str:
    return response.get_data(as_text=True)


def registrations(db, event):
    return db.session.scalars(
        db.select(Registration).where(Registration.event_id == event.id)
    ).all()


@pytest.fixture
def event(app, db):
    created = make_event(capacity=4, at=(9, 30))
    db.session.commit()
    return created


def register(post_form, event, **data):
    url = f"/evenements/{event.slug}"
    return post_form(url, {**FORM, **data})


def token_of(response) -> str:
    match = re.search(r"/inscription/([A-Za-z0-9_-]{40,})", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


# --- Registering ---------------------------------------------------------------------------------


def test_the_demo_accounts_reserved_domain_is_accepted(client, db, post_form, event):
    """The demo members' addresses end in .test (reserved, never real): prefilled for a signed-in
    demo member, they must register like any address, as on the application form."""
    response = register(post_form, event, email="membre2@patias.test")
    assert response.status_code == 303
    assert [r.email for r in registrations(db, event)] == ["membre2@patias.test"]


def test_register_then_land_on_the_private_page(client, db, post_form, event):
    response = register(post_form, event, people="2", needs_ride="y")
    assert response.status_code == 303
    token = token_of(response)
    page = client.get(f"/inscription/{token}")
    assert page.status_code == 200
    body = text(page)
    assert "Vous êtes inscrit" in body and "2 personnes" in body
    assert page.headers["Cache-Control"] == "no-store"
    assert 'name="robots" content="noindex' in body
    (row,) = registrations(db, event)
    assert (row.name, row.email, row.people, row.needs_ride, row.status) == (
        "Jeanne Martin",
        "jeanne@example.org",
        2,
        True,
        "confirmed",
    )
    mail = db.session.scalar(
        db.select(OutboxMessage).where(OutboxMessage.recipient == "jeanne@example.org")
    )
    assert f"/inscription/{token}" in mail.body


def test_register_with_a_phone_only(client, db, post_form, event):
    response = register(post_form, event, email="", phone="06.12.34.56.78")
    assert response.status_code == 303
    (row,) = registrations(db, event)
    assert row.email is None and row.phone == "06 12 34 56 78"
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_an_address_already_registered_is_neither_shown_nor_changed(
    app, client, db, post_form, event
):
    token = token_of(register(post_form, event, people="2", needs_ride="y", phone="06 11 11 11 11"))
    # Someone else types Jeanne's address: they must not land on her private page nor change it.
    stranger = app.test_client()
    page = stranger.get(f"/evenements/{event.slug}")
    response = stranger.post(
        f"/evenements/{event.slug}",
        data={
            **FORM,
            "name": "Mallory",
            "email": "JEANNE@Example.org",
            "phone": "06 99 99 99 99",
            "people": "1",
            "csrf_token": re.search(
                r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', text(page)
            ).group(1),
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/evenements/{event.slug}#main")
    answer = stranger.get(response.headers["Location"])
    body = text(answer)
    assert "Cette adresse électronique est déjà inscrite à cet événement" in body
    assert token not in body and "/inscription/" not in body and "06 11 11 11 11" not in body
    (row,) = registrations(db, event)
    db.session.refresh(row)
    assert (row.name, row.people, row.needs_ride, row.phone) == (
        "Jeanne Martin",
        2,
        True,
        "06 11 11 11 11",
    )
    # The link goes to the address instead, to its owner only.
    mails = db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.recipient == "jeanne@example.org")
        .order_by(OutboxMessage.id)
    ).all()
    assert len(mails) == 2 and f"/inscription/{token}" in mails[1].body
    assert "n’a pas changé" in mails[1].body and "Mallory" not in mails[1].body


def test_a_member_typing_an_address_already_registered_is_not_shown_it(
    client, db, auth, event, post_form
):
    owner = make_registration(event, email="owner@example.org", name="Propriétaire")
    make_member(email="membre@example.org")
    db.session.commit()
    auth.login("membre@example.org")
    response = post_form(
        f"/evenements/{event.slug}", {**FORM, "email": "owner@example.org", "people": "3"}
    )
    assert response.status_code == 303 and owner.token not in response.headers["Location"]
    db.session.refresh(owner)
    assert (owner.name, owner.people, owner.member_id) == ("Propriétaire", 1, None)


def test_a_coordinator_registering_an_address_again_updates_it(client, db, auth, event, post_form):
    registration = make_registration(event, email="called@example.org", people=1)
    admin = make_admin()
    db.session.commit()
    auth.login_admin(admin.email)
    response = post_form(
        f"/evenements/{event.slug}", {**FORM, "email": "called@example.org", "people": "3"}
    )
    assert token_of(response) == registration.token
    db.session.refresh(registration)
    assert registration.people == 3


def test_full_event_puts_you_on_the_waiting_list(client, db, post_form, event):
    make_registration(event, people=4)
    db.session.commit()
    assert "liste d’attente" in text(client.get(f"/evenements/{event.slug}"))
    response = register(post_form, event, email="late@example.org")
    page = text(client.get(response.headers["Location"]))
    assert "Liste d’attente" in page and "numéro 1" in page


def form_of(page: str) -> dict:
    """The hidden fields of the registration form as the page gave them (CSRF token and key)."""
    key = re.search(r'name="key" (?:type="hidden" )?value="([^"]+)"', page)
    assert key, "no idempotency key in the form"
    return {
        "csrf_token": re.search(
            r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page
        ).group(1),
        "key": key.group(1),
    }


def test_the_same_form_sent_twice_registers_once(client, db, event):
    url = f"/evenements/{event.slug}"
    data = {
        **FORM,
        "email": "",
        "phone": "06 12 34 56 78",
        "people": "2",
        **form_of(text(client.get(url))),
    }
    first = client.post(url, data=data)
    again = client.post(url, data=data)  # a double click, or Back and send again
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert "Vous êtes inscrit" in text(client.get(again.headers["Location"]))
    (row,) = registrations(db, event)
    assert row.people == 2 and event.capacity - 2 == 2
    # A form shown afresh has a key of its own: the same phone may register another person.
    fresh = form_of(text(client.get(url)))
    assert fresh["key"] != data["key"]
    other = client.post(url, data={**data, **fresh, "name": "Paul Martin"})
    assert other.status_code == 303 and other.headers["Location"] != first.headers["Location"]
    assert len(registrations(db, event)) == 2


def test_a_malformed_form_key_is_refused(client, db, post_form, event):
    response = register(post_form, event, key="not a key")
    assert response.status_code == 422 and "Ce formulaire a expiré" in text(response)
    assert registrations(db, event) == []


def test_closed_event_refuses_with_a_message(client, db, post_form, event):
    from app.core.columns import utcnow

    closed = make_event(registration_closes_at=utcnow() - timedelta(hours=1))
    db.session.commit()
    response = post_form(f"/evenements/{event.slug}", FORM, action=f"/evenements/{closed.slug}")
    assert response.status_code == 409
    assert "sont closes" in text(response)
    assert registrations(db, closed) == []


def test_draft_event_refuses(client, db, post_form, event):
    draft = make_event(status="draft")
    db.session.commit()
    response = post_form(f"/evenements/{event.slug}", FORM, action=f"/evenements/{draft.slug}")
    assert response.status_code == 404
    assert registrations(db, draft) == []


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "adresse électronique valide"),
        ({"email": "", "phone": ""}, "email", "adresse électronique ou un numéro de téléphone"),
        ({"phone": "12 34"}, "phone", "numéro de téléphone"),
        ({"people": "0"}, "people", "Entre 1 et 6 personnes"),
        ({"people": "7"}, "people", "Entre 1 et 6 personnes"),
        ({"people": "deux"}, "people", "Entre 1 et 6 personnes"),
        ({"name": ""}, "name", "Indiquez votre nom"),
        ({"name": "   "}, "name", "Indiquez votre nom"),
        ({"name": " \x07 \t "}, "name", "Indiquez votre nom"),
        ({"name": "x" * 10_000}, "name", "120 caractères au maximum"),
        ({"commune": "99999"}, "commune", "Choisissez une option"),
    ],
)
def test_bad_input_is_explained_next_to_the_field(
    client, db, post_form, event, data, field, message
):
    response = register(post_form, event, **data)
    assert response.status_code == 422
    page = text(response)
    assert f'id="{field}-error"' in page
    assert message in page
    assert registrations(db, event) == []


@pytest.mark.parametrize("phone", ["---", "...", "()", "/", " - . / ( ) "])
@pytest.mark.parametrize("email", ["", "jeanne@example.org"])
def test_a_phone_of_separators_only_is_refused(client, db, post_form, event, phone, email):
    response = register(post_form, event, email=email, phone=phone)
    assert response.status_code == 422
    page = text(response)
    assert (
        'id="phone-error"' in page
        and "Saisissez un numéro de téléphone, par exemple 06 12 34 56 78" in page
    )
    assert f'value="{phone.strip()}"' in page
    assert registrations(db, event) == []


def test_a_phone_too_long_gets_the_phone_message(client, db, post_form, event):
    response = register(post_form, event, phone="06 12 34 56 78 " * 3)
    assert response.status_code == 422
    error = re.search(r'id="phone-error"[^>]*>(.*?)</', text(response), re.S).group(1)
    assert "Saisissez un numéro de téléphone" in error and "40" not in error


def test_what_was_typed_is_kept(client, db, post_form, event):
    response = register(
        post_form, event, name="Jeanne <b>Martin</b>", people="9", email="jeanne@example.org"
    )
    page = text(response)
    assert 'value="Jeanne &lt;b&gt;Martin&lt;/b&gt;"' in page
    assert 'value="jeanne@example.org"' in page


def test_html_and_control_characters_in_names(client, db, post_form, event, auth):
    response = register(post_form, event, name="<script>alert(1)</script>\x07 Zoé\x00")
    assert response.status_code == 303
    (row,) = registrations(db, event)
    assert row.name == "<script>alert(1)</script> Zoé"
    page = text(client.get(response.headers["Location"]))
    assert (
        "<script>alert(1)</script>" not in page
        and "&lt;script&gt;alert(1)&lt;/script&gt; Zoé" in page
    )
    admin = make_admin()
    db.session.commit()
    auth.login_admin(admin.email)
    organiser = text(client.get(f"/evenements/{event.slug}/organisation"))
    assert "<script>alert(1)</script>" not in organiser and "&lt;script&gt;" in organiser


# --- Rate limit -----------------------------------------------------------------------------------


def test_public_forms_are_rate_limited_per_address(app, client, db, post_form, event, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT", 2)
    for n in range(2):
        assert register(post_form, event, email=f"p{n}@example.org").status_code == 303
    response = register(post_form, event, name="Troisième", email="p3@example.org")
    assert response.status_code == 429
    page = text(response)
    assert "Trop d’envois depuis votre connexion" in page
    assert 'value="Troisième"' in page
    assert len(registrations(db, event)) == 2
    other = app.test_client()
    page = other.get(f"/evenements/{event.slug}")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', text(page)).group(1)
    elsewhere = other.post(
        f"/evenements/{event.slug}",
        data={**FORM, "email": "other@example.org", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert elsewhere.status_code == 303


# --- Signed-in people -----------------------------------------------------------------------------


def test_a_signed_in_member_gets_the_form_prefilled(client, db, auth, event, post_form):
    member = make_member(
        email="membre@example.org", first_name="Odile", last_name="Faure", phone="06 11 22 33 44"
    )
    db.session.commit()
    auth.login("membre@example.org")
    page = text(client.get(f"/evenements/{event.slug}"))
    assert (
        'value="Odile Faure"' in page
        and 'value="membre@example.org"' in page
        and 'value="06 11 22 33 44"' in page
    )
    response = post_form(
        f"/evenements/{event.slug}", {**FORM, "name": "Odile Faure", "email": "membre@example.org"}
    )
    assert response.status_code == 303
    (row,) = registrations(db, event)
    assert row.member_id == member.id
    assert "Voir ou modifier mon inscription" in text(client.get(f"/evenements/{event.slug}"))


def test_a_registered_member_gets_their_registration_not_the_form_again(
    client, db, auth, event, post_form
):
    member = make_member(email="membre@example.org")
    commune_id = carpool.pickup_points()[0].commune_id
    registration = make_registration(
        event,
        email="membre@example.org",
        member_id=member.id,
        people=3,
        needs_ride=True,
        commune_id=commune_id,
    )
    db.session.commit()
    assert registration.ride_request.status == "open"
    auth.login("membre@example.org")
    page = text(client.get(f"/evenements/{event.slug}"))
    assert (
        "Vous êtes inscrit à cet événement" in page and "Voir ou modifier mon inscription" in page
    )
    assert f'href="/inscription/{registration.token}"' in page
    assert 'name="people"' not in page and 'name="needs_ride"' not in page
    # The form of an earlier visit, sent with its defaults (1 person, no ride), changes nothing.
    response = post_form(f"/evenements/{event.slug}", {**FORM, "email": "membre@example.org"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/inscription/{registration.token}#main")
    assert "Vous êtes déjà inscrit à cet événement" in text(
        client.get(response.headers["Location"])
    )
    db.session.refresh(registration)
    assert (registration.people, registration.needs_ride, registration.ride_request.status) == (
        3,
        True,
        "open",
    )


def test_an_admin_registers_someone_who_called(client, db, auth, event, post_form):
    admin = make_admin(display_name="Coordinatrice")
    db.session.commit()
    auth.login_admin(admin.email)
    page = text(client.get(f"/evenements/{event.slug}"))
    assert "pour inscrire une personne qui a appelé" in page
    assert 'value="Coordinatrice"' not in page
    response = post_form(
        f"/evenements/{event.slug}",
        {**FORM, "name": "Marcel au téléphone", "email": "", "phone": "04 77 00 11 22"},
    )
    assert response.status_code == 303
    (row,) = registrations(db, event)
    assert (row.name, row.email, row.phone, row.created_by_id) == (
        "Marcel au téléphone",
        None,
        "04 77 00 11 22",
        admin.id,
    )


# --- The private link ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["x", "a" * 43, "../../etc/passwd", "a" * 200])
def test_wrong_tokens_are_404(client, db, event, token):
    make_registration(event)
    db.session.commit()
    assert client.get(f"/inscription/{token}").status_code == 404


def test_tokens_are_long_and_random(db, event):
    tokens = {make_registration(event).token for _ in range(3)}
    assert len(tokens) == 3 and all(len(t) >= 43 for t in tokens)


def test_change_and_cancel_through_the_private_link(client, db, post_form, event):
    token = token_of(register(post_form, event, people="2"))
    # The browser's confirmation has the buttons "OK" and "Annuler": the question says which keeps what.
    manage = client.get(f"/inscription/{token}").get_data(as_text=True)
    assert "Annuler\u00a0»\u00a0: je garde mon inscription" in html_lib.unescape(manage)
    response = post_form(f"/inscription/{token}", {"people": "4", "needs_ride": "y"})
    assert response.status_code == 303
    (row,) = registrations(db, event)
    assert row.people == 4 and row.needs_ride
    too_many = post_form(f"/inscription/{token}", {"people": "5"})
    assert too_many.status_code == 409 and "Il ne reste plus de place" in text(too_many)
    waiting_token = token_of(register(post_form, event, email="next@example.org"))
    response = post_form(f"/inscription/{token}", {}, action=f"/inscription/{token}/annuler")
    assert response.status_code == 303
    page = text(client.get(f"/inscription/{token}"))
    assert "Cette inscription est annulée" in page
    assert "Confirmée" in text(client.get(f"/inscription/{waiting_token}"))


def test_change_with_bad_input(client, db, post_form, event):
    token = token_of(register(post_form, event))
    response = post_form(f"/inscription/{token}", {"people": "0"})
    assert response.status_code == 422 and "Entre 1 et 6 personnes" in text(response)


# --- Carpool through the pages ----------------------------------------------------------------------


def offer(post_form, token, **data):
    values = {
        "offer-pickup_point": "0",
        "offer-pickup_text": "",
        "offer-departure": "09:00",
        "offer-seats": "3",
        "offer-note": "",
    }
    values.update({f"offer-{k}": v for k, v in data.items()})
    return post_form(f"/inscription/{token}", values, action=f"/inscription/{token}/trajet")


def test_offer_book_and_cancel_without_javascript(client, db, post_form, event):
    boen = carpool.pickup_points()[0]
    driver = token_of(
        register(post_form, event, email="driver@example.org", phone="0611111111", offers_ride="y")
    )
    response = offer(post_form, driver, pickup_point=str(boen.id), note="Voiture <rouge>")
    assert response.status_code == 303
    ride = db.session.scalar(db.select(Ride))
    assert ride.pickup == "Place de la mairie, Boën-sur-Lignon" and ride.seats == 3
    public = text(client.get(f"/evenements/{event.slug}"))
    assert (
        "09:00 depuis Place de la mairie, Boën-sur-Lignon" in public and "3 places libres" in public
    )
    assert "Voiture &lt;rouge&gt;" in public and "06 11 11 11 11" not in public

    passenger = token_of(
        register(
            post_form,
            event,
            name="Paul Passager",
            email="paul@example.org",
            phone="0622222222",
            needs_ride="y",
        )
    )
    page = text(client.get(f"/inscription/{passenger}"))
    assert f"/inscription/{passenger}/trajets/{ride.id}/reserver" in page
    response = post_form(
        f"/inscription/{passenger}",
        {f"ride{ride.id}-seats": "1"},
        action=f"/inscription/{passenger}/trajets/{ride.id}/reserver",
    )
    assert response.status_code == 303
    page = text(client.get(f"/inscription/{passenger}"))
    assert "Votre place" in page and "06 11 11 11 11" in page
    driver_page = text(client.get(f"/inscription/{driver}"))
    assert "Paul Passager" in driver_page and "06 22 22 22 22" in driver_page

    response = post_form(
        f"/inscription/{passenger}", {}, action=f"/inscription/{passenger}/reservation/annuler"
    )
    assert response.status_code == 303
    assert db.session.scalar(db.select(Booking)).status == "cancelled"
    assert "Paul Passager" not in text(client.get(f"/inscription/{driver}"))


def test_booking_with_htmx_returns_the_carpool_section(client, db, post_form, event):
    driver = make_registration(event, offers_ride=True)
    ride = carpool.offer_ride(driver, departure=time(9, 0), seats=1, pickup_text="Place")
    first = make_registration(event)
    second = make_registration(event)
    db.session.commit()
    htmx = {"HX-Request": "true"}
    response = post_form(
        f"/inscription/{first.token}",
        {f"ride{ride.id}-seats": "1"},
        action=f"/inscription/{first.token}/trajets/{ride.id}/reserver",
        headers=htmx,
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<section id="carpool"') and "<html" not in body
    assert "Votre place est réservée" in body
    full = post_form(
        f"/inscription/{second.token}",
        {f"ride{ride.id}-seats": "1"},
        action=f"/inscription/{second.token}/trajets/{ride.id}/reserver",
        headers=htmx,
    )
    assert full.status_code == 409
    assert "complète" in text(full) and "<html" not in text(full)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"departure": "10:00"}, "doit partir avant le début"),
        ({"departure": "25:99"}, "Indiquez une heure"),
        ({"seats": "0"}, "Entre 1 et 8 places"),
        ({"seats": "9"}, "Entre 1 et 8 places"),
        ({"pickup_text": ""}, "Choisissez un point de départ"),
    ],
)
def test_bad_rides_are_refused(client, db, post_form, event, data, message):
    token = token_of(register(post_form, event))
    values = {"pickup_text": "Sur la place", **data}
    response = offer(post_form, token, **values)
    assert response.status_code in (409, 422)
    assert message in text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(Ride)) == 0


def test_ride_requests_through_the_page(client, db, post_form, event):
    token = token_of(register(post_form, event, people="2"))
    response = post_form(
        f"/inscription/{token}",
        {
            "request-pickup_point": "0",
            "request-pickup_text": "Hameau du Bost",
            "request-seats": "2",
        },
        action=f"/inscription/{token}/demande",
    )
    assert response.status_code == 303
    assert "Hameau du Bost" in text(client.get(f"/evenements/{event.slug}"))
    post_form(f"/inscription/{token}", {}, action=f"/inscription/{token}/demande/annuler")
    assert "Hameau du Bost" not in text(client.get(f"/evenements/{event.slug}"))


def test_a_ride_of_another_event_is_404(client, db, post_form, event):
    other = make_event()
    driver = make_registration(other)
    ride = carpool.offer_ride(driver, departure=time(9, 0), seats=2, pickup_text="Ailleurs")
    registration = make_registration(event)
    db.session.commit()
    response = post_form(
        f"/inscription/{registration.token}",
        {f"ride{ride.id}-seats": "1"},
        action=f"/inscription/{registration.token}/trajets/{ride.id}/reserver",
    )
    assert response.status_code == 404


def test_no_more_seats_than_the_party(client, db, post_form, event):
    driver = make_registration(event, offers_ride=True)
    ride = carpool.offer_ride(driver, departure=time(9, 0), seats=4, pickup_text="Place")
    alone = make_registration(event, people=1)
    db.session.commit()
    response = post_form(
        f"/inscription/{alone.token}",
        {f"ride{ride.id}-seats": "2"},
        action=f"/inscription/{alone.token}/trajets/{ride.id}/reserver",
    )
    assert response.status_code == 422
    assert "1 place au maximum" in text(response)
    request = post_form(
        f"/inscription/{alone.token}",
        {"request-pickup_point": "0", "request-pickup_text": "Ici", "request-seats": "3"},
        action=f"/inscription/{alone.token}/demande",
    )
    assert request.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 0
