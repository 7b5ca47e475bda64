"""The merchant's page in the back office lists the markets it stands at and links or unlinks a
market (the market's page makes the same links); audited as a change of the market."""

from __future__ import annotations

from datetime import time

from app.audit.models import AuditEntry
from app.merchants.models import Market, MarketStall
from tests.support.factories import make_merchant
from tests.support.http import csrf_from


def _market(db, place: str, weekday: int = 5, active: bool = True) -> Market:
    market = Market(place=place, weekday=weekday, opens=time(8), closes=time(12, 30), active=active)
    db.session.add(market)
    db.session.flush()
    return market


def _page(client, merchant) -> str:
    return client.get(f"/admin/commercants/{merchant.id}?lang=en").get_data(as_text=True)


def _stalls(db, merchant) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            db.select(MarketStall.market_id).where(MarketStall.merchant_id == merchant.id)
        )
    )


def test_the_page_lists_the_markets_and_offers_the_others(client, admin, db):
    merchant = make_merchant(name="Ferme des Vergers")
    held = _market(db, "Place du Marché", weekday=5)
    other = _market(db, "Halle couverte", weekday=2)
    closed = _market(db, "Ancien marché", active=False)
    merchant.stalls.append(MarketStall(market=held))
    db.session.commit()
    html = _page(client, merchant)
    listed = html.split('id="merchant-markets"')[1].split("</ul>")[0]
    assert "Place du Marché, Saturday 08:00–12:30" in listed
    offered = html.split('id="market"')[1].split("</select>")[0]
    assert "Halle couverte, Wednesday 08:00–12:30" in offered
    assert "Place du Marché" not in offered and closed.place not in offered
    assert f'value="{other.id}"' in offered


def test_link_then_unlink_a_market_audited(client, admin, db):
    merchant = make_merchant()
    market = _market(db, "Halle couverte")
    db.session.commit()
    html = _page(client, merchant)
    response = client.post(
        f"/admin/commercants/{merchant.id}/marches",
        data={"csrf_token": csrf_from(html), "market": str(market.id)},
    )
    assert response.status_code == 303
    assert _stalls(db, merchant) == {market.id}
    assert "This merchant stands at no market yet." not in _page(client, merchant)

    html = _page(client, merchant)
    response = client.post(
        f"/admin/commercants/{merchant.id}/marches/{market.id}/retirer",
        data={"csrf_token": csrf_from(html)},
    )
    assert response.status_code == 303
    assert _stalls(db, merchant) == set()
    assert "This merchant stands at no market yet." in _page(client, merchant)
    entries = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "market.changed").order_by(AuditEntry.id)
    ).all()
    assert [(e.details["old"]["merchants"], e.details["new"]["merchants"]) for e in entries] == [
        ([], [merchant.id]),
        ([merchant.id], []),
    ]
    assert all(e.actor_id == admin.id for e in entries)


def test_a_bad_choice_is_refused_next_to_the_field(client, admin, db):
    merchant = make_merchant()
    closed = _market(db, "Ancien marché", active=False)
    linked = _market(db, "Place du Marché")
    merchant.stalls.append(MarketStall(market=linked))
    db.session.commit()
    for value in ("", "abc", "999999", str(closed.id), str(linked.id), "9" * 5000):
        html = _page(client, merchant)
        response = client.post(
            f"/admin/commercants/{merchant.id}/marches?lang=en",
            data={"csrf_token": csrf_from(html), "market": value},
        )
        assert response.status_code == 422, value
        assert 'id="market-error"' in response.get_data(as_text=True)
    assert _stalls(db, merchant) == {linked.id}


def test_without_csrf_or_for_an_unknown_market_nothing_changes(client, admin, db):
    merchant = make_merchant()
    market = _market(db, "Halle couverte")
    merchant.stalls.append(MarketStall(market=market))
    db.session.commit()
    path = f"/admin/commercants/{merchant.id}/marches/{market.id}/retirer"
    assert client.post(path, data={}).status_code == 400
    html = _page(client, merchant)
    missing = f"/admin/commercants/{merchant.id}/marches/999999/retirer"
    assert client.post(missing, data={"csrf_token": csrf_from(html)}).status_code == 404
    assert _stalls(db, merchant) == {market.id}
