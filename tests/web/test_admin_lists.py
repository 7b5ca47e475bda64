"""The association's lists `/admin/parametres/...` through the test client: communes, product
categories, carpool pickup points and markets (add, rename, retire or remove, reorder), their bad
input (a message next to the field, what was typed kept, never a 500), the audit log (old and new
values) and access (admins with the second factor only)."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.events.models import PickupPoint
from app.members import communes
from app.members.models import Commune
from app.merchants.models import Category, Market, Merchant
from tests.support.factories import make_admin, make_cashier, make_member, make_merchant
from tests.support.http import csrf_from

COMMUNES = "/admin/parametres/communes"
CATEGORIES = "/admin/parametres/categories"
POINTS = "/admin/parametres/points-de-covoiturage"
MARKETS = "/admin/parametres/marches"


@pytest.fixture
def admin(admin, client):
    """The signed-in admin (tests/web/conftest.py), reading the pages in English."""
    client.set_cookie("lang", "en")
    return admin


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _commune(name):
    return _db.session.scalar(select(Commune).where(Commune.name == name))


def _last_entry(action):
    return _db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
    )


# --- communes ---------------------------------------------------------------------------------


def test_add_a_commune_with_aliases_audited(client, admin, db):
    response = _post(
        client, COMMUNES, {"name": "Lérigneux", "postcode": "42130", "aliases": "Vieux-Lérigneux\n"}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    commune = _commune("Lérigneux")
    assert commune.postcode == "42130" and commune.aliases == ["Vieux-Lérigneux"]
    assert commune.eligible and communes.find_commune("vieux lerigneux") == commune
    entry = _last_entry("commune.changed")
    assert entry.actor_id == admin.id and entry.target_id == commune.id
    assert entry.details["change"] == "created" and entry.details["old"] is None
    assert entry.details["new"]["name"] == "Lérigneux"
    html = client.get(COMMUNES).get_data(as_text=True)
    assert "Lérigneux" in html and "Vieux-Lérigneux" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Lérigneux", "postcode": "4213"}, "postcode", "5 digits"),
        ({"name": "Lérigneux", "postcode": "abcde"}, "postcode", "5 digits"),
        ({"name": "boen sur lignon", "postcode": "42130"}, "name", "already in the list"),
        ({"name": "L’HOPITAL SOUS ROCHEFORT", "postcode": "42130"}, "name", "Solore-en-Forez"),
        ({"name": "Lérigneux", "postcode": "42130", "aliases": "Sauvain"}, "aliases", "already"),
        ({"name": "", "postcode": "42130"}, "name", "Enter the commune"),
        ({"name": "x" * 100_000, "postcode": "9" * 5000}, "name", "At most"),
        ({"name": "Nou\x00veau\x1b", "postcode": "42130", "aliases": "A\nA"}, "aliases", "twice"),
    ],
)
def test_bad_commune_input_is_shown_next_to_the_field(client, admin, db, data, field, message):
    before = _db.session.scalar(select(_db.func.count()).select_from(Commune))
    response = _post(client, COMMUNES, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html[html.index(f'id="{field}-error"') :][:400]
    assert message in error
    if data["name"] and len(data["name"]) < 100:
        assert 'value="' in html
    assert _db.session.scalar(select(_db.func.count()).select_from(Commune)) == before


def test_rename_and_retire_a_commune_members_keep_theirs(client, admin, db):
    sauvain = _commune("Sauvain")
    member = make_member(commune=sauvain)
    db.session.commit()
    url = f"{COMMUNES}/{sauvain.id}"
    assert "42990" in client.get(url).get_data(as_text=True)
    response = _post(client, url, {"name": "Sauvain-en-Forez", "postcode": "42990"})
    assert response.status_code == 303
    entry = _last_entry("commune.changed")
    assert entry.details["old"]["name"] == "Sauvain"
    assert entry.details["new"]["name"] == "Sauvain-en-Forez"
    response = _post(client, f"{url}/eligibilite", {"eligible": "0"}, page=COMMUNES)
    assert response.status_code == 303
    _db.session.expire_all()
    assert not sauvain.eligible and member.commune_id == sauvain.id
    entry = _last_entry("commune.changed")
    assert entry.details["change"] == "retired"
    assert entry.details["old"]["eligible"] is True and entry.details["new"]["eligible"] is False
    # The public checker and the forms no longer offer it; a merchant who has it keeps it.
    assert communes.check_eligibility("Sauvain-en-Forez").status == communes.OUTSIDE
    assert sauvain not in communes.eligible_communes()
    merchant = make_merchant(commune=sauvain)
    db.session.commit()
    edit = client.get(f"/admin/commercants/{merchant.id}/modifier").get_data(as_text=True)
    assert "Sauvain-en-Forez" in edit
    new = client.get("/admin/commercants/nouveau").get_data(as_text=True)
    assert "Sauvain-en-Forez" not in new
    assert "Retired" in client.get(COMMUNES).get_data(as_text=True)
    _post(client, f"{url}/eligibilite", {"eligible": "1"}, page=COMMUNES)
    _db.session.expire_all()
    assert sauvain.eligible


# --- categories -------------------------------------------------------------------------------


def test_categories_add_rename_reorder_remove(client, admin, db):
    response = _post(client, CATEGORIES, {"name_fr": "Miel", "name_en": "Honey"})
    assert response.status_code == 303
    honey = _db.session.scalar(select(Category).where(Category.name_en == "Honey"))
    assert honey.slug == "miel" and honey.position == max(
        c.position for c in _db.session.scalars(select(Category))
    )
    response = _post(
        client, f"{CATEGORIES}/{honey.id}", {"name_fr": "Miel et pollen", "name_en": "Honey"}
    )
    assert response.status_code == 303
    entry = _last_entry("category.changed")
    assert entry.details["old"]["name_fr"] == "Miel"
    assert entry.details["new"]["name_fr"] == "Miel et pollen"
    before = honey.position
    assert _post(client, f"{CATEGORIES}/{honey.id}/deplacer", {"direction": "up"}, CATEGORIES)
    _db.session.expire_all()
    assert honey.position == before - 1
    response = _post(client, f"{CATEGORIES}/{honey.id}/supprimer", {}, CATEGORIES)
    assert response.status_code == 303
    assert _db.session.get(Category, honey.id) is None
    assert _last_entry("category.changed").details["change"] == "removed"


def test_a_category_in_use_is_not_removed(client, admin, db):
    make_merchant(categories=("oeufs",))
    db.session.commit()
    eggs = _db.session.scalar(select(Category).where(Category.slug == "oeufs"))
    response = _post(client, f"{CATEGORIES}/{eggs.id}/supprimer", {}, CATEGORIES)
    assert response.status_code == 409
    assert "cannot be removed" in response.get_data(as_text=True)
    assert _db.session.get(Category, eggs.id) is not None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name_fr": "fruits et LEGUMES", "name_en": "Other"}, "name_fr", "already has"),
        ({"name_fr": "Miel", "name_en": ""}, "name_en", "Enter the category"),
        ({"name_fr": "é" * 100_000, "name_en": "x"}, "name_fr", "At most"),
    ],
)
def test_bad_category_input(client, admin, db, data, field, message):
    response = _post(client, CATEGORIES, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html[html.index(f'id="{field}-error"') :][:300]


# --- pickup points ----------------------------------------------------------------------------


def test_pickup_points_add_rename_reorder_remove(client, admin, db):
    sauvain = _commune("Sauvain")
    response = _post(client, POINTS, {"name": "Place de l’église, Sauvain", "commune": sauvain.id})
    assert response.status_code == 303
    point = _db.session.scalar(
        select(PickupPoint).where(PickupPoint.name == "Place de l’église, Sauvain")
    )
    assert point.commune_id == sauvain.id
    assert _last_entry("pickup_point.changed").details["new"]["name"] == point.name
    response = _post(
        client, f"{POINTS}/{point.id}", {"name": "Mairie de Sauvain", "commune": sauvain.id}
    )
    assert response.status_code == 303
    entry = _last_entry("pickup_point.changed")
    assert entry.details["old"]["name"] == "Place de l’église, Sauvain"
    assert entry.details["new"]["name"] == "Mairie de Sauvain"
    before = point.position
    _post(client, f"{POINTS}/{point.id}/deplacer", {"direction": "up"}, POINTS)
    _db.session.expire_all()
    assert point.position == before - 1
    assert _post(client, f"{POINTS}/{point.id}/supprimer", {}, POINTS).status_code == 303
    assert _db.session.get(PickupPoint, point.id) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "place de la mairie, BOEN-SUR-LIGNON", "commune": "own"}, "name", "already"),
        ({"name": "Ici", "commune": "0"}, "commune", ""),
        ({"name": "Ici", "commune": "99999999999999999999"}, "commune", ""),
        ({"name": "\x00" * 1000, "commune": "own"}, "name", "Enter the pickup point"),
    ],
)
def test_bad_pickup_point_input(client, admin, db, data, field, message):
    boen = _commune("Boën-sur-Lignon")
    data = {**data, "commune": boen.id if data["commune"] == "own" else data["commune"]}
    response = _post(client, POINTS, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html[html.index(f'id="{field}-error"') :][:300]


# --- markets ----------------------------------------------------------------------------------


def test_markets_add_link_merchants_edit_close(client, admin, db):
    first, second = make_merchant(name="Ferme A"), make_merchant(name="Ferme B")
    db.session.commit()
    response = _post(
        client,
        MARKETS,
        {
            "place": "Place de la mairie, Boën",
            "commune": "0",
            "weekday": "3",
            "opens": "8h",
            "closes": "12:30",
            "merchants": [first.id, second.id],
        },
    )
    assert response.status_code == 303
    market = _db.session.scalar(select(Market))
    assert (market.weekday, market.opens, market.closes) == (3, time(8), time(12, 30))
    assert sorted(s.merchant_id for s in market.stalls) == [first.id, second.id]
    assert _last_entry("market.changed").details["new"]["merchants"] == sorted(
        [first.id, second.id]
    )
    # The public page shows it for both merchants, on Thursday.
    public = client.get("/commercants?lang=en").get_data(as_text=True)
    assert (
        public.count("Every Thursday from 8:00\u202fAM to 12:30\u202fPM: Place de la mairie, Boën")
        == 2
    )
    response = _post(
        client,
        f"{MARKETS}/{market.id}",
        {
            "place": "Place de la mairie, Boën",
            "commune": "0",
            "weekday": "4",
            "opens": "08:00",
            "closes": "13:00",
            "merchants": [second.id],
        },
    )
    assert response.status_code == 303
    entry = _last_entry("market.changed")
    assert entry.details["old"]["weekday"] == 3 and entry.details["new"]["weekday"] == 4
    assert entry.details["new"]["merchants"] == [second.id]
    assert "Every Friday" in client.get("/commercants?lang=en").get_data(as_text=True)
    _post(client, f"{MARKETS}/{market.id}/tenue", {"active": "0"}, MARKETS)
    _db.session.expire_all()
    assert not market.active
    assert "Every Friday" not in client.get("/commercants?lang=en").get_data(as_text=True)
    assert _db.session.get(Merchant, second.id).stalls  # the link is kept


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"opens": "12:00", "closes": "08:00"}, "closes", "closes after it opens"),
        ({"opens": "25:00"}, "opens", "Enter a time"),
        ({"opens": "9" * 100_000}, "opens", "At most"),
        ({"weekday": "9"}, "weekday", ""),
        ({"place": ""}, "place", "Enter where"),
        ({"merchants": ["123456789"]}, "merchants", ""),
    ],
)
def test_bad_market_input(client, admin, db, data, field, message):
    form = {"place": "Marché", "commune": "0", "weekday": "1", "opens": "8:00", "closes": "12:00"}
    response = _post(client, MARKETS, {**form, **data})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html[html.index(f'id="{field}-error"') :][:300]
    assert _db.session.scalar(select(Market)) is None


def test_a_market_twice_on_the_same_day_is_refused(client, admin, db):
    form = {"place": "Marché de Boën", "commune": "0", "weekday": "1", "opens": "8", "closes": "12"}
    assert _post(client, MARKETS, form).status_code == 303
    response = _post(client, MARKETS, {**form, "place": "MARCHE DE BOEN"})
    assert response.status_code == 422 and "already in the list" in response.get_data(as_text=True)


# --- access -----------------------------------------------------------------------------------

PAGES = (COMMUNES, CATEGORIES, POINTS, MARKETS)


@pytest.mark.parametrize("who", ["member", "cashier"])
def test_members_and_cashiers_are_refused(client, auth, db, who):
    user = make_member().user if who == "member" else make_cashier(email="caisse@example.test")
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    token = csrf_from(client.get("/confidentialite").get_data(as_text=True))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
        assert client.post(url, data={"csrf_token": token, "name": "X"}).status_code == 403
    assert _commune("X") is None


def test_anonymous_and_admins_without_second_factor_are_sent_away(client, auth, db):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    user = make_admin()
    db.session.commit()
    auth.login(user.email)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/securite" in response.headers["Location"]


def test_pages_in_french(client, db, auth):
    user = make_admin()
    db.session.commit()
    auth.login_admin(user.email)
    html = client.get(COMMUNES).get_data(as_text=True)
    assert "Ajouter une commune" in html and "Code postal" in html
