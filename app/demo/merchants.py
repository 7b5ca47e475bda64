"""Demo merchants: three conventioned producers and shops, their market stalls, one cashier
each (`caisse1@patias.test` ... `caisse3@patias.test`, password `patias-demo`) and a few days
of sales made through the ledger by the demo members."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.core import calendar
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.errors import IdempotencyConflict, InsufficientBalance
from app.ledger.models import Transfer
from app.members.auth import hash_password
from app.members.models import Commune, Member, User
from app.merchants.models import Category, Market, MarketStall, Merchant

DEMO_PASSWORD = "patias-demo"

MERCHANTS = [
    {
        "name": "Les Jardins du Lignon",
        "kind": "producer",
        "commune": "Sainte-Agathe-la-Bouteresse",
        "address": "Chemin des Varennes, 42130 Sainte-Agathe-la-Bouteresse",
        "description_fr": "Maraîchage biologique en plein champ et sous abri : légumes de saison, petits fruits et œufs de plein air.",
        "description_en": "Organic market garden in open fields and polytunnels: seasonal vegetables, soft fruit and free-range eggs.",
        "categories": ["fruits-legumes", "oeufs"],
        "conventioned_since": date(2025, 1, 6),
        "iban": "FR7630001007941234567890185",
        "stalls": [
            ("Marché de Boën-sur-Lignon", 3, time(8, 0), time(12, 30)),
            ("Marché de Sail-sous-Couzan", 5, time(8, 30), time(12, 0)),
        ],
        "cashier": "caisse1@patias.test",
    },
    {
        "name": "Ferme des Hautes Chaumes",
        "kind": "producer",
        "commune": "Sauvain",
        "address": "Le Bourg, 42990 Sauvain",
        "description_fr": "Ferme laitière de montagne : fourme, tommes, yaourts et beurre au lait cru de nos vaches.",
        "description_en": "Mountain dairy farm: fourme, tommes, yoghurts and butter from our cows' raw milk.",
        "categories": ["laitiers", "viande"],
        "conventioned_since": date(2025, 2, 3),
        "iban": "FR7610107001011234567890129",
        "stalls": [
            ("Marché de Boën-sur-Lignon", 3, time(8, 0), time(12, 30)),
            ("Vente à la ferme, Sauvain", 4, time(16, 0), time(19, 0)),
        ],
        "cashier": "caisse2@patias.test",
    },
    {
        "name": "L’Épi du Forez",
        "kind": "shop",
        "commune": "Boën-sur-Lignon",
        "address": "Grande Rue, 42130 Boën-sur-Lignon",
        "description_fr": "Épicerie biologique et fournil : pain au levain, farines locales, légumineuses, huiles, miel et jus.",
        "description_en": "Organic grocery and bakery: sourdough bread, local flours, pulses, oils, honey and juices.",
        "categories": ["pain", "epicerie", "boissons"],
        "conventioned_since": date(2025, 1, 20),
        "iban": "FR1420041010050500013M02606",
        "stalls": [("Marché de Boën-sur-Lignon", 3, time(8, 0), time(12, 30))],
        "cashier": "caisse3@patias.test",
    },
]

SALES_PER_DAY = 4
SALE_DAYS = 3


def seed() -> Iterator[str]:
    merchants = [_merchant(spec) for spec in MERCHANTS]
    db.session.flush()
    for spec, merchant in zip(MERCHANTS, merchants, strict=True):
        _cashier(spec["cashier"], merchant)
    db.session.flush()
    yield f"Merchants: {len(merchants)} conventioned, cashiers caisse1-3@patias.test (password {DEMO_PASSWORD})."
    yield _sales(merchants)


def _merchant(spec: dict) -> Merchant:
    merchant = db.session.scalar(select(Merchant).where(Merchant.name == spec["name"]))
    if merchant is not None:
        return merchant
    commune = db.session.scalar(select(Commune).where(Commune.name == spec["commune"]))
    categories = list(
        db.session.scalars(select(Category).where(Category.slug.in_(spec["categories"])))
    )
    markets = [_market(*stall) for stall in spec["stalls"]]
    merchant = Merchant(
        name=spec["name"],
        kind=spec["kind"],
        commune_id=commune.id,
        address=spec["address"],
        description_fr=spec["description_fr"],
        description_en=spec["description_en"],
        status="active",
        conventioned_since=spec["conventioned_since"],
        iban=spec["iban"],
        categories=categories,
        stalls=[MarketStall(market=market) for market in markets],
    )
    db.session.add(merchant)
    return merchant


def _market(place: str, weekday: int, opens: time, closes: time) -> Market:
    """The market of that place, day and hours: defined once, shared by its merchants."""
    market = db.session.scalar(
        select(Market).where(
            Market.place == place,
            Market.weekday == weekday,
            Market.opens == opens,
            Market.closes == closes,
        )
    )
    if market is None:
        market = Market(place=place, weekday=weekday, opens=opens, closes=closes, active=True)
        db.session.add(market)
        db.session.flush()
    return market


def _cashier(email: str, merchant: Merchant) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            password_hash=hash_password(DEMO_PASSWORD),
            role="cashier",
            display_name=merchant.name,
            merchant_id=merchant.id,
        )
        db.session.add(user)
    return user


def _sales(merchants: list[Merchant]) -> str:
    """A few sales a day for the last days of this month, made through the ledger.

    Each sale has a fixed idempotency key, so a second seeding replays instead of selling again.
    """
    members = list(
        db.session.scalars(
            select(Member)
            .where(Member.status == "active", Member.pin_hash.is_not(None))
            .order_by(Member.number)
            .limit(10)
        )
    )
    if not members:
        return "Demo sales: no demo member to sell to (members are seeded first)."
    today = calendar.today()
    days = [
        day
        for day in (today - timedelta(days=n) for n in range(SALE_DAYS - 1, -1, -1))
        if day.month == today.month
    ]
    rng = random.Random(42)
    made = 0
    turn = 0
    for merchant in merchants:
        cashier = merchant.cashiers[0]
        categories = sorted(c.id for c in merchant.categories)
        for day in days:
            for n in range(SALES_PER_DAY):
                member = members[
                    turn % len(members)
                ]  # in turn: every demo member keeps most of the month
                turn += 1
                amount = rng.randrange(200, 1500, 10)
                category = rng.choice(categories) if categories else None
                key = f"demo-sale:{merchant.id}:{day.isoformat()}:{n}"
                try:
                    sale = ledger.transfer(
                        source=ledger.member_account(member),
                        destination=ledger.merchant_account(merchant),
                        amount_cents=amount,
                        kind="purchase",
                        actor_id=cashier.id,
                        idempotency_key=key,
                        category_id=category,
                        occurred_on=day,
                    )
                except (InsufficientBalance, IdempotencyConflict):
                    continue  # a member already short, or a database seeded by an older version
                if not sale.replayed:
                    # Demo history only: date the sale on its market morning (new rows, same transaction).
                    sale.created_at = _sale_time(day, today, n)
                    made += 1
    first = merchants[0]
    todays = list(
        db.session.scalars(
            select(Transfer)
            .where(
                Transfer.destination_id == ledger.merchant_account(first).id,
                Transfer.kind == "purchase",
                Transfer.occurred_on == today,
            )
            .order_by(Transfer.id)
        )
    )
    if todays:
        # One mistaken sale, cancelled: the sales list and report show a cancellation.
        ledger.reverse(
            todays[0],
            kind="refund",
            actor_id=first.cashiers[0].id,
            idempotency_key=f"demo-cancel:{first.id}",
        )
    db.session.flush()
    return f"Demo sales: {made} new sales over {len(days)} day(s)."


def _sale_time(day: date, today: date, n: int) -> datetime:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    if day == today:
        # A few minutes ago, but never before midnight in Paris: they are today's sales.
        midnight = datetime.combine(today, time(0, 0), paris).astimezone(UTC)
        return max(datetime.now(UTC) - timedelta(minutes=7 * (SALES_PER_DAY - n)), midnight)
    return datetime.combine(day, time(8, 15), paris).astimezone(UTC) + timedelta(minutes=23 * n)
