""" "Cette page vous a-t-elle été utile ?": htmx and plain, one vote per visitor and page, counts."""

from __future__ import annotations

import re

import pytest
from flask import template_rendered

from app.content import feedback
from app.content.models import FeedbackVote
from app.setup.install import load_content

HTMX = {"HX-Request": "true"}
CONTENT_PAGES = [
    ("/", "accueil"),
    ("/communes", "communes"),
    ("/faq", "faq"),
    ("/commercants", "commercants"),
    ("/confidentialite", "confidentialite"),
]


def html_of(response) -> str:
    return response.get_data(as_text=True)


def votes(db):
    return db.session.scalars(db.select(FeedbackVote).order_by(FeedbackVote.id)).all()


@pytest.mark.parametrize(("url", "key"), CONTENT_PAGES)
def test_every_content_page_has_the_widget(client, url, key):
    html = html_of(client.get(url))
    widget = re.search(r'<form class="feedback[^"]*".*?</form>', html, re.S).group(0)
    assert "Cette page vous a-t-elle été utile" in widget
    assert f'name="page" value="{key}"' in widget
    assert (
        'hx-post="/avis"' in widget
        and 'hx-target="this"' in widget
        and 'hx-swap="outerHTML"' in widget
    )
    assert 'action="/avis"' in widget and 'method="post"' in widget
    assert 'value="yes">Oui<' in widget and 'value="no">Non<' in widget
    english = html_of(client.get(url, query_string={"lang": "en"}))
    assert "Was this page useful?" in english and ">Yes<" in english


def test_htmx_vote_replaces_the_widget_and_counts(client, post_form, db, app):
    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    response = post_form(
        "/adherer", {"page": "faq", "next": "/faq", "useful": "yes"}, action="/avis", headers=HTMX
    )
    assert response.status_code == 200
    html = html_of(response)
    assert "Merci pour votre réponse" in html and "<html" not in html
    assert names[-1] == "public/_feedback_done.html"
    template_rendered.disconnect(record, app)
    assert (
        "visitor=" in response.headers["Set-Cookie"]
        and "HttpOnly" in response.headers["Set-Cookie"]
    )
    assert feedback.counts("faq") == feedback.Counts(useful=1, not_useful=0)
    # The same visitor sees the thank-you instead of the question from now on.
    assert "Merci pour votre réponse" in html_of(client.get("/faq"))
    assert "Merci pour votre réponse" not in html_of(client.get("/communes"))


def test_plain_vote_redirects_back_to_the_page(client, post_form, db):
    response = post_form(
        "/adherer",
        {"page": "communes", "next": "/communes?commune=boen", "useful": "no"},
        action="/avis",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/communes?commune=boen#feedback"
    assert feedback.counts("communes") == feedback.Counts(useful=0, not_useful=1)
    assert "Merci pour votre réponse" in html_of(client.get("/communes"))


def test_one_vote_per_visitor_and_page_a_second_answer_changes_it(client, post_form, db):
    post_form("/adherer", {"page": "faq", "next": "/faq", "useful": "yes"}, action="/avis")
    post_form(
        "/adherer", {"page": "faq", "next": "/faq", "useful": "no"}, action="/avis", headers=HTMX
    )
    post_form("/adherer", {"page": "faq", "next": "/faq", "useful": "no"}, action="/avis")
    assert [(v.page, v.useful) for v in votes(db)] == [("faq", False)]
    post_form("/adherer", {"page": "accueil", "next": "/", "useful": "yes"}, action="/avis")
    assert feedback.counts("accueil").total == 1 and feedback.counts("faq").total == 1


def test_other_visitors_count_separately(app, post_form, db):
    for useful in ("yes", "yes", "no"):
        visitor = app.test_client()
        page = visitor.get("/faq")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html_of(page)).group(1)
        visitor.post(
            "/avis", data={"csrf_token": token, "page": "faq", "next": "/faq", "useful": useful}
        )
    assert feedback.counts("faq") == feedback.Counts(useful=2, not_useful=1)
    assert len({v.visitor for v in votes(db)}) == 3


def test_a_forged_visitor_cookie_is_ignored(client, post_form, db):
    client.set_cookie("visitor", "not-signed")
    post_form("/adherer", {"page": "faq", "next": "/faq", "useful": "yes"}, action="/avis")
    assert votes(db)[0].visitor != "not-signed"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"page": "faq", "useful": "maybe"}, 400),
        ({"page": "", "useful": "yes"}, 400),
        ({"page": "<script>", "useful": "yes"}, 400),
        ({"page": "x" * 10_240, "useful": "yes"}, 400),
        ({"useful": "yes"}, 400),
    ],
)
def test_bad_votes_are_refused(post_form, db, data, status):
    assert post_form("/faq", data, action="/avis").status_code == status
    assert votes(db) == []


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_redirects_stay_on_this_site(post_form, target):
    response = post_form(
        "/adherer", {"page": "faq", "next": target, "useful": "yes"}, action="/avis"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/#feedback"


def test_votes_are_rate_limited(app, post_form, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT", 1)
    post_form("/adherer", {"page": "faq", "next": "/faq", "useful": "yes"}, action="/avis")
    refused = post_form(
        "/adherer", {"page": "accueil", "next": "/", "useful": "yes"}, action="/avis", headers=HTMX
    )
    assert refused.status_code == 200 and "Trop de formulaires" in html_of(refused)
    assert (
        post_form(
            "/adherer", {"page": "accueil", "next": "/", "useful": "yes"}, action="/avis"
        ).status_code
        == 429
    )
    assert len(votes(db)) == 1


def test_the_vote_needs_the_csrf_token(client, db):
    assert client.post("/avis", data={"page": "faq", "useful": "yes"}).status_code == 400
    assert votes(db) == []


def test_feedback_service(app, db):
    load_content()
    feedback.vote("faq", "v1", True)
    feedback.vote("faq", "v2", False)
    feedback.vote("faq", "v1", False)
    feedback.vote("evenements/12", "v1", True)
    assert feedback.counts("faq") == feedback.Counts(useful=0, not_useful=2)
    assert feedback.counts("evenements/12").useful == 1
    assert feedback.counts("nothing").total == 0
    assert feedback.has_voted("faq", "v2") and not feedback.has_voted("faq", "v3")
    with pytest.raises(ValueError):
        feedback.vote("Bad Key", "v1", True)
