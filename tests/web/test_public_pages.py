"""Every public page in both languages, the texts read from data, the shops, FAQ and privacy."""

from __future__ import annotations

import re
from datetime import date, time

import pytest

from app.content.models import FaqEntry, Page
from app.core.settings import set_setting
from app.members.models import Commune
from app.merchants.models import Category, Market, MarketStall, Merchant
from app.setup.install import load_content

PAGES = [
    # url, a French phrase, an English phrase
    ("/", "Comment ça marche, en trois étapes", "How it works, in three steps"),
    ("/communes", "Puis-je adhérer", "Can I join?"),
    ("/faq", "Questions fréquentes", "Frequently asked questions"),
    ("/commercants", "Producteurs et commerces conventionnés", "Conventioned producers and shops"),
    ("/adherer", "Envoyer ma demande", "Send my application"),
    ("/adherer/merci", "Et maintenant", "What happens next"),
    ("/confidentialite", "Ce que nous gardons, et pourquoi", "What we keep, and why"),
]


@pytest.fixture
def content(app, db):
    load_content()
    db.session.commit()


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("url", "french", "english"), PAGES)
def test_every_public_page_in_french_by_default(client, content, url, french, english):
    response = client.get(url)
    assert response.status_code == 200
    html = text_of(response)
    assert '<html lang="fr">' in html
    assert french in html
    assert english not in html


@pytest.mark.parametrize(("url", "french", "english"), PAGES)
def test_every_public_page_in_english(client, content, url, french, english):
    response = client.get(url, query_string={"lang": "en"})
    assert response.status_code == 200
    html = text_of(response)
    assert '<html lang="en">' in html
    assert english in html
    assert french not in html


@pytest.mark.parametrize(("url", "french", "english"), PAGES)
def test_accept_language_english(client, content, url, french, english):
    html = text_of(client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert english in html


def test_home_explains_the_three_steps_and_calls_to_join(client):
    html = text_of(client.get("/"))
    steps = re.search(r'<ol class="steps">(.*?)</ol>', html, re.S).group(1)
    assert steps.count("<li>") == 3
    assert "Vous adhérez à l’association" in steps
    assert "sans justificatif" in steps or "Aucun justificatif" in steps
    assert "100,00\u00a0€ par mois" in steps
    assert "sans condition de revenus" in html or "aucune condition de revenus" in html.lower()
    assert html.count('href="/adherer"') >= 2


def test_home_reads_the_allocation_from_the_association_data(client, db):
    set_setting("allocation_cents", 12_000)
    db.session.commit()
    html = text_of(client.get("/"))
    assert "120,00\u00a0€" in html
    assert "100,00\u00a0€" not in html and "100 €" not in html


def test_the_footer_phone_number_is_a_link_to_call(client, db):
    set_setting("contact_phone", "04 77 24 00 00")
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<a href="tel:0477240000">04\u00a077\u00a024\u00a000\u00a000</a>', html), (
        html[-1500:]
    )


def test_home_shows_the_next_events_when_the_events_area_exists(app, client, monkeypatch):
    loaded = []
    get_template = app.jinja_env.get_template

    def recording(name, *args, **kwargs):
        loaded.append(getattr(name, "name", name))
        return get_template(name, *args, **kwargs)

    monkeypatch.setattr(app.jinja_env, "get_template", recording)
    assert client.get("/").status_code == 200
    assert "public/index.html" in loaded
    assert ("events/_upcoming.html" in loaded) == ("events.index" in app.view_functions)


def test_faq_comes_from_the_database_in_both_languages(client, content, db):
    entries = db.session.scalars(db.select(FaqEntry)).all()
    assert 10 <= len(entries) <= 14
    html_fr = text_of(client.get("/faq"))
    html_en = text_of(client.get("/faq?lang=en"))
    assert html_fr.count("<details") == len(entries)
    for entry in entries:
        assert entry.question_fr in html_fr
        assert entry.question_en in html_en
    for html in (html_fr, html_en):
        assert "{" not in html.split("<main")[1], "a placeholder was not filled"


def test_faq_answers_read_the_rules_from_data(client, content, db):
    set_setting("rollover", {"rule": "cap", "cap_months": 3})
    set_setting("min_contribution_cents", 200)
    db.session.commit()
    html = text_of(client.get("/faq"))
    assert "300,00\u00a0€" in html  # 3 months of 100 €
    assert "Le minimum est de 2,00\u00a0€ par mois." in html
    set_setting("rollover", {"rule": "expire"})
    db.session.commit()
    assert "ne se reporte pas" in text_of(client.get("/faq"))


def test_seeding_the_content_twice_adds_nothing_and_keeps_edits(app, db):
    assert load_content() == (13, 1)
    entry = db.session.scalars(db.select(FaqEntry).order_by(FaqEntry.position)).first()
    entry.question_fr = "Question modifiée par un administrateur"
    db.session.flush()
    assert load_content() == (0, 0)
    assert (
        db.session.get(FaqEntry, entry.id).question_fr == "Question modifiée par un administrateur"
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Page)) == 1


def test_faq_text_written_by_an_admin_is_escaped(client, db):
    db.session.add(
        FaqEntry(
            slug="x",
            question_fr="<script>alert(1)</script>",
            question_en="q",
            answer_fr="<img src=x onerror=alert(1)>\n\n- <b>un</b>",
            answer_en="a",
        )
    )
    db.session.commit()
    html = text_of(client.get("/faq"))
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "<img src=x" not in html and "<li>&lt;b&gt;un&lt;/b&gt;</li>" in html


def test_faq_empty_state(client):
    assert "sont en cours d’écriture" in text_of(client.get("/faq"))


def test_privacy_page_is_read_from_the_database(client, content, db):
    page = db.session.scalars(db.select(Page).where(Page.slug == "confidentialite")).one()
    page.title_fr = "Vos données chez nous"
    db.session.commit()
    html = text_of(client.get("/confidentialite"))
    assert "<h1>Vos données chez nous</h1>" in html
    for phrase in ("combien de temps", "prénom et l’initiale", "pseudonyme", "Mes données"):
        assert phrase in html.lower() or phrase in html


def test_privacy_page_falls_back_to_the_data_file(client):
    html = text_of(client.get("/confidentialite?lang=en"))
    assert "Privacy and personal data" in html and "first name and the initial" in html


# Shops -------------------------------------------------------------------------------------------


def _merchant(
    name, commune, *, status="active", since=date(2025, 12, 1), categories=(), stalls=(), **fields
):
    from app.core.extensions import db

    merchant = Merchant(
        name=name,
        commune=db.session.scalars(db.select(Commune).where(Commune.name == commune)).one(),
        status=status,
        conventioned_since=since,
        **fields,
    )
    merchant.categories = [
        db.session.scalars(db.select(Category).where(Category.slug == s)).one() for s in categories
    ]
    merchant.stalls = [
        MarketStall(market=Market(place=place, weekday=weekday, opens=opens, closes=closes))
        for place, weekday, opens, closes in stalls
    ]
    db.session.add(merchant)
    db.session.flush()
    return merchant


def test_shops_empty_state(client):
    html = text_of(client.get("/commercants"))
    assert "Aucun producteur ni commerce n’est encore conventionné" in html


def test_shops_are_grouped_by_commune_with_categories_and_markets(client, db):
    _merchant(
        "Ferme des Monts",
        "Sauvain",
        kind="producer",
        categories=["laitiers", "oeufs"],
        description_fr="Fromages de chèvre",
        description_en="Goat cheese",
        stalls=[("Place de la mairie, Boën-sur-Lignon", 1, time(8), time(12, 30))],
    )
    _merchant(
        "Épicerie du Lignon",
        "Boën-sur-Lignon",
        kind="shop",
        categories=["epicerie"],
        address="2 rue Centrale",
    )
    _merchant("Aubépine", "Boën-sur-Lignon", categories=["fruits-legumes"])
    _merchant("Pas encore", "Boën-sur-Lignon", status="pending")
    _merchant("Sans convention", "Boën-sur-Lignon", since=None)
    _merchant("Suspendu", "Arthun", status="suspended")
    db.session.commit()

    html = text_of(client.get("/commercants"))
    assert html.index(">Boën-sur-Lignon</h2>") < html.index(">Sauvain</h2>")
    boen = html[html.index(">Boën-sur-Lignon</h2>") : html.index(">Sauvain</h2>")]
    assert boen.index("Aubépine") < boen.index("Épicerie du Lignon")
    for hidden in ("Pas encore", "Sans convention", "Suspendu", ">Arthun</h2>"):
        assert hidden not in html
    assert (
        "Produits laitiers et fromages" in html and "Œufs" in html and "Fromages de chèvre" in html
    )
    assert "Chaque mardi de 08:00 à 12:30\u00a0: Place de la mairie, Boën-sur-Lignon" in html

    english = text_of(client.get("/commercants?lang=en"))
    assert "Dairy and cheese" in english and "Goat cheese" in english
    assert re.search(r"Every Tuesday from 8:00\W+AM to 12:30\W+PM: Place de la mairie", english)


# Escaping and headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/communes", "/faq", "/commercants", "/confidentialite", "/adherer"]
)
def test_public_pages_carry_no_inline_script_or_style(client, content, url):
    html = text_of(client.get(url))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    assert " hx-on" not in html
