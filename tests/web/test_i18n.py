"""Language selection (default French, Accept-Language, ?lang= remembered) and Babel formatting."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from app.core.i18n import LANG_COOKIE, datetime_short, day, hour, money

FR_MARK = "Aller au contenu"  # the skip link, present on every page
EN_MARK = "Skip to content"


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True))
    assert match, "no <html lang>"
    return match.group(1)


def lang_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{LANG_COOKIE}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


def test_french_by_default(client):
    response = client.get("/")
    assert html_lang(response) == "fr"
    assert FR_MARK in response.get_data(as_text=True)
    assert lang_cookie(response) is None


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("de-DE,en;q=0.5", "en"),
        ("fr-CA,en;q=0.8", "fr"),
        ("fr-BE,fr;q=0.9,en;q=0.8", "fr"),
        ("en-US,fr;q=0.5", "en"),
        ("fr;q=0.2,en;q=0.9", "en"),
        ("de-DE,es;q=0.8", "fr"),
        ("", "fr"),
        ("*", "fr"),
        ("garbage;;q=x", "fr"),
    ],
)
def test_accept_language_on_a_first_visit(client, accept, expected):
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert html_lang(response) == expected
    assert (EN_MARK if expected == "en" else FR_MARK) in response.get_data(as_text=True)
    assert lang_cookie(response) is None  # only an explicit choice is remembered


def test_the_choice_is_remembered_over_accept_language(client):
    response = client.get("/?lang=en", headers={"Accept-Language": "fr"})
    assert html_lang(response) == "en"
    assert lang_cookie(response) == "en"
    # The next page, without ?lang, stays in English even though the browser prefers French.
    later = client.get("/connexion", headers={"Accept-Language": "fr"})
    assert html_lang(later) == "en"
    assert EN_MARK in later.get_data(as_text=True)
    back = client.get("/connexion?lang=fr", headers={"Accept-Language": "en"})
    assert html_lang(back) == "fr" and lang_cookie(back) == "fr"
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "fr"


@pytest.mark.parametrize("bad", ["de", "EN", "", "en-GB", "<script>", "fr;en", "x" * 5000])
def test_bad_lang_values_are_ignored(client, bad):
    response = client.get("/", query_string={"lang": bad}, headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert html_lang(response) == "fr"
    assert lang_cookie(response) is None


@pytest.mark.parametrize("cookie", ["de", "", "<b>", "en\x00"])
def test_bad_lang_cookie_falls_back_to_accept_language(client, cookie):
    client.set_cookie(LANG_COOKIE, cookie)
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "en"
    assert html_lang(client.get("/", headers={"Accept-Language": "fr"})) == "fr"


def switcher(html: str) -> list[tuple[str, str, str, str]]:
    """(href, hreflang, lang, visible words) of each language link of the page header."""
    links = []
    for attrs, inner in re.findall(r'<a class="lang-switch"([^>]*)>(.*?)</a>', html, re.S):
        values = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        text = re.sub(r"<[^>]+>", " ", inner)
        links.append(
            (values.get("href"), values.get("hreflang"), values.get("lang"), " ".join(text.split()))
        )
    return links


def test_switcher_link_keeps_the_page_and_its_arguments(client):
    links = switcher(client.get("/connexion?next=%2Fcompte").get_data(as_text=True))
    assert len(links) == 1
    href, hreflang, lang, text = links[0]
    assert (href, hreflang, lang) == ("/connexion?next=%2Fcompte&amp;lang=en", "en", "en")
    assert "English" in text
    links = switcher(client.get("/connexion?next=%2Fcompte&lang=en").get_data(as_text=True))
    href, hreflang, lang, text = links[0]
    assert (href, hreflang, lang) == ("/connexion?next=%2Fcompte&amp;lang=fr", "fr", "fr")
    assert "Français" in text


def test_switcher_on_a_404_page(client):
    html = client.get("/nulle-part?lang=en").get_data(as_text=True)
    assert 'href="/nulle-part?lang=fr"' in html


@pytest.mark.parametrize(
    ("lang", "cents", "expected"),
    [
        ("fr", 1250, "12,50\u00a0€"),
        ("fr", 10000, "100,00\u00a0€"),
        ("fr", 0, "0,00\u00a0€"),
        ("fr", 123456, "1\u202f234,56\u00a0€"),
        ("fr", -500, "-5,00\u00a0€"),
        ("en", 1250, "€12.50"),
        ("en", 123456, "€1,234.56"),
        ("en", -500, "-€5.00"),
    ],
)
def test_money(app, lang, cents, expected):
    with app.test_request_context(f"/?lang={lang}"):
        assert money(cents) == expected


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_money_is_exactly_babels_output(app, lang):
    # `money` rebuilds Babel's format from the separators it learnt: compare on a spread of
    # amounts (every digit count, cents, thousands, negative ones, which Babel formats itself).
    from decimal import Decimal

    from babel.numbers import format_currency

    from app.core.i18n import _money_parts

    assert _money_parts(lang) is not None  # both site languages take the rebuilt format
    amounts = {
        0,
        1,
        9,
        10,
        99,
        100,
        101,
        999,
        1000,
        99_999,
        100_000,
        123_456,
        10**9 + 7,
        -1,
        -250_075,
    }
    amounts |= {7**n for n in range(1, 20)} | {n * 100 for n in (1, 12, 1234, 12_345, 999_999)}
    with app.test_request_context(f"/?lang={lang}"):
        for cents in sorted(amounts):
            assert money(cents) == format_currency(Decimal(cents) / 100, "EUR", locale=lang), cents


def test_money_of_nothing_is_empty(app):
    with app.test_request_context("/"):
        assert money(None) == ""


def test_money_filter_in_templates(app):
    with app.test_request_context("/?lang=fr"):
        assert app.jinja_env.from_string("{{ 1250|money }}").render() == "12,50\u00a0€"


def test_dates_in_the_association_timezone(app):
    late_evening_utc = datetime(2025, 7, 1, 22, 30, tzinfo=UTC)  # already 2 July in Paris
    with app.test_request_context("/?lang=fr"):
        assert day(date(2025, 3, 1)) == "1 mars 2025"
        assert datetime_short(late_evening_utc) == "02/07/2025 00:30"
        assert hour(late_evening_utc) == "00:30"
    with app.test_request_context("/?lang=en"):
        assert day(date(2025, 3, 1)) == "March 1, 2025"
        assert hour(late_evening_utc) == "12:30\u202fAM"
