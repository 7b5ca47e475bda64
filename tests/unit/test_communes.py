"""The eligibility checker's matching: the table of the issue, and the cases around it."""

from __future__ import annotations

import pytest

from app.content.models import Subscriber
from app.members import communes
from app.members.communes import check_eligibility, find_commune, normalize
from app.members.models import Commune


@pytest.mark.parametrize(
    ("typed", "commune", "alias"),
    [
        ("st etienne le molard", "Saint-Étienne-le-Molard", None),
        ("Saint-Étienne-le-Molard", "Saint-Étienne-le-Molard", None),
        ("ST-ETIENNE-LE-MOLARD", "Saint-Étienne-le-Molard", None),
        ("BOEN", "Boën-sur-Lignon", None),
        ("boën", "Boën-sur-Lignon", None),
        ("Boen sur Lignon", "Boën-sur-Lignon", None),
        ("  boen   sur  lignon  ", "Boën-sur-Lignon", None),
        ("boen sur", "Boën-sur-Lignon", None),
        ("42130 Boën-sur-Lignon", "Boën-sur-Lignon", None),
        ("sainte foy st sulpice", "Sainte-Foy-Saint-Sulpice", None),
        ("Ste-Foy-St-Sulpice", "Sainte-Foy-Saint-Sulpice", None),
        ("ste agathe la bouteresse", "Sainte-Agathe-la-Bouteresse", None),
        ("L'Hopital sous Rochefort", "Solore-en-Forez", "L'Hôpital-sous-Rochefort"),
        ("L’Hôpital-sous-Rochefort", "Solore-en-Forez", "L'Hôpital-sous-Rochefort"),
        ("lhopital sous rochefort", "Solore-en-Forez", "L'Hôpital-sous-Rochefort"),
        ("Debats Riviere d'Orpra", "Solore-en-Forez", "Débats-Rivière-d'Orpra"),
        ("Saint-Laurent-Rochefort", "Solore-en-Forez", "Saint-Laurent-Rochefort"),
        ("Solore-en-Forez", "Solore-en-Forez", None),
        ("chalmazel", "Chalmazel-Jeansagnière", None),
        ("marcilly le chatel", "Marcilly-le-Châtel", None),
        ("saint eti", "Saint-Étienne-le-Molard", None),
        ("TRELINS", "Trelins", None),
        ("cezay\t", "Cezay", None),
    ],
)
def test_eligible_communes_are_found(app, typed, commune, alias):
    result = check_eligibility(typed)
    assert result.status == communes.ELIGIBLE, result
    assert result.commune.name == commune
    assert result.alias == alias
    assert find_commune(typed).name == commune


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Montbrison", None),
        ("Lyon", None),
        ("Saint-Étienne", "Saint-Étienne-le-Molard"),
        ("St Etienne", "Saint-Étienne-le-Molard"),
        ("sainte foy", "Sainte-Foy-Saint-Sulpice"),
        ("Saint Just", "Saint-Just-en-Bas"),
        ("Saint-Laurent", "Saint-Laurent-Rochefort"),
        ("Boën-sur-Loire", None),
        # A letter wrong, missing, added or swapped: not eligible as typed, the commune suggested.
        ("Boën-sur-Lingon", "Boën-sur-Lignon"),
        ("Boen sur Lignion", "Boën-sur-Lignon"),
        ("Sail-sous-Cousan", "Sail-sous-Couzan"),
        ("Liegneux", "Leigneux"),
        ("Marcous", "Marcoux"),
        ("Saint Sixe", "Saint-Sixte"),
        ("Paris 75011", None),
        ("<script>alert(1)</script>", None),
        ("x" * 10_000, None),
    ],
)
def test_communes_outside_the_area_are_not_eligible(app, typed, suggested):
    result = check_eligibility(typed)
    assert result.status == communes.OUTSIDE, result
    assert result.commune is None
    assert find_commune(typed) is None
    names = [c.name for c in result.candidates]
    assert names == ([suggested] if suggested else [])


@pytest.mark.parametrize("typed", ["saint", "st", "sainte", "sai", "mar", "boe"])
def test_an_ambiguous_or_short_prefix_lists_the_choices(app, typed):
    result = check_eligibility(typed)
    assert result.status == communes.CHOOSE, result
    assert result.commune is None
    first_letters = normalize(typed).replace(" ", "")
    assert result.candidates
    assert all(c.key.replace(" ", "").startswith(first_letters) for c in result.candidates)


def test_saint_lists_every_saint_commune(app):
    names = {c.name for c in check_eligibility("St").candidates}
    assert {
        "Saint-Étienne-le-Molard",
        "Saint-Georges-en-Couzan",
        "Saint-Just-en-Bas",
        "Saint-Sixte",
        "Saint-Laurent-Rochefort",
    } <= names
    assert "Boën-sur-Lignon" not in names


@pytest.mark.parametrize("typed", ["", "   ", None, "42130", "—'’-", "\x00\x07\x1b"])
def test_nothing_to_match(app, typed):
    assert check_eligibility(typed).status == communes.EMPTY


@pytest.mark.parametrize("typed", ["b", "zz", "Ai"])
def test_fewer_than_three_letters_asks_for_more(app, typed):
    assert check_eligibility(typed).status == communes.SHORT


def test_a_commune_marked_not_eligible_is_refused_even_by_its_exact_name(app, db):
    db.session.add(Commune(name="Montbrison", slug="montbrison", eligible=False))
    db.session.flush()
    assert check_eligibility("Montbrison").status == communes.OUTSIDE
    assert check_eligibility("montb").status == communes.OUTSIDE
    assert "Montbrison" not in [c.name for c in communes.eligible_communes()]


def test_the_21_communes_are_listed_in_alphabetical_order(app):
    names = [c.name for c in communes.eligible_communes()]
    assert len(names) == 21
    assert names[0] == "Ailleux" and names[-1] == "Trelins"
    assert names.index("Saint-Étienne-le-Molard") < names.index("Saint-Georges-en-Couzan")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("St-Étienne-le-Molard", "saint etienne le molard"),
        ("STE  FOY", "sainte foy"),
        ("L’Hôpital", "l hopital"),
        ("stade", "stade"),
        ("42130 Boën", "boen"),
    ],
)
def test_normalize(typed, expected):
    assert normalize(typed) == expected


def test_subscribing_twice_keeps_one_row(app, db):
    communes.subscribe(" Claire@Example.test ", "Montbrison", "fr")
    communes.subscribe("claire@example.test", "Lyon", "en")
    rows = db.session.scalars(db.select(Subscriber)).all()
    assert [(r.email, r.commune, r.language) for r in rows] == [
        ("claire@example.test", "Lyon", "en")
    ]
