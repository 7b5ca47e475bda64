"""/communes: the list, the eligibility checker (htmx fragment or full page) and "keep me informed"."""

from __future__ import annotations

import re

import pytest
from flask import template_rendered
from flask_babel import force_locale, gettext

from app.content.models import Subscriber

HTMX = {"HX-Request": "true"}


@pytest.fixture
def rendered(app):
    """Names of the templates rendered during the test, in order."""
    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_lists_the_21_communes_and_the_delegated_ones(client):
    html = html_of(client.get("/communes"))
    listing = re.search(r'<ul class="commune-list">(.*?)</ul>', html, re.S).group(1)
    assert listing.count("<li>") == 21
    for name in (
        "Ailleux",
        "Boën-sur-Lignon",
        "Sainte-Foy-Saint-Sulpice",
        "Solore-en-Forez",
        "L&#39;Hôpital-sous-Rochefort",
    ):
        assert name in listing


def test_the_checker_is_wired_for_htmx_and_for_plain_get(client):
    html = html_of(client.get("/communes"))
    form = re.search(r'<form method="get" action="/communes".*?</form>', html, re.S).group(0)
    field = re.search(r"<input[^>]*name=\"commune\"[^>]*>", form).group(0)
    assert 'hx-get="/communes"' in field
    assert 'hx-trigger="input changed delay:300ms, search"' in field
    assert 'hx-target="#eligibility-result"' in field
    assert 'id="eligibility-result"' in html and 'aria-live="polite"' in html
    assert '<label for="commune">' in form


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("BOEN", "Les habitants de Boën-sur-Lignon peuvent adhérer"),
        ("st etienne le molard", "Les habitants de Saint-Étienne-le-Molard peuvent adhérer"),
        ("sainte foy st sulpice", "Les habitants de Sainte-Foy-Saint-Sulpice peuvent adhérer"),
        ("L'Hopital sous Rochefort", "L&#39;Hôpital-sous-Rochefort fait partie de Solore-en-Forez"),
        ("Debats Riviere d'Orpra", "Débats-Rivière-d&#39;Orpra fait partie de Solore-en-Forez"),
        ("Saint-Laurent-Rochefort", "Saint-Laurent-Rochefort fait partie de Solore-en-Forez"),
    ],
)
def test_plain_get_answers_yes_in_the_full_page(client, rendered, typed, answer):
    response = client.get("/communes", query_string={"commune": typed})
    assert response.status_code == 200
    html = html_of(response)
    assert answer in html
    assert rendered[0] == "public/communes.html"
    assert "<html" in html
    assert 'href="/adherer?commune=' in html


def test_htmx_gets_only_the_answer_fragment(client, rendered):
    response = client.get("/communes", query_string={"commune": "boen"}, headers=HTMX)
    assert response.status_code == 200
    html = html_of(response)
    assert rendered == ["public/_eligibility.html"] or rendered[0] == "public/_eligibility.html"
    assert "public/communes.html" not in rendered
    assert "<html" not in html and 'data-template="eligibility"' in html
    assert "Boën-sur-Lignon" in html
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_gets_the_full_page(client, rendered):
    client.get("/communes?commune=boen", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert rendered[0] == "public/communes.html"


@pytest.mark.parametrize(
    ("typed", "phrase"),
    [
        ("Montbrison", "Pas encore."),
        ("Lyon", "Pas encore."),
        ("Saint-Étienne", "Vouliez-vous dire"),
    ],
)
def test_outside_the_area_a_kind_not_yet_and_a_way_to_stay_informed(client, typed, phrase):
    for headers in ({}, HTMX):
        html = html_of(client.get("/communes", query_string={"commune": typed}, headers=headers))
        assert phrase in html
        assert "peuvent adhérer" not in html
        assert 'action="/communes/informer"' in html and 'name="informer-email"' in html


def test_saint_etienne_suggests_but_does_not_accept_saint_etienne_le_molard(client):
    html = html_of(client.get("/communes", query_string={"commune": "Saint-Étienne"}))
    assert 'href="/communes?commune=Saint-%C3%89tienne-le-Molard"' in html
    assert "Les habitants de Saint-Étienne-le-Molard peuvent adhérer" not in html


def test_ambiguous_text_lists_the_choices(client):
    html = html_of(client.get("/communes", query_string={"commune": "saint"}, headers=HTMX))
    assert "Plusieurs communes correspondent" in html
    assert html.count('<li><a href="/communes?commune=') >= 5


@pytest.mark.parametrize(
    "typed", ["", "   ", "x" * 10_240, "<script>alert(1)</script>", "\x00\x1b[2J", "é" * 5000]
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_bad_input_never_breaks_the_checker(client, typed, headers):
    response = client.get("/communes", query_string={"commune": typed}, headers=headers)
    assert response.status_code == 200
    html = html_of(response)
    assert "<script>alert(1)</script>" not in html
    assert "\x00" not in html


def test_the_answer_is_in_english_too(client):
    html = html_of(client.get("/communes?commune=BOEN&lang=en", headers=HTMX))
    assert "Residents of Boën-sur-Lignon may join" in html
    html = html_of(client.get("/communes?commune=Lyon&lang=en", headers=HTMX))
    assert "Not yet." in html and "Keep me informed" in html


# Keep me informed ----------------------------------------------------------------------------------


def test_stay_informed_without_javascript(client, post_form, db):
    response = post_form(
        "/communes?commune=Lyon",
        {"informer-email": "paul@example.test", "informer-commune": "Lyon"},
        action="/communes/informer",
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/communes")
    subscriber = db.session.scalars(db.select(Subscriber)).one()
    assert (subscriber.email, subscriber.commune, subscriber.language) == (
        "paul@example.test",
        "Lyon",
        "fr",
    )
    assert "Merci" in html_of(client.get(response.headers["Location"]))


def test_stay_informed_with_htmx(client, post_form, db, rendered):
    response = post_form(
        "/communes?commune=Lyon&lang=en",
        {"informer-email": "Paul@Example.test"},
        action="/communes/informer",
        headers=HTMX,
    )
    assert response.status_code == 200
    assert rendered[-1] == "public/_subscribe.html"
    assert "Thank you!" in html_of(response) and "<html" not in html_of(response)
    assert db.session.scalars(db.select(Subscriber)).one().language == "en"


def test_stay_informed_twice_keeps_one_row(post_form, db):
    for _ in range(2):
        post_form(
            "/communes?commune=Lyon",
            {"informer-email": "paul@example.test"},
            action="/communes/informer",
        )
    assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 1


@pytest.mark.parametrize(
    ("email", "msgid"),
    [
        ("", "Enter your e-mail address."),
        ("paul", "Enter a valid e-mail address, for example name@example.fr."),
        ("<script>@x", "Enter a valid e-mail address, for example name@example.fr."),
        ("a" * 10_240 + "@example.test", "This e-mail address is too long."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_stay_informed_refuses_bad_addresses(client, post_form, db, email, msgid, headers):
    with force_locale("fr"):
        message = str(gettext(msgid))
    assert message != msgid
    response = post_form(
        "/communes?commune=Lyon",
        {"informer-email": email, "informer-commune": "Lyon"},
        action="/communes/informer",
        headers=headers,
    )
    assert response.status_code == (200 if headers else 422)
    html = html_of(response)
    assert f'<p class="error" id="informer-email-error">{message}</p>' in html
    assert "<script>@x" not in html
    if email == "paul":
        assert 'value="paul"' in html
    assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 0


def test_stay_informed_needs_the_csrf_token(client, db):
    response = client.post("/communes/informer", data={"informer-email": "paul@example.test"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 0


def test_stay_informed_is_rate_limited(app, client, post_form, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT", 2)
    for n in range(2):
        assert (
            post_form(
                "/communes", {"informer-email": f"p{n}@example.test"}, action="/communes/informer"
            ).status_code
            == 303
        )
    refused = post_form(
        "/communes", {"informer-email": "p9@example.test"}, action="/communes/informer"
    )
    assert refused.status_code == 429
    assert "Trop de formulaires" in html_of(refused)
    assert 'value="p9@example.test"' in html_of(refused)
    assert int(refused.headers["Retry-After"]) > 0
    htmx = post_form(
        "/communes",
        {"informer-email": "p9@example.test"},
        action="/communes/informer",
        headers=HTMX,
    )
    assert htmx.status_code == 200 and "Trop de formulaires" in html_of(htmx)
    assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 2
