"""Merchants in the back office (services): status follows the convention, IBANs are checked,
cashiers are invited once per address."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.members.errors import EmailTaken
from app.members.models import Commune
from app.merchants import admin as merchants_admin
from app.merchants.admin import MerchantData
from app.merchants.models import Category
from app.payouts.errors import InvalidIban
from tests.support.factories import make_cashier, make_merchant, make_user


def _data(**overrides) -> MerchantData:
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Leigneux"))
    category = db.session.scalar(db.select(Category.id).where(Category.slug == "oeufs"))
    values = dict(
        name="  Ferme   des Œufs ",
        kind="producer",
        commune_id=commune.id,
        conventioned_since=date(2026, 2, 1),
        category_ids=[category, category],
        iban="fr76 3000 1007 9412 3456 7890 185",
    )
    values.update(overrides)
    return MerchantData(**values)


def test_create_cleans_and_conventions(app):
    merchant = merchants_admin.create(_data(), actor_id=None)
    assert merchant.name == "Ferme des Œufs" and merchant.status == "active"
    assert merchant.iban == "FR7630001007941234567890185" and len(merchant.categories) == 1


def test_status_follows_the_convention_but_not_over_a_suspension(app):
    merchant = merchants_admin.create(
        _data(conventioned_since=None, category_ids=[]), actor_id=None
    )
    assert merchant.status == "pending"
    merchants_admin.update(merchant, _data(), actor_id=None)
    assert merchant.status == "active"
    assert merchants_admin.suspend(merchant, actor_id=None) is True
    assert merchants_admin.suspend(merchant, actor_id=None) is False
    merchants_admin.update(merchant, _data(name="Autre nom"), actor_id=None)
    assert merchant.status == "suspended"  # editing does not lift a suspension
    merchants_admin.update(merchant, _data(conventioned_since=None, category_ids=[]), actor_id=None)
    assert merchants_admin.reactivate(merchant, actor_id=None) is True
    assert merchant.status == "pending"  # no convention any more


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"iban": "FR7630001007941234567890186"}, InvalidIban),
        ({"name": "\x00 "}, InvalidContent),
        ({"kind": "factory"}, InvalidContent),
        ({"commune_id": 999_999}, InvalidContent),
        ({"category_ids": []}, InvalidContent),
        ({"category_ids": [999_999]}, InvalidContent),
        ({"description_fr": "Seulement en français"}, InvalidContent),
    ],
)
def test_refusals(app, overrides, error):
    with pytest.raises(error):
        merchants_admin.create(_data(**overrides), actor_id=None)


def test_invite_refuses_a_taken_address_and_checks_the_merchant(app):
    merchant, other = make_merchant(), make_merchant()
    make_user("member", email="pris@example.test")
    with pytest.raises(EmailTaken):
        merchants_admin.invite_cashier(merchant, "PRIS@example.test", "", "fr", actor_id=None)
    user = merchants_admin.invite_cashier(merchant, "nouveau@example.test", "", "en", actor_id=None)
    assert user.display_name == merchant.name and user.language == "en"
    assert db.session.scalar(
        db.select(OutboxMessage).where(OutboxMessage.recipient == "nouveau@example.test")
    )
    with pytest.raises(InvalidContent):
        merchants_admin.resend_invitation(other, user, actor_id=None)
    with pytest.raises(InvalidContent):
        merchants_admin.set_cashier_enabled(other, make_cashier(merchant), False, actor_id=None)
