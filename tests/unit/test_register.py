"""The register service (app/register/sales.py) without HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.core import calendar
from app.core.errors import RateLimited
from app.core.extensions import db as _db
from app.core.ratelimit import RateLimitHit
from app.ledger import transfers as ledger
from app.ledger.errors import AlreadyReversed, IdempotencyConflict, InsufficientBalance
from app.ledger.models import Transfer
from app.members.errors import InvalidMemberNumber, WrongPin
from app.register import sales as register
from app.register.errors import (
    IdentificationExpired,
    RegisterClosed,
    SaleNotFound,
    SaleRecordedOtherwise,
)
from tests.support.factories import make_cashier, make_member, make_merchant, make_user

PIN = "8642"


@pytest.fixture
def cashier(app):
    return make_cashier(make_merchant())


@pytest.fixture
def member(app):
    person = make_member(first_name="Ana", last_name="Lopez", pin=PIN)
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(person),
        amount_cents=10000,
        kind="allocation",
        period="2099-01",
    )
    return person


def sale(cashier, member, cents, key=None, category_id=None, pin=PIN):
    return register.charge(
        cashier,
        member_id=member.id,
        amount_cents=cents,
        category_id=category_id,
        key=key or register.new_key(),
        pin=pin,
    )


@pytest.mark.parametrize(
    ("scanned", "token"),
    [
        ("abc_DEF-123", "abc_DEF-123"),
        ("https://patias.test/carte/abc_DEF-123", "abc_DEF-123"),
        ("https://patias.test/carte/abc_DEF-123/", "abc_DEF-123"),
        ("PATIAS:abc_DEF-123", "abc_DEF-123"),
        ("  abc  ", "abc"),
    ],
)
def test_card_token_from_the_qr_code(scanned, token):
    assert register.card_token_from_qr(scanned) == token


def test_a_receipt_shows_the_balance_right_after_its_own_sale(cashier, member):
    key = register.new_key()
    first = sale(cashier, member, 1000, key=key)
    sale(cashier, member, 2500)
    refund_of = sale(cashier, member, 100)
    ledger.reverse(_db.session.get(Transfer, refund_of.sale_id), kind="refund", actor_id=None)
    replay = sale(cashier, member, 1000, key=key, pin="0000")
    assert first.balance_after_cents == 9000
    assert replay == register.Receipt(**{**first.__dict__, "replayed": True})
    assert ledger.balance(ledger.member_account(member)) == 6500


def test_a_key_is_bound_to_the_sale_it_was_made_for(cashier, member):
    key = register.new_key()
    first = sale(cashier, member, 1000, key=key)
    with pytest.raises(IdempotencyConflict) as caught:
        sale(cashier, member, 1000, key=key, category_id=1)
    # The refusal carries the receipt of the sale the key made, and what differed.
    assert isinstance(caught.value, SaleRecordedOtherwise)
    assert caught.value.receipt == register.Receipt(**{**first.__dict__, "replayed": True})
    assert caught.value.differences == ("category",)
    other = make_member(pin=PIN)
    with pytest.raises(SaleRecordedOtherwise) as caught:
        sale(cashier, other, 1200, key=key)
    assert caught.value.differences == ("member", "amount")
    assert ledger.balance(ledger.member_account(member)) == 9000


def test_an_insufficient_balance_names_what_is_available(cashier, member):
    sale(cashier, member, 9000)
    with pytest.raises(InsufficientBalance) as caught:
        sale(cashier, member, 1001)
    assert caught.value.available_cents == 1000
    assert (
        _db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "purchase")
        )
        == 1
    )


def test_an_approval_replaces_the_pin_once_for_its_amount_and_key(
    app, cashier, member, monkeypatch
):
    key = register.new_key()
    approval = register.approval_for(cashier, member.id, 700, key)
    receipt = register.charge(
        cashier, member_id=member.id, amount_cents=700, category_id=None, key=key, approval=approval
    )
    assert receipt.amount_cents == 700
    other_key = register.new_key()
    with pytest.raises(Exception) as refused:
        register.charge(
            cashier,
            member_id=member.id,
            amount_cents=700,
            category_id=None,
            key=other_key,
            approval=approval,
        )
    assert type(refused.value).__name__ == "InvalidPin"
    # An approval older than its validity asks the PIN again.
    late_key = register.new_key()
    late = register.approval_for(cashier, member.id, 700, late_key)
    import itsdangerous.timed

    future = datetime.now(UTC).timestamp() + register.APPROVAL_MAX_AGE + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: future)
    with pytest.raises(WrongPin):
        register.charge(
            cashier,
            member_id=member.id,
            amount_cents=700,
            category_id=None,
            key=late_key,
            approval=late,
            pin="0000",
        )


def test_member_references_belong_to_their_cashier(cashier, member):
    token = register.member_ref(cashier, member)
    assert register.read_member_ref(cashier, token) == member.id
    other = make_cashier(cashier.merchant)
    for bad in (token + "x", "", None, "W10.x.y"):
        with pytest.raises(IdentificationExpired):
            register.read_member_ref(cashier, bad)
    with pytest.raises(IdentificationExpired):
        register.read_member_ref(other, token)


def test_a_typo_is_refused_before_any_lookup_and_not_counted(cashier, member):
    with pytest.raises(InvalidMemberNumber):
        register.identify(cashier, number=member.number[:5] + str((int(member.number[5]) + 1) % 10))
    assert _db.session.scalar(select(func.count()).select_from(RateLimitHit)) == 0
    assert register.identify(cashier, number=member.number).id == member.id
    assert _db.session.scalar(select(RateLimitHit.count)) == 1


def test_lookups_past_the_limit_are_refused(cashier, member):
    for _ in range(3):
        register.identify(cashier, number=member.number, limit=3, window_seconds=600)
    with pytest.raises(RateLimited):
        register.identify(cashier, number=member.number, limit=3, window_seconds=600)


@pytest.mark.parametrize(
    ("status", "since"), [("suspended", date(2025, 1, 1)), ("pending", None), ("active", None)]
)
def test_a_merchant_that_may_not_sell(cashier, member, status, since):
    cashier.merchant.status = status
    cashier.merchant.conventioned_since = since
    with pytest.raises(RegisterClosed):
        sale(cashier, member, 100)
    with pytest.raises(RegisterClosed):
        register.identify(cashier, number=member.number)


def test_only_cashiers_with_a_merchant_sell(app, member):
    for user in (make_user("cashier"), make_user("admin")):
        with pytest.raises(RegisterClosed):
            register.open_merchant(user)


def test_the_register_day_is_the_paris_calendar_day(cashier, member, monkeypatch):
    """23:30 UTC on 10 March is already 11 March in Paris: the sale belongs to the 11th."""

    class LateEvening(datetime):
        @classmethod
        def now(cls, tz=None):
            moment = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
            return moment.astimezone(tz) if tz else moment

    monkeypatch.setattr(calendar, "datetime", LateEvening)
    receipt = sale(cashier, member, 1200)
    assert register.today() == date(2025, 3, 11)
    assert _db.session.get(Transfer, receipt.sale_id).occurred_on == date(2025, 3, 11)
    report = register.day_report(cashier.merchant, date(2025, 3, 11))
    assert [line.sale.id for line in report.lines] == [
        receipt.sale_id
    ] and report.total_cents == 1200
    assert register.day_report(cashier.merchant, date(2025, 3, 10)).lines == []


def test_cancel_replays_with_its_key_and_refuses_a_second_cancellation(cashier, member):
    receipt = sale(cashier, member, 1500)
    key = register.new_key()
    refund = register.cancel(cashier, receipt.sale_id, pin=PIN, key=key)
    again = register.cancel(cashier, receipt.sale_id, pin=PIN, key=key)
    assert again.id == refund.id
    with pytest.raises(AlreadyReversed):
        register.cancel(cashier, receipt.sale_id, pin=PIN, key=register.new_key())
    other = make_cashier(make_merchant())
    with pytest.raises(SaleNotFound):
        register.cancel(other, receipt.sale_id, pin=PIN, key=register.new_key())
    assert ledger.balance(ledger.member_account(member)) == 10000
    assert list(ledger.verify()) == []


# --- the sale's values checked without the form (forms.parse_sale) ----------------------------

_SALE_INPUTS = [
    {"amount": amount, "pin": pin, "category": category, "key": key, "approval": approval}
    for amount in (
        "12,50",
        "12.5",
        "0,05",
        "0",
        "-5",
        "12,345",
        "abc",
        "1e3",
        "",
        "99999",
        " 7 ",
        "500",
        "500,01",
    )
    for pin in ("1234", "123", "12345", "12a4", "", "١٢٣٤")
    for category in ("", "1", "abc", "-1")
    for key in ("k" * 22, "short", " " * 20)
    for approval in ("", "x" * 20)
]


def test_parse_sale_never_accepts_what_the_sale_form_refuses(app):
    # The register's hot path checks the values by hand; where it says yes, SaleForm (without its
    # CSRF token, checked for every POST) must say yes with the same values. Where it says no,
    # the form is built and says what is wrong.
    from werkzeug.datastructures import MultiDict

    from app.blueprints.merchant.forms import SaleForm, SaleInput, parse_sale

    class Chip:
        id = 1

        def tr(self, _name):
            return "Chip"

    accepted = 0
    with app.test_request_context("/caisse/debit", method="POST"):
        for values in _SALE_INPUTS:
            data = MultiDict({"member": "ref", **values})
            quick = parse_sale(data, max_cents=500_00)
            form = SaleForm(
                formdata=data, max_cents=500_00, categories=[Chip()], meta={"csrf": False}
            )
            valid = form.validate()
            if quick is not None:
                accepted += 1
                assert valid, (values, form.errors)
                assert quick == SaleInput.of(form), values
    assert accepted > 20  # the hot path does take the usual sales
