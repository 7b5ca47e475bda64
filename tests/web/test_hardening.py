"""Hardening found by trying to break in: ids past 64 bits, `?page=` past any page, `next=`
leading elsewhere, HSTS in production."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from app import create_app
from app.core.extensions import db as _db
from app.core.web import MAX_ID, safe_next
from tests.support.factories import make_member
from tests.support.routes import MISSING_ID, sample_url

HUGE_IDS = [
    str(MAX_ID + 1),
    str(2**63 - 1),
    str(2**63),
    "99999999999999999999",
    "99999999999999999999999",
    "9" * 400,
]


def _id_routes(app) -> list:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(rule._converters.get(name), IntegerConverter) for name in rule.arguments)
    ]


def _call(client, rule, url: str):
    method = next(iter(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    return client.open(url, method=method)


def test_every_id_route_is_walked(app):
    rules = {rule.rule for rule in _id_routes(app)}
    # Two routes of the issue, so that a renamed converter cannot empty the walk unnoticed.
    assert "/admin/adherents/<int:member_id>" in rules
    assert "/caisse/ventes/<int:sale_id>/annuler" in rules


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_an_id_past_64_bits_is_404_on_every_route(app, client, admin, huge):
    failures = []
    for rule in _id_routes(app):
        url = sample_url(app, rule).replace(str(MISSING_ID), huge)
        response = _call(client, rule, url)
        if response.status_code != 404:
            failures.append(f"{rule.rule} {url}: {response.status_code}")
    assert not failures, failures


def test_the_largest_id_reaches_the_views_and_is_not_found(app, client, admin):
    """2**31 - 1 (an INTEGER column's largest) reaches the views: their lookups find nothing."""
    failures = []
    for rule in _id_routes(app):
        url = sample_url(app, rule).replace(str(MISSING_ID), str(MAX_ID))
        response = _call(client, rule, url)
        if response.status_code >= 500:
            failures.append(f"{rule.rule}: {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_cancelling_a_sale_past_the_largest_id_is_404(client, huge):
    assert client.post(f"/caisse/ventes/{huge}/annuler").status_code == 404


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("99999999999999999999999", 404),
        ("9" * 400, 404),
        (str(2**63), 404),
        (str(2**63 - 1), 200),  # the last page
        ("99", 200),
        ("-1", 200),  # not a page number: the first page
        ("abc", 200),
    ],
)
def test_history_page_past_64_bits_is_404(db, auth, client, page, status):
    member = make_member()
    _db.session.commit()
    assert auth.login(member.user.email).status_code == 302
    response = client.get(f"/compte/historique?page={page}")
    assert response.status_code == status


@pytest.mark.parametrize(
    "url",
    [
        "/admin/adherents?page=99999999999999999999999",
        "/admin/contenu/abonnes?page=99999999999999999999999",
        "/admin/journal?page=99999999999999999999999",
        "/admin/cotisations?page=99999999999999999999999",
    ],
)
def test_admin_lists_page_past_64_bits_is_404(client, admin, url):
    assert client.get(url).status_code == 404
    assert client.get(url.replace("99999999999999999999999", "999")).status_code == 200


EVIL_NEXT = [
    "//evil.example",
    "/\t/evil.example",
    "/\n/x",
    "/\r\n/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    " /x",
    "/\x00x",
    "/\u202e/x",
    "/\u3000/evil.example",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_safe_next_refuses(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target", ["/", "/faq", "/communes?commune=boen", "/admin/adherents?q=jean%20dupont&page=2"]
)
def test_safe_next_keeps_paths_of_the_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_feedback_never_leads_off_site(client, post_form, target):
    response = post_form("/faq", {"page": "faq", "next": target, "useful": "yes"}, action="/avis")
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == "/#feedback"


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_sign_in_never_leads_off_site(db, client, target):
    from tests.support.http import csrf_from

    member = make_member()
    _db.session.commit()
    page = client.get("/connexion")
    response = client.post(
        "/connexion",
        query_string={"next": target},
        data={
            "login": member.user.email,
            "password": "patias-demo",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/compte"


SECRET = "s" * 40


def test_hsts_in_production(app, database_url):
    production = create_app(
        "production",
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=SECRET,
        PIN_PEPPER=SECRET,
        SESSION_COOKIE_SECURE=False,
    )
    try:
        response = production.test_client().get("/healthz")
        header = response.headers["Strict-Transport-Security"]
        max_age = int(header.split("max-age=")[1].split(";")[0])
        assert max_age >= 365 * 24 * 3600
    finally:
        with production.app_context():
            _db.engine.dispose()


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_an_expired_registration_link_shows_a_page_not_a_500(db, client):
    from datetime import UTC, datetime

    from tests.support.factories import make_event, make_registration

    event = make_event()
    registration = make_registration(event)
    event.starts_at = datetime(2020, 3, 1, 9, 0, tzinfo=UTC)  # long past, whatever today is
    event.ends_at = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)
    _db.session.commit()
    response = client.get(f"/inscription/{registration.token}")
    assert response.status_code == 404
    assert "plus de 30 jours" in response.get_data(as_text=True)
    # Nor can it change anything (its forms are behind the same lookup).
    assert client.post(f"/inscription/{registration.token}/annuler").status_code in (400, 404)
