"""The demo merchants (app/demo/merchants.py): three conventioned shops with stalls and cashiers,
a few days of sales made through the ledger, on /commercants, and idempotent."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.core.extensions import db
from app.demo import members, merchants
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.models import User
from app.merchants.models import Merchant


def seed() -> list[str]:
    lines = [*members.seed(), *merchants.seed()]
    db.session.commit()
    return lines


def test_demo_merchants_cashiers_and_sales(app, client):
    seed()
    shops = list(db.session.scalars(select(Merchant).order_by(Merchant.id)))
    assert len(shops) == 3
    assert {shop.kind for shop in shops} == {"producer", "shop"}
    assert len({shop.commune_id for shop in shops}) == 3
    for shop in shops:
        assert shop.is_conventioned and shop.categories and shop.stalls and shop.address
    assert any(
        stall.place == "Marché de Boën-sur-Lignon" and stall.weekday == 3
        for stall in shops[0].stalls
    )
    for n, shop in enumerate(shops, start=1):
        cashier = db.session.scalar(select(User).where(User.email == f"caisse{n}@patias.test"))
        assert cashier.role == "cashier" and cashier.merchant_id == shop.id
        assert check_password_hash(cashier.password_hash, "patias-demo")
    sales = list(db.session.scalars(select(Transfer).where(Transfer.kind == "purchase")))
    # The last few days of sales, within the current month: a single day on the 1st.
    days = min(merchants.SALE_DAYS, ledger.today().day)
    assert len(sales) == len(shops) * merchants.SALES_PER_DAY * days
    assert len({sale.occurred_on for sale in sales}) == days
    assert {sale.destination.merchant_id for sale in sales} == {shop.id for shop in shops}
    assert (
        db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "refund")
        )
        == 1
    )
    assert list(ledger.verify()) == []
    page = client.get("/commercants").get_data(as_text=True)
    for shop in shops:
        assert shop.name.replace("’", "&#39;") in page or shop.name in page


def test_seeding_twice_adds_nothing(app):
    seed()
    counts = (
        db.session.scalar(select(func.count()).select_from(Merchant)),
        db.session.scalar(select(func.count()).select_from(User)),
        db.session.scalar(select(func.count()).select_from(Transfer)),
    )
    lines = seed()
    assert "Demo sales: 0 new sales" in " ".join(lines)
    assert counts == (
        db.session.scalar(select(func.count()).select_from(Merchant)),
        db.session.scalar(select(func.count()).select_from(User)),
        db.session.scalar(select(func.count()).select_from(Transfer)),
    )
