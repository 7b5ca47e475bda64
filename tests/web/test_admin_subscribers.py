"""Subscribers `/admin/contenu/abonnes`: the addresses left on the public "stay informed" form,
listed newest first with a count, searched by e-mail, paginated, downloaded as CSV and removed
one by one (confirmation page, CSRF, audit log without the address)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.audit.models import AuditEntry
from app.content.admin import SUBSCRIBERS_PER_PAGE
from app.content.models import Subscriber
from app.core.extensions import db as _db
from app.members import communes
from tests.support.factories import make_admin, make_cashier, make_member
from tests.support.http import csrf_from

LIST = "/admin/contenu/abonnes"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def admin(admin, client):
    """The signed-in admin (tests/web/conftest.py), reading the pages in English."""
    client.set_cookie("lang", "en")
    return admin


def _subscribe(email: str, commune: str = "", language: str = "fr", days: int = 0) -> Subscriber:
    """A subscriber made through the public form's service, subscribed `days` after START."""
    subscriber = communes.subscribe(email, commune, language)
    subscriber.created_at = START + timedelta(days=days)
    _db.session.flush()
    return subscriber


def _emails(html: str) -> list[str]:
    return re.findall(
        r'<tr id="subscriber-\d+">\s*<th scope="row" class="wrap-text">([^<]+)</th>', html
    )


def _count(html: str) -> int:
    return int(re.search(r'id="subscriber-count">(\d+)<', html).group(1))


def test_the_list_shows_subscribers_newest_first_with_the_count(client, admin, db):
    _subscribe("ancien@example.test", "Roanne", "fr", days=0)
    _subscribe("Recent@Example.test", "Saint-Étienne", "en", days=20)
    _subscribe("milieu@example.test", "", "fr", days=10)
    db.session.commit()
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _emails(html) == ["recent@example.test", "milieu@example.test", "ancien@example.test"]
    assert _count(html) == 3 and "3 subscribers found." in html
    assert "Saint-Étienne" in html and "Roanne" in html
    row = re.search(
        r'<tr id="subscriber-\d+">\s*<th scope="row" class="wrap-text">recent@example.test</th>(.*?)</tr>',
        html,
        re.S,
    ).group(1)
    assert (
        "English" in row and "3/21/26" in row
    )  # language and date of subscription (English short date)
    assert '<caption class="visually-hidden" id="subscribers-caption">' in html
    assert '<label for="q">E-mail contains</label>' in html
    assert "no-store" in response.headers["Cache-Control"]


def test_an_empty_list_says_so(client, admin, db):
    html = client.get(LIST).get_data(as_text=True)
    assert (
        _count(html) == 0
        and "0 subscribers found." in html
        and 'id="subscribers-table"' not in html
    )


def test_search_by_email_ignores_case_and_blank_and_over_long_text(client, admin, db):
    _subscribe("claire.martin@gmail.test", days=1)
    _subscribe("paul_durand@orange.test", days=2)
    _subscribe("pauldurand@free.test", days=3)
    db.session.commit()
    assert _emails(client.get(f"{LIST}?q=MARTIN").get_data(as_text=True)) == [
        "claire.martin@gmail.test"
    ]
    # `_` and `%` are plain characters, not SQL wildcards
    assert _emails(client.get(f"{LIST}?q=paul_").get_data(as_text=True)) == [
        "paul_durand@orange.test"
    ]
    assert _emails(client.get(f"{LIST}?q=%25").get_data(as_text=True)) == []
    everyone = ["pauldurand@free.test", "paul_durand@orange.test", "claire.martin@gmail.test"]
    assert _emails(client.get(f"{LIST}?q=+++").get_data(as_text=True)) == everyone
    assert _emails(client.get(f"{LIST}?q=").get_data(as_text=True)) == everyone
    found = client.get(f"{LIST}?q=+durand+").get_data(as_text=True)
    assert "2 subscribers found." in found and _count(found) == 3  # the count is of everyone
    for strange in ("x" * 100_000, "a\x00b", "<script>", "\\", "é" * 300):
        response = client.get(LIST, query_string={"q": strange})
        assert response.status_code == 200, strange
        assert "<script>" not in response.get_data(as_text=True)
    long_one = client.get(LIST, query_string={"q": "durand" + "x" * 1000}).get_data(as_text=True)
    assert (
        "0 subscribers found." in long_one and 'value="durand' + "x" * 248 + '"' in long_one
    )  # cut to 254


def test_the_list_is_paginated(client, admin, db):
    total = SUBSCRIBERS_PER_PAGE + 3
    for n in range(total):
        _subscribe(f"abonne{n:03d}@example.test", days=n)
    db.session.commit()
    first = client.get(LIST).get_data(as_text=True)
    assert (
        len(_emails(first)) == SUBSCRIBERS_PER_PAGE
        and _emails(first)[0] == f"abonne{total - 1:03d}@example.test"
    )
    assert "Page 1 of 2" in first and f'href="{LIST}?page=2"' in first
    second = client.get(f"{LIST}?page=2").get_data(as_text=True)
    assert _emails(second) == [f"abonne{n:03d}@example.test" for n in (2, 1, 0)]
    assert "Page 2 of 2" in second and f'href="{LIST}?page=1"' in second
    assert _emails(client.get(f"{LIST}?page=99").get_data(as_text=True)) == _emails(
        second
    )  # the last page
    for page in ("0", "-1", "abc"):
        assert client.get(f"{LIST}?page={page}").status_code == 200
    assert client.get(f"{LIST}?page={'9' * 30}").status_code == 404  # past 64 bits
    searched = client.get(f"{LIST}?q=abonne0").get_data(as_text=True)
    assert f'href="{LIST}?page=2&amp;q=abonne0"' in searched
    assert (
        len(_emails(client.get(f"{LIST}?q=abonne0&page=2").get_data(as_text=True)))
        == 53 - SUBSCRIBERS_PER_PAGE
    )


def test_htmx_search_returns_the_results_only(client, admin, db):
    _subscribe("claire@example.test")
    db.session.commit()
    response = client.get(f"{LIST}?q=claire", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="subscriber-results"')
    assert "HX-Request" in response.headers["Vary"] and _emails(html) == ["claire@example.test"]


def test_csv_download_has_a_header_and_one_row_per_subscriber(client, admin, db):
    _subscribe("premier@example.test", "Montbrison", "fr", days=0)
    _subscribe("second@example.test", '=HYPERLINK("http://evil.test")', "en", days=1)
    db.session.commit()
    response = client.get(f"{LIST}.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="patias-abonnes-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["Content-Disposition"],
    )
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark, for spreadsheets
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["E-mail", "Commune", "Language", "Subscribed on"]
    assert rows[1:] == [
        [
            "second@example.test",
            '\'=HYPERLINK("http://evil.test")',
            "en",
            "02/03/2026 10:00",
        ],  # never a formula
        ["premier@example.test", "Montbrison", "fr", "01/03/2026 10:00"],  # Europe/Paris time
    ]
    client.set_cookie("lang", "fr")
    french = client.get(f"{LIST}.csv").get_data().decode("utf-8-sig")
    assert french.splitlines()[0] == "Courriel;Commune;Langue;Abonné le"


def test_csv_of_an_empty_list_is_the_header_alone(client, admin, db):
    body = client.get(f"{LIST}.csv").get_data().decode("utf-8-sig")
    assert body == "E-mail;Commune;Language;Subscribed on\r\n"


def test_removing_a_subscriber_asks_then_deletes_and_logs_without_the_address(client, admin, db):
    gone = _subscribe("oubliez-moi@example.test", "Roanne", days=1)
    kept = _subscribe("gardez-moi@example.test", days=2)
    db.session.commit()
    gone_id, kept_id = gone.id, kept.id
    url = f"{LIST}/{gone_id}/supprimer"
    assert f'href="{url}"' in client.get(LIST).get_data(as_text=True)

    confirm = client.get(url)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "oubliez-moi@example.test" in html and f'<form method="post" action="{url}"' in html
    assert _db.session.get(Subscriber, gone_id) is not None  # asking deletes nothing

    response = client.post(url, data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303 and response.headers["Location"] == LIST
    _db.session.expire_all()
    assert _db.session.get(Subscriber, gone_id) is None
    assert _db.session.get(Subscriber, kept_id) is not None
    listing = client.get(LIST).get_data(as_text=True)
    assert "oubliez-moi@example.test is removed from the list." in listing  # the flash message
    assert _emails(listing) == ["gardez-moi@example.test"] and _count(listing) == 1

    entry = _db.session.scalar(
        _db.select(AuditEntry).where(AuditEntry.action == "subscriber.deleted")
    )
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "subscriber", gone_id)
    assert "oubliez" not in str(
        entry.details
    )  # the log does not keep what the person asked to erase
    assert "Subscriber removed" in client.get("/admin/journal").get_data(as_text=True)

    assert client.get(url).status_code == 404
    token = csrf_from(client.get(f"{LIST}/{kept_id}/supprimer").get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert client.get(f"{LIST}/987654/supprimer").status_code == 404


def test_removing_without_a_csrf_token_is_refused(client, admin, db):
    subscriber = _subscribe("reste@example.test")
    db.session.commit()
    url = f"{LIST}/{subscriber.id}/supprimer"
    assert client.post(url).status_code == 400
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    _db.session.expire_all()
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Subscriber)) == 1
    assert (
        _db.session.scalar(_db.select(AuditEntry).where(AuditEntry.action == "subscriber.deleted"))
        is None
    )


@pytest.mark.parametrize("who", ["member", "cashier"])
def test_members_and_cashiers_are_refused(client, auth, db, who):
    subscriber = _subscribe("prive@example.test")
    user = (
        make_member(email="membre@example.test").user
        if who == "member"
        else make_cashier(email="caisse@example.test")
    )
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    token = csrf_from(client.get("/confidentialite").get_data(as_text=True))
    for url in (LIST, f"{LIST}.csv", f"{LIST}/{subscriber.id}/supprimer"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "prive@example.test" not in response.get_data(as_text=True)
    assert (
        client.post(f"{LIST}/{subscriber.id}/supprimer", data={"csrf_token": token}).status_code
        == 403
    )
    assert _db.session.get(Subscriber, subscriber.id) is not None


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    subscriber = _subscribe("prive@example.test")
    db.session.commit()
    for url in (LIST, f"{LIST}.csv", f"{LIST}/{subscriber.id}/supprimer"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/connexion"
        ), url


def test_an_admin_without_the_second_factor_is_not_let_in(client, auth, db):
    user = make_admin()
    db.session.commit()
    auth.login(user.email)
    response = client.get(LIST)
    assert response.status_code == 302 and "/admin/securite" in response.headers["Location"]


def test_labels_in_english_and_french(client, admin, db):
    _subscribe("bilingue@example.test", "Lyon", "en")
    db.session.commit()
    english = client.get(f"{LIST}?lang=en").get_data(as_text=True)
    for text in (
        "<h1>Subscribers</h1>",
        "Find a subscriber",
        "E-mail contains",
        "Subscribed on",
        "Commune (as typed)",
        "Download (CSV)",
        ">English<",
        "Remove",
    ):
        assert text in english, text
    french = client.get(f"{LIST}?lang=fr").get_data(as_text=True)
    for text in (
        "<h1>Abonnés</h1>",
        "Trouver un abonné",
        "Le courriel contient",
        "Abonné le",
        "Commune (telle que saisie)",
        "Télécharger (CSV)",
        ">Anglais<",
        "Retirer",
        "1 abonné trouvé.",
    ):
        assert text in french, text
    confirm = client.get(
        f"{LIST}/{_db.session.scalar(_db.select(Subscriber.id))}/supprimer?lang=fr"
    )
    assert "<h1>Retirer un abonné</h1>" in confirm.get_data(as_text=True)


def test_the_content_hub_and_menu_link_to_the_subscribers(client, admin, db):
    _subscribe("un@example.test")
    _subscribe("deux@example.test")
    db.session.commit()
    hub = client.get("/admin/contenu").get_data(as_text=True)
    card = re.search(
        rf'<a href="{LIST}"><span class="stat-label">Subscribers</span><span class="stat-value">(\d+)</span>',
        hub,
    )
    assert card and card.group(1) == "2"
    faq = client.get("/admin/contenu/faq").get_data(as_text=True)
    assert f'<a href="{LIST}">Subscribers</a>' in faq
    assert f'<a href="{LIST}" aria-current="page">Subscribers</a>' in client.get(LIST).get_data(
        as_text=True
    )
