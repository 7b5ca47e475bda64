"""Content `/admin/contenu`: FAQ (both languages, order, publish, delete), static pages, events
(create, edit, publish, duplicate for next month) and the "was this page useful?" counts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from app.audit.models import AuditEntry
from app.content import feedback
from app.content.models import FaqEntry, FeedbackVote, Page
from app.core.calendar import PARIS
from app.core.extensions import db as _db
from app.events.models import Event
from app.members.models import Commune
from tests.support.factories import make_event
from tests.support.http import csrf_from


@pytest.fixture
def admin(admin, client):
    """The signed-in admin (tests/web/conftest.py), reading the pages in English."""
    client.set_cookie("lang", "en")
    return admin


def _post(client, page_url, action, data=None, **kwargs):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)


def _faq(**overrides):
    data = {
        "question_fr": "Puis-je payer au marché ?",
        "question_en": "Can I pay at the market?",
        "answer_fr": "Oui, avec la carte.",
        "answer_en": "Yes, with the card.",
        "published": "y",
    }
    data.update(overrides)
    return data


def _public_questions(client, lang="fr"):
    html = client.get(f"/faq?lang={lang}").get_data(as_text=True)
    return [q.strip() for q in re.findall(r"<summary[^>]*>(.*?)</summary>", html, re.S)]


def test_faq_create_requires_both_languages_and_shows_publicly(client, admin, db):
    missing = _post(
        client, "/admin/contenu/faq/nouvelle", "/admin/contenu/faq/nouvelle", _faq(answer_en="")
    )
    assert missing.status_code == 422
    assert 'id="answer_en-error">Write the answer in English.' in missing.get_data(as_text=True)
    assert "Puis-je payer au marché ?" in missing.get_data(as_text=True)  # kept
    response = _post(client, "/admin/contenu/faq/nouvelle", "/admin/contenu/faq/nouvelle", _faq())
    assert response.status_code == 303
    entry = _db.session.scalar(
        _db.select(FaqEntry).where(FaqEntry.question_en == "Can I pay at the market?")
    )
    assert entry.published and entry.slug.startswith("puis-je-payer-au-marche")
    assert any("Puis-je payer au marché ?" in q for q in _public_questions(client, "fr"))
    assert any("Can I pay at the market?" in q for q in _public_questions(client, "en"))
    assert (
        _db.session.scalar(
            _db.select(AuditEntry).where(AuditEntry.action == "content.changed")
        ).details["change"]
        == "created"
    )


def test_faq_order_publish_and_delete(client, admin, db):
    for n in range(3):
        _post(
            client,
            "/admin/contenu/faq/nouvelle",
            "/admin/contenu/faq/nouvelle",
            _faq(question_fr=f"Question {n} ?", question_en=f"Question {n}?"),
        )
    first, second, third = _db.session.scalars(
        _db.select(FaqEntry).order_by(FaqEntry.position)
    ).all()

    def order():
        return [q for q in _public_questions(client, "en") if q.startswith("Question")]

    assert order() == ["Question 0?", "Question 1?", "Question 2?"]
    assert (
        _post(
            client,
            "/admin/contenu/faq",
            f"/admin/contenu/faq/{third.id}/deplacer",
            {"direction": "up"},
        ).status_code
        == 303
    )
    assert order() == ["Question 0?", "Question 2?", "Question 1?"]
    _post(
        client,
        "/admin/contenu/faq",
        f"/admin/contenu/faq/{first.id}/deplacer",
        {"direction": "down"},
    )
    assert order() == ["Question 2?", "Question 0?", "Question 1?"]
    _post(
        client,
        "/admin/contenu/faq",
        f"/admin/contenu/faq/{first.id}/deplacer",
        {"direction": "sideways"},
    )
    assert order() == ["Question 2?", "Question 0?", "Question 1?"]
    assert (
        _post(
            client,
            "/admin/contenu/faq",
            f"/admin/contenu/faq/{second.id}/publication",
            {"published": "0"},
        ).status_code
        == 303
    )
    assert order() == ["Question 2?", "Question 0?"]
    admin_list = client.get("/admin/contenu/faq").get_data(as_text=True)
    assert "Question 1 ?" in admin_list and "Hidden" in admin_list  # still listed for admins
    confirm = client.get(f"/admin/contenu/faq/{third.id}/supprimer")
    assert confirm.status_code == 200 and "Question 2 ?" in confirm.get_data(as_text=True)
    assert (
        _post(
            client,
            f"/admin/contenu/faq/{third.id}/supprimer",
            f"/admin/contenu/faq/{third.id}/supprimer",
        ).status_code
        == 303
    )
    assert order() == ["Question 0?"]
    assert _db.session.get(FaqEntry, third.id) is None
    assert client.get(f"/admin/contenu/faq/{third.id}").status_code == 404


def test_faq_edit_keeps_input_and_escapes_html(client, admin, db):
    _post(client, "/admin/contenu/faq/nouvelle", "/admin/contenu/faq/nouvelle", _faq())
    entry = _db.session.scalar(_db.select(FaqEntry).order_by(FaqEntry.id.desc()))
    url = f"/admin/contenu/faq/{entry.id}"
    assert 'value="Can I pay at the market?"' in client.get(url).get_data(as_text=True)
    too_long = _post(client, url, url, _faq(question_en="x" * 10_000))
    assert too_long.status_code == 422 and "At most 300 characters." in too_long.get_data(
        as_text=True
    )
    response = _post(client, url, url, _faq(answer_fr="<script>alert(1)</script>\x00 Oui."))
    assert response.status_code == 303
    html = client.get("/faq?lang=fr").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_pages_are_edited_in_both_languages(client, admin, db):
    listing = client.get("/admin/contenu/pages").get_data(as_text=True)
    assert 'href="/admin/contenu/pages/confidentialite"' in listing
    url = "/admin/contenu/pages/confidentialite"
    form = client.get(url).get_data(as_text=True)
    assert "Privacy and personal data" in form
    missing = _post(
        client,
        url,
        url,
        {"title_fr": "Confidentialité", "title_en": "Privacy", "body_fr": "Texte.", "body_en": ""},
    )
    assert missing.status_code == 422 and "Write the text in English." in missing.get_data(
        as_text=True
    )
    saved = _post(
        client,
        url,
        url,
        {
            "title_fr": "Vos données",
            "title_en": "Your data",
            "body_fr": "## Ce que nous gardons\n\nPeu de choses.",
            "body_en": "Little.",
        },
    )
    assert saved.status_code == 303
    assert (
        _db.session.scalar(_db.select(Page).where(Page.slug == "confidentialite")).title_en
        == "Your data"
    )
    public = client.get("/confidentialite?lang=fr").get_data(as_text=True)
    assert "Vos données" in public and "Peu de choses." in public
    assert client.get("/admin/contenu/pages/nope").status_code == 404


def _event_form(**overrides):
    commune = _db.session.scalar(_db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    start = (datetime.now(PARIS) + timedelta(days=30)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    data = {
        "kind": "meeting",
        "title_fr": "Groupe de travail",
        "title_en": "Working group",
        "description_fr": "Ordre du jour",
        "description_en": "Agenda",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place_name": "Salle des fêtes",
        "address": "Rue de la Mairie",
        "commune": str(commune.id),
        "town": "",
        "capacity": "30",
        "registration_enabled": "y",
        "carpool": "y",
    }
    data.update(overrides)
    return data


def test_events_create_publish_edit_and_duplicate(client, admin, db):
    bad = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(ends_at="2020-01-01T10:00"),
    )
    assert bad.status_code == 422 and "The end must be after the start." in bad.get_data(
        as_text=True
    )
    garbage = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(starts_at="demain", capacity="beaucoup"),
    )
    assert garbage.status_code == 422 and "Enter a date and time like" in garbage.get_data(
        as_text=True
    )
    created = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(),
    )
    assert created.status_code == 303
    event = _db.session.scalar(_db.select(Event).where(Event.title_en == "Working group"))
    assert event.status == "draft"
    assert event.starts_at.astimezone(PARIS).strftime("%H:%M") == "18:30"  # typed as Paris time
    visitor = client.application.test_client()
    assert visitor.get(f"/evenements/{event.slug}").status_code == 404  # drafts are not public

    assert (
        _post(
            client, "/admin/contenu/evenements", f"/admin/contenu/evenements/{event.id}/publier"
        ).status_code
        == 303
    )
    _db.session.refresh(event)
    assert (
        event.status == "published" and visitor.get(f"/evenements/{event.slug}").status_code == 200
    )

    url = f"/admin/contenu/evenements/{event.id}"
    edit = client.get(url).get_data(as_text=True)
    assert 'value="Working group"' in edit
    sequence = event.sequence
    assert _post(client, url, url, _event_form(place_name="Halle")).status_code == 303
    _db.session.refresh(event)
    assert (
        event.place_name == "Halle" and event.sequence == sequence + 1
    )  # calendar apps replace it

    copied = _post(
        client, "/admin/contenu/evenements", f"/admin/contenu/evenements/{event.id}/dupliquer"
    )
    assert copied.status_code == 303
    copy = _db.session.scalar(_db.select(Event).where(Event.id != event.id))
    assert copied.headers["Location"].endswith(f"/admin/contenu/evenements/{copy.id}")
    original, duplicate = event.starts_at.astimezone(PARIS), copy.starts_at.astimezone(PARIS)
    assert duplicate.weekday() == original.weekday() and (duplicate.day - 1) // 7 in (
        (original.day - 1) // 7,
        3,
    )
    assert (duplicate.hour, duplicate.minute) == (18, 30) and copy.status == "draft"
    assert client.get("/admin/contenu/evenements/999999").status_code == 404


def test_publishing_a_started_event_is_refused(client, admin, db):
    event = make_event(days_ahead=-2, status="draft")
    db.session.commit()
    response = _post(
        client, "/admin/contenu/evenements", f"/admin/contenu/evenements/{event.id}/publier"
    )
    assert response.status_code == 422 and "already started" in response.get_data(as_text=True)
    _db.session.refresh(event)
    assert event.status == "draft"


def test_feedback_counts_per_page(client, admin, db):
    for n, (page, useful) in enumerate(
        [("faq", True), ("faq", True), ("faq", False), ("confidentialite", False)]
    ):
        feedback.vote(page, f"visitor-{n}", useful)
    feedback.vote("faq", "visitor-0", False)  # a visitor changing their answer is counted once
    db.session.commit()
    html = client.get("/admin/contenu/avis").get_data(as_text=True)
    rows = {
        page: (int(yes), int(no))
        for page, yes, no in re.findall(
            r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td>',
            html,
        )
    }
    assert rows == {"faq": (1, 2), "confidentialite": (0, 1)}
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(FeedbackVote)) == 4
    hub = client.get("/admin/contenu").get_data(as_text=True)
    assert 'id="feedback-table"' in hub


def test_content_pages_in_french(client, admin, db):
    client.set_cookie("lang", "fr")
    html = client.get("/admin/contenu/faq").get_data(as_text=True)
    assert "Ajouter une question" in html


@pytest.mark.parametrize(
    "field, typed, message",
    [
        ("starts_at", "9999-12-31T10:00", "years ahead: check the year."),
        ("starts_at", "2019-12-31T10:00", "This date is before 2020: check the year."),
        ("ends_at", "9999-12-31T12:00", "years ahead: check the year."),
        ("registration_closes_at", "0001-01-01T10:00", "This date is before 2020: check the year."),
    ],
)
def test_event_dates_out_of_range_are_refused(client, admin, db, field, typed, message):
    response = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(**{field: typed}),
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _db.session.scalar(_db.select(_db.func.count(Event.id))) == 0


def test_duplicating_an_event_past_the_calendar_is_refused(client, admin, db):
    starts = datetime(9999, 12, 31, 10, 0, tzinfo=PARIS)  # made before the form checked the year
    event = make_event(starts_at=starts, ends_at=starts + timedelta(hours=2))
    db.session.commit()
    response = _post(
        client, "/admin/contenu/evenements", f"/admin/contenu/evenements/{event.id}/dupliquer"
    )
    assert response.status_code == 422 and "The copy would fall after 2100" in response.get_data(
        as_text=True
    )
    assert _db.session.scalar(_db.select(_db.func.count(Event.id))) == 1


def test_event_form_reports_every_error_at_once(client, admin, db):
    response = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(
            title_en="", capacity="beaucoup", commune="", town="", ends_at="2020-01-01T10:00"
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Write the title in English." in html
    assert "Enter a whole number of people" in html
    assert "Choose one of the communes, or write the town of the event." in html
    assert "The end must be after the start." in html


def test_unreadable_event_dates_are_shown_back_as_typed(client, admin, db):
    response = _post(
        client,
        "/admin/contenu/evenements/nouveau",
        "/admin/contenu/evenements/nouveau",
        _event_form(
            starts_at="abc", ends_at="31/02/2026 18:00", registration_closes_at="01/03/2026 18:00"
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # A date input would drop these values and show an empty field: they come back in text inputs.
    assert re.search(r'<input [^>]*name="starts_at" [^>]*type="text" value="abc">', html)
    assert re.search(r'<input [^>]*name="ends_at" [^>]*type="text" value="31/02/2026 18:00">', html)
    # A date read from the French way of writing it comes back in the ISO form a date input shows.
    assert re.search(
        r'<input [^>]*name="registration_closes_at" [^>]*type="datetime-local" value="2026-03-01T18:00">',
        html,
    )
