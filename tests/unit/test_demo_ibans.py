"""Every IBAN of the demo data passes the same check as the back office's (schwifty, with the
national BBAN checksum): merchant 3's failed it."""

from __future__ import annotations

from sqlalchemy import select

from app.core.extensions import db
from app.core.settings import association
from app.demo import seed_demo
from app.merchants.models import Merchant
from app.payouts.bank_details import parse_iban


def test_every_demo_iban_is_valid(app):
    list(seed_demo())
    db.session.commit()
    ibans = {m.name: m.iban for m in db.session.scalars(select(Merchant))}
    ibans["association"] = association()["iban"]
    assert len(ibans) >= 4 and all(ibans.values())
    for owner, iban in ibans.items():
        assert parse_iban(iban) == iban, owner  # raises on a wrong checksum
