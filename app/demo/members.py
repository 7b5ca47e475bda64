"""Demo people: an admin, ten active members allocated for the month with some contributions,
and two applications waiting for a decision. Every login uses the password `patias-demo`;
every card's PIN is 1234. Idempotent: what exists is left alone."""

from __future__ import annotations

from collections.abc import Iterator

from app.core import calendar
from app.core.extensions import db
from app.ledger import allocation, contributions
from app.members import auth, cards, membership
from app.members.models import Application, Commune, Member, User

PASSWORD = "patias-demo"
PIN = "1234"
ADMIN_EMAIL = "admin@patias.test"

# (first name, last name, commune, monthly pledge in cents); membreN@patias.test, number N.
MEMBERS = (
    ("Camille", "Roche", "Boën-sur-Lignon", 1500),
    ("Louis", "Girard", "Leigneux", 500),
    ("Inès", "Faure", "Sail-sous-Couzan", 3000),
    ("Marcel", "Dumas", "Saint-Étienne-le-Molard", 0),
    ("Lucie", "Bonnet", "Arthun", 2000),
    ("Nathan", "Perrin", "Trelins", 1000),
    ("Jeanne", "Chazal", "Marcoux", 5000),
    ("Hugo", "Mathevet", "Sainte-Agathe-la-Bouteresse", 800),
    ("Yasmina", "Benali", "Boën-sur-Lignon", 2500),
    ("Paul", "Vial", "Solore-en-Forez", 7500),
)
PENDING = (
    {
        "first_name": "Élodie",
        "last_name": "Chambon",
        "commune": "Montverdun",
        "address": "3 chemin des Près",
        "email": "elodie.chambon@example.test",
        "phone": None,
        "contribution_cents": 1200,
    },
    {
        "first_name": "Roger",
        "last_name": "Fayolle",
        "commune": "L'Hôpital-sous-Rochefort",
        "address": "Le Bourg",
        "email": None,
        "phone": "0477000001",
        "contribution_cents": 0,
    },
)
# Members whose contribution of the month has already reached the association.
PAID = range(1, 7)


def _commune(name: str) -> Commune | None:
    commune = db.session.scalar(db.select(Commune).where(Commune.name == name))
    if commune is None:  # a merged commune: find the one that lists it as an alias
        commune = next(
            (c for c in db.session.scalars(db.select(Commune)) if name in (c.aliases or [])), None
        )
    return commune or db.session.scalars(db.select(Commune).order_by(Commune.id)).first()


def seed() -> Iterator[str]:
    password_hash = auth.hash_password(PASSWORD)  # hashed once, reused: seeding stays quick

    if db.session.scalar(db.select(User).where(User.email == ADMIN_EMAIL)) is None:
        db.session.add(
            User(
                email=ADMIN_EMAIL,
                password_hash=password_hash,
                role="admin",
                display_name="Coordination",
            )
        )
        db.session.flush()
    yield f"Admin: {ADMIN_EMAIL} / {PASSWORD}"
    yield _admin_second_factor()

    created = 0
    for index, (first, last, commune, pledge) in enumerate(MEMBERS, start=1):
        email = f"membre{index}@patias.test"
        if db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
            continue
        place = _commune(commune)
        member = membership.create_member(
            first,
            last,
            email=email,
            address=f"{index} place de la Mairie",
            commune_id=place.id if place else None,
            pledge_cents=pledge,
            number=cards.member_number(index),
        )
        member.pin_hash = cards.hash_pin(PIN)
        member.user.password_hash = password_hash
        created += 1
    db.session.flush()
    yield f"Members: {created} added (membre1@patias.test … membre10@patias.test, numbers 000018 …, PIN {PIN})."

    result = allocation.allocate_month()
    yield f"Allocation {result.period}: {result.members_credited} members credited."

    recorded = 0
    paid_on = calendar.today()
    for index in PAID:
        member = db.session.scalar(
            db.select(Member).where(Member.number == cards.member_number(index))
        )
        if (
            member is None
            or member.pledge_cents <= 0
            or contributions.contributions_of(member, limit=1)
        ):
            continue
        contributions.record_contribution(
            member, member.pledge_cents, paid_on, "transfer" if index % 2 else "cash"
        )
        recorded += 1
    yield f"Contributions: {recorded} recorded."

    added = 0
    for row in PENDING:
        exists = db.session.scalar(
            db.select(Application.id).where(
                Application.first_name == row["first_name"],
                Application.last_name == row["last_name"],
            )
        )
        if exists is not None:
            continue
        place = _commune(row["commune"])
        fields = {k: v for k, v in row.items() if k != "commune"}
        db.session.add(Application(commune_id=place.id, status="pending", **fields))
        added += 1
    db.session.flush()
    yield f"Applications waiting: {added} added."


def _admin_second_factor() -> str:
    """The demo admin's TOTP secret is fixed and published, so that anyone can try the back office."""
    from app.core.settings import association
    from app.members import twofactor

    admin = db.session.scalar(db.select(User).where(User.email == ADMIN_EMAIL))
    twofactor.ensure_demo_totp(admin)
    uri = twofactor.demo_uri(admin, association()["name"])
    return f"Admin second factor (TOTP, demo only): key {twofactor.DEMO_TOTP_SECRET} ({uri})"
