"""Public event pages: the list by month, past events, an event's page, calendar feeds, the home
page partial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from flask import render_template_string
from icalendar import Calendar

from app.core.calendar import PARIS
from app.core.columns import utcnow
from app.core.mail import OutboxMessage
from tests.support.factories import make_admin, make_event, make_registration


def text(response) -> str:
    return response.get_data(as_text=True)


def test_list_shows_upcoming_events_by_month(client, db):
    soon = make_event(days_ahead=3, title_fr="Réunion bientôt")
    later = make_event(days_ahead=70, title_fr="Réunion plus tard")
    make_event(days_ahead=-20, title_fr="Réunion passée")
    make_event(days_ahead=5, title_fr="Brouillon secret", status="draft")
    db.session.commit()
    page = text(client.get("/evenements"))
    assert "Réunion bientôt" in page and "Réunion plus tard" in page
    assert "Réunion passée" not in page and "Brouillon secret" not in page
    assert page.index("Réunion bientôt") < page.index("Réunion plus tard")
    for event in (soon, later):
        # Its month's heading, in French whatever the date: "Décembre 2026", "Février 2027".
        month = format_date(event.starts_at.astimezone(PARIS), "LLLL y", locale="fr")
        assert f">{month[:1].upper()}{month[1:]}</h2>" in page
    assert page.count('class="event-month"') >= 2


def test_past_events_have_their_own_view(client, db):
    make_event(days_ahead=-20, title_fr="Réunion passée")
    make_event(days_ahead=3, title_fr="Réunion à venir")
    db.session.commit()
    for url in ("/evenements/passes", "/evenements?passes=1"):
        page = text(client.get(url))
        assert "Réunion passée" in page and "Réunion à venir" not in page


def test_list_shows_places_left_and_full_events(client, db):
    open_event = make_event(capacity=12, title_fr="Atelier")
    for _ in range(5):
        make_registration(open_event, people=2)
    full = make_event(capacity=2, title_fr="Visite")
    make_registration(full, people=2)
    db.session.commit()
    page = text(client.get("/evenements"))
    assert "2 places restantes" in page
    assert "Complet" in page


def test_event_page_has_everything_and_the_form(client, db):
    event = make_event(
        capacity=10, at=(9, 30), title_fr="Groupe de travail à Cezay", place_name="Salle des fêtes"
    )
    make_registration(event, people=3)
    db.session.commit()
    response = client.get(f"/evenements/{event.slug}")
    page = text(response)
    assert response.status_code == 200
    assert (
        "Groupe de travail à Cezay" in page
        and "Salle des fêtes" in page
        and "Boën-sur-Lignon" in page
    )
    assert "09:30" in page and "12:30" in page
    assert "7 places restantes" in page
    assert '<label for="name">Nom</label>' in page
    assert "S’inscrire</button>" in page
    assert "Covoiturage" in page


def test_event_page_in_english(client, db):
    event = make_event(title_en="Working group in Cezay")
    db.session.commit()
    page = text(client.get(f"/evenements/{event.slug}?lang=en"))
    assert "Working group in Cezay" in page
    assert '<label for="name">Name</label>' in page
    assert ">Register</button>" in page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_dates_start_with_a_capital_and_keep_the_month_as_written(client, db, language):
    """ "Wednesday, December 23", not "Wednesday, december 23"; "Mercredi 23 décembre"."""
    event = make_event(days_ahead=40)
    registration = make_registration(event, language=language)
    db.session.commit()
    written = format_date(event.starts_at.astimezone(PARIS).date(), "full", locale=language)
    expected = written[:1].upper() + written[1:]
    assert (
        expected != expected.capitalize() if language == "en" else expected == expected.capitalize()
    )
    assert f">{expected}</time>" in text(client.get(f"/evenements/{event.slug}?lang={language}"))
    assert f">{expected}</time>" in text(
        client.get(f"/inscription/{registration.token}?lang={language}")
    )
    mail = db.session.scalar(
        db.select(OutboxMessage).where(OutboxMessage.recipient == registration.email)
    )
    assert f"\n{expected}, " in mail.body


def test_drafts_are_hidden_except_from_admins(client, db, auth):
    draft = make_event(status="draft")
    admin = make_admin()
    db.session.commit()
    assert client.get(f"/evenements/{draft.slug}").status_code == 404
    assert client.get(f"/evenements/{draft.slug}.ics").status_code == 404
    auth.login_admin(admin.email)
    response = client.get(f"/evenements/{draft.slug}")
    assert response.status_code == 200 and "Brouillon" in text(response)


def test_unknown_event_is_404(client, db):
    assert client.get("/evenements/nothing-here").status_code == 404


def test_closed_registration_shows_why(client, db):
    past = make_event(days_ahead=-3)
    closed = make_event(registration_closes_at=utcnow() - timedelta(days=1))
    cancelled = make_event(status="cancelled")
    db.session.commit()
    assert "a déjà eu lieu" in text(client.get(f"/evenements/{past.slug}"))
    page = text(client.get(f"/evenements/{closed.slug}"))
    assert "sont closes" in page and "S’inscrire</button>" not in page
    assert "est annulé" in text(client.get(f"/evenements/{cancelled.slug}"))


def test_description_html_is_escaped(client, db):
    event = make_event(description_fr="<script>alert(1)</script>\n\nSecond paragraphe")
    db.session.commit()
    page = text(client.get(f"/evenements/{event.slug}"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<p>Second paragraphe</p>" in page


# --- Calendar feeds -------------------------------------------------------------------------------


def test_calendar_feed_lists_upcoming_events_with_stable_uids(client, db):
    first = make_event(days_ahead=3, at=(9, 30))
    second = make_event(days_ahead=40, at=(18, 0))
    make_event(days_ahead=-5)
    make_event(days_ahead=5, status="draft")
    db.session.commit()
    one = client.get("/evenements.ics")
    two = client.get("/evenements.ics")
    assert one.status_code == 200 and one.mimetype == "text/calendar"
    calendar = Calendar.from_ical(one.data)
    events = calendar.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [
        f"event-{first.id}@patias",
        f"event-{second.id}@patias",
    ]
    assert [str(e["uid"]) for e in Calendar.from_ical(two.data).walk("VEVENT")] == [
        str(e["uid"]) for e in events
    ]
    starts = [e.decoded("dtstart") for e in events]
    assert [(s.hour, s.minute) for s in starts] == [(9, 30), (18, 0)]
    assert all(str(s.tzinfo) == "Europe/Paris" for s in starts)
    assert all(e["dtstart"].params["TZID"] == "Europe/Paris" for e in events)
    assert calendar.walk("VTIMEZONE")
    assert all("sequence" in e and "last-modified" in e and "dtstamp" in e for e in events)


def test_an_event_calendar_is_updated_not_duplicated(client, db):
    event = make_event(at=(9, 30))
    db.session.commit()
    before = Calendar.from_ical(client.get(f"/evenements/{event.slug}.ics").data).walk("VEVENT")[0]
    event.starts_at = event.starts_at + timedelta(hours=1)
    event.ends_at = event.ends_at + timedelta(hours=1)
    db.session.commit()
    after = Calendar.from_ical(client.get(f"/evenements/{event.slug}.ics").data).walk("VEVENT")[0]
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert after.decoded("dtstart").hour == 10
    assert after.decoded("last-modified") >= before.decoded("last-modified")


def test_cancelled_events_stay_in_the_feed_as_cancelled(client, db):
    event = make_event(status="cancelled")
    db.session.commit()
    (vevent,) = Calendar.from_ical(client.get("/evenements.ics").data).walk("VEVENT")
    assert str(vevent["uid"]) == f"event-{event.id}@patias" and str(vevent["status"]) == "CANCELLED"


# --- The home page partial --------------------------------------------------------------------------


def test_upcoming_events_partial(app, db):
    events = [
        make_event(days_ahead=d, title_fr=f"Prochain {d}", capacity=10) for d in (9, 2, 5, 30)
    ]
    make_event(days_ahead=1, status="draft", title_fr="Brouillon")
    make_registration(events[1], people=4)
    db.session.commit()
    with app.test_request_context("/"):
        html = render_template_string('{% include "events/_upcoming.html" %}')
    assert html.index("Prochain 2") < html.index("Prochain 5") < html.index("Prochain 9")
    assert "Prochain 30" not in html and "Brouillon" not in html
    assert "6 places restantes" in html
    assert 'href="/evenements"' in html
    assert f'href="/evenements/{events[1].slug}"' in html


def test_upcoming_events_global_takes_a_limit(app, db):
    for d in range(1, 6):
        make_event(days_ahead=d)
    db.session.commit()
    with app.test_request_context("/"):
        assert len(app.jinja_env.globals["upcoming_events"](limit=4)) == 4
        assert len(app.jinja_env.globals["upcoming_events"]()) == 3
