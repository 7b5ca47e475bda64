"""The lists' operations without HTTP: communes (uniqueness against names and aliases, slugs,
retiring), categories, pickup points and markets (refusals, links, order)."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from app.events import admin as events_admin
from app.events.errors import PickupPointExists
from app.members import communes
from app.members.communes import CommuneData
from app.members.errors import CommuneExists, InvalidCommune
from app.members.models import Commune
from app.merchants import admin as merchants_admin
from app.merchants.admin import MarketData, parse_time
from app.merchants.errors import CategoryInUse, InvalidListEntry, MarketExists
from app.merchants.models import Category
from tests.support.factories import make_merchant


def _named(name):
    from app.core.extensions import db

    return db.session.scalar(select(Commune).where(Commune.name == name))


def test_a_commune_named_like_an_alias_is_refused(db):
    with pytest.raises(CommuneExists) as refused:
        communes.create_commune(CommuneData("saint laurent rochefort", "42130"), None)
    assert refused.value.details["field"] == "name" and "Solore-en-Forez" in refused.value.message


def test_a_renamed_communes_old_name_can_be_added_again_with_a_free_slug(db):
    sauvain = _named("Sauvain")
    communes.update_commune(sauvain, CommuneData("Sauvain-le-Haut", "42990"), None)
    again = communes.create_commune(CommuneData("Sauvain", "42990"), None)
    assert sauvain.slug == "sauvain" and again.slug == "sauvain-2"


def test_postcode_of_four_digits_is_refused(db):
    with pytest.raises(InvalidCommune) as refused:
        communes.create_commune(CommuneData("Lérigneux", "4299"), None)
    assert refused.value.details["field"] == "postcode"


def test_offered_communes_keep_a_retired_one_only_when_asked(db):
    sauvain = _named("Sauvain")
    assert communes.set_commune_eligible(sauvain, False, None)
    assert not communes.set_commune_eligible(sauvain, False, None)
    assert sauvain not in communes.offered_communes()
    assert sauvain in communes.offered_communes(keep=sauvain.id)


def test_a_category_sold_by_a_merchant_stays(db):
    make_merchant(categories=("oeufs",))
    eggs = db.session.scalar(select(Category).where(Category.slug == "oeufs"))
    with pytest.raises(CategoryInUse):
        merchants_admin.delete_category(eggs, None)


def test_pickup_point_names_are_unique_ignoring_case_and_accents(db):
    boen = _named("Boën-sur-Lignon")
    with pytest.raises(PickupPointExists):
        events_admin.create_pickup_point("PLACE DE LA MAIRIE, BOEN SUR LIGNON", boen.id, None)


def test_markets_link_merchants_once_and_refuse_twins(db):
    first = make_merchant()
    data = MarketData("Marché de Boën", 3, time(8), time(12, 30))
    market = merchants_admin.create_market(data, [first.id, first.id], None)
    assert [s.merchant_id for s in market.stalls] == [first.id]
    assert first.active_stalls[0].place == "Marché de Boën"
    with pytest.raises(MarketExists):
        merchants_admin.create_market(MarketData("marche de boen", 3, time(9), time(11)), [], None)
    with pytest.raises(InvalidListEntry) as refused:
        merchants_admin.create_market(MarketData("Autre", 1, time(9), time(9)), [], None)
    assert refused.value.details["field"] == "closes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8h", time(8)), ("08:30", time(8, 30)), ("12.05", time(12, 5)), ("24:00", None), ("", None)],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected
