"""Callable factories: each makes one valid object, flushed, with overridable fields."""

from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from app.core.extensions import db
from app.ledger.transfers import today as paris_today
from app.members.models import User

_seq = itertools.count(1)
PASSWORD = "patias-demo"
_HASH_CACHE: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """Hashing is slow on purpose; tests reuse one hash per password."""
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = generate_password_hash(password)
    return _HASH_CACHE[password]


def make_user(
    role: str = "member", email: str | None = None, password: str = PASSWORD, **fields
) -> User:
    n = next(_seq)
    user = User(
        email=email if email is not None else f"{role}{n}@example.test",
        password_hash=password_hash(password),
        role=role,
        display_name=fields.pop("display_name", f"{role.title()} {n}"),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_member(
    email: str | None = None, password: str | None = PASSWORD, pin: str | None = "1234", **fields
):
    """An active member with its sign-in account (activated unless `password` is None).

    `email=""` makes a member without e-mail (signs in with the member number).
    """
    from app.members.cards import hash_pin, member_number, new_card_token
    from app.members.models import Member

    n = next(_seq)
    highest = db.session.scalar(db.select(db.func.max(Member.number)))
    number = member_number(int(highest[:5]) + 1 if highest else 1)
    address = None if email == "" else (email or f"member{n}@example.test")
    user = User(
        email=address,
        password_hash=password_hash(password) if password else "",
        role="member",
        display_name=fields.get("first_name", f"Prénom{n}"),
    )
    db.session.add(user)
    db.session.flush()
    member = Member(
        number=number,
        pseudonym=f"m-test{n:08d}",
        user_id=user.id,
        first_name=fields.pop("first_name", f"Prénom{n}"),
        last_name=fields.pop("last_name", f"Nom{n}"),
        email=address,
        status=fields.pop("status", "active"),
        card_token=new_card_token(),
        pin_hash=hash_pin(pin) if pin else None,
        **fields,
    )
    db.session.add(member)
    db.session.flush()
    return member


def make_application(email: str | None = "claire@example.test", **fields):
    """A pending application from Boën-sur-Lignon (15 € a month unless told)."""
    from app.members.models import Application, Commune

    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    values = dict(
        first_name="Claire",
        last_name="Martin",
        commune_id=commune.id,
        address="1 rue du Lignon",
        email=email,
        phone=None if email else "0477000000",
        contribution_cents=1500,
    )
    values.update(fields)
    application = Application(**values)
    db.session.add(application)
    db.session.flush()
    return application


def make_event(days_ahead: int = 10, at: tuple[int, int] = (9, 30), hours: int = 3, **fields):
    """A published event `days_ahead` days from today, starting at `at` (Europe/Paris), in Boën."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from app.events.models import Event
    from app.members.models import Commune

    n = next(_seq)
    day = paris_today() + timedelta(days=days_ahead)
    starts = fields.pop("starts_at", datetime.combine(day, time(*at), ZoneInfo("Europe/Paris")))
    commune = fields.pop("commune", None) or db.session.scalar(
        db.select(Commune).where(Commune.name == "Boën-sur-Lignon")
    )
    values = {
        "slug": f"event-{n}",
        "kind": "meeting",
        "title_fr": f"Réunion {n}",
        "title_en": f"Meeting {n}",
        "description_fr": "Ordre du jour.\n\nCafé offert.",
        "description_en": "Agenda.\n\nCoffee provided.",
        "place_name": "Salle des fêtes",
        "address": "Rue de la Mairie",
        "status": "published",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=hours),
        "commune": commune,
    }
    values.update(fields)
    event = Event(**values)
    db.session.add(event)
    db.session.flush()
    return event


def make_registration(event, **fields):
    """A registration made through the service (so capacity and waiting list apply)."""
    from app.events import registrations as event_service

    n = next(_seq)
    values = {"name": f"Personne {n}", "email": f"person{n}@example.test", "people": 1}
    values.update(fields)
    return event_service.register(event, **values).registration


# A known TOTP secret for test admins (base32): tests compute codes with pyotp.
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_admin(
    email: str | None = None, totp_secret: str | None = TEST_TOTP_SECRET, **fields
) -> User:
    """An admin with a confirmed second factor (`TEST_TOTP_SECRET`), or none with `totp_secret=None`."""
    from app.core.columns import utcnow
    from app.members.models import TotpCredential

    user = make_user("admin", email=email, **fields)
    if totp_secret:
        db.session.add(TotpCredential(user_id=user.id, secret=totp_secret, confirmed_at=utcnow()))
        db.session.flush()
    return user


def make_merchant(
    status: str = "active", categories: tuple[str, ...] = ("fruits-legumes", "oeufs"), **fields
):
    """A conventioned merchant (unless `status` or `conventioned_since=None` say otherwise) in Boën."""
    from datetime import date

    from app.members.models import Commune
    from app.merchants.models import Category, Merchant

    n = next(_seq)
    commune = fields.pop("commune", None) or db.session.scalar(
        db.select(Commune).where(Commune.name == "Boën-sur-Lignon")
    )
    merchant = Merchant(
        name=fields.pop("name", f"Ferme {n}"),
        kind=fields.pop("kind", "producer"),
        commune_id=commune.id,
        status=status,
        conventioned_since=fields.pop("conventioned_since", date(2025, 1, 1)),
        categories=list(
            db.session.scalars(db.select(Category).where(Category.slug.in_(categories)))
        ),
        **fields,
    )
    db.session.add(merchant)
    db.session.flush()
    return merchant


def make_cashier(merchant=None, email: str | None = None, **fields):
    """A cashier account bound to `merchant` (a new conventioned one by default)."""
    merchant = merchant or make_merchant()
    return make_user("cashier", email=email, merchant_id=merchant.id, **fields)
