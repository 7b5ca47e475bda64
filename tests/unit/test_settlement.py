"""Settlements: amounts owed per merchant and month, statements, and the payout recorded once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from app.audit.models import AuditEntry
from app.core import calendar
from app.core.calendar import Month
from app.core.errors import InvalidPeriod
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.merchants.models import Category
from app.payouts import settlement
from app.payouts.errors import NothingToPay, PeriodNotClosed, SettlementChanged
from tests.support.factories import make_member, make_merchant


def _funded_member(cents: int = 1_000_00):
    account = ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=account,
        amount_cents=cents,
        kind="grant",
    )
    return account


def _sale(member_account, merchant, cents: int, day: date, category: str | None = None) -> Transfer:
    category_id = None
    if category:
        category_id = db.session.scalar(db.select(Category.id).where(Category.slug == category))
    return ledger.transfer(
        source=member_account,
        destination=ledger.merchant_account(merchant),
        amount_cents=cents,
        kind="purchase",
        occurred_on=day,
        category_id=category_id,
    )


def _period_days(period: str) -> tuple[date, date]:
    """The first and last days of a month."""
    return Month.parse(period).first_day, Month.parse(period).end - timedelta(days=1)


@pytest.fixture
def months(app):
    last = str(Month.last_closed())
    return {
        "current": str(Month.current()),
        "last": last,
        "before": str(Month.parse(last).shift(-1)),
    }


def test_amount_due_is_sales_minus_refunds_and_corrections_of_the_month_only(
    app, months, monkeypatch
):
    member = _funded_member()
    shop, other = make_merchant(), make_merchant()
    first, last_day = _period_days(months["last"])
    _sale(member, shop, 12_50, first)
    cancelled = _sale(member, shop, 3_00, last_day)
    corrected = _sale(member, shop, 7_25, last_day)
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "today", lambda: last_day)  # cancelled at the stall the same day
        ledger.reverse(cancelled, kind="refund", actor_id=None)
    _sale(
        member, shop, 99_00, _period_days(months["before"])[1]
    )  # the month before: not this month's due
    _sale(member, shop, 40_00, ledger.today())  # this month: not this month's due either
    _sale(member, other, 5_00, first)
    # A correction made later (this month) of a sale of last month: counted in the month it happened.
    ledger.reverse(corrected, kind="correction", actor_id=None, memo="wrong amount")
    db.session.commit()

    month = settlement.month_settlement(months["last"])
    line = next(line for line in month.lines if line.merchant.id == shop.id)
    assert (line.sales_count, line.sales_cents) == (3, 12_50 + 3_00 + 7_25)
    assert (line.refunds_count, line.refunds_cents) == (1, 3_00)
    assert line.corrections_cents == 0  # the correction happened this month
    assert line.due_cents == 12_50 + 7_25
    assert line.carried_cents == 99_00  # the month before was never paid
    assert line.payable_cents == 99_00 + 12_50 + 7_25
    assert line.status == "due"
    current = settlement.merchant_month(shop, months["current"])
    assert current.corrections_cents == 7_25 and current.due_cents == 40_00 - 7_25
    assert month.payable_cents == line.payable_cents + 5_00
    assert {line.merchant.id for line in month.lines} == {shop.id, other.id}


def test_month_boundaries_are_those_of_europe_paris(app, monkeypatch):
    """A sale at 00:30 in Paris on the 1st (still the day before in UTC) belongs to the new month."""
    member = _funded_member()
    shop = make_merchant()
    instant = datetime(2025, 2, 28, 23, 30, tzinfo=UTC)  # 1 March 2025, 00:30 in Paris

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    monkeypatch.setattr(calendar, "datetime", Clock)
    sale = ledger.transfer(
        source=member,
        destination=ledger.merchant_account(shop),
        amount_cents=10_00,
        kind="purchase",
    )
    monkeypatch.undo()
    assert sale.occurred_on == date(2025, 3, 1)
    assert settlement.merchant_month(shop, "2025-03").sales_cents == 10_00
    assert settlement.merchant_month(shop, "2025-02").sales_cents == 0


def test_marking_paid_moves_the_amount_to_payouts_once(app, months):
    member = _funded_member()
    shop = make_merchant()
    _sale(member, shop, 30_00, _period_days(months["last"])[0])
    _sale(member, shop, 8_00, ledger.today())
    db.session.commit()

    first = settlement.settle(shop, months["last"], actor_id=None, expected_cents=30_00)
    first_replayed = first.replayed
    db.session.commit()
    first_id = first.id
    again = settlement.settle(shop, months["last"], actor_id=None, expected_cents=30_00)
    db.session.commit()

    assert (
        again.kind == "settlement"
        and again.amount_cents == 30_00
        and again.period == months["last"]
    )
    assert first_replayed is False and again.replayed is True and again.id == first_id
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(Transfer).where(Transfer.kind == "settlement")
        )
        == 1
    )
    # What is still owed to the merchant: this month's sales, not yet payable.
    assert ledger.balance(ledger.merchant_account(shop)) == 8_00
    assert ledger.balance(ledger.system_account("payouts")) == 30_00
    line = settlement.merchant_month(shop, months["last"])
    assert (line.status, line.paid_cents, line.payable_cents) == ("paid", 30_00, 0)
    assert list(ledger.verify()) == []
    entries = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "settlement.paid")
    ).all()
    assert len(entries) == 1 and entries[0].details["amount_cents"] == 30_00


def test_an_unpaid_month_is_carried_into_the_next_and_never_paid_twice(app, months):
    member = _funded_member()
    shop = make_merchant()
    _sale(member, shop, 20_00, _period_days(months["before"])[0])
    _sale(member, shop, 5_00, _period_days(months["last"])[0])
    db.session.commit()

    paid = settlement.settle(shop, months["last"], actor_id=None)
    db.session.commit()
    assert paid.amount_cents == 25_00
    earlier = settlement.merchant_month(shop, months["before"])
    assert earlier.payable_cents == 0 and earlier.status == "nothing"
    with pytest.raises(NothingToPay):
        settlement.settle(shop, months["before"], actor_id=None)
    assert ledger.balance(ledger.merchant_account(shop)) == 0


def test_the_current_month_cannot_be_settled(app, months):
    shop = make_merchant()
    _sale(_funded_member(), shop, 5_00, ledger.today())
    with pytest.raises(PeriodNotClosed):
        settlement.settle(shop, months["current"], actor_id=None)
    with pytest.raises(PeriodNotClosed):
        settlement.settle_month(months["current"], actor_id=None)


def test_a_changed_amount_is_refused_and_nothing_to_pay_is_said(app, months):
    shop = make_merchant()
    with pytest.raises(NothingToPay):
        settlement.settle(shop, months["last"], actor_id=None)
    _sale(_funded_member(), shop, 5_00, _period_days(months["last"])[0])
    with pytest.raises(SettlementChanged):
        settlement.settle(shop, months["last"], actor_id=None, expected_cents=4_00)
    assert ledger.balance(ledger.merchant_account(shop)) == 5_00


def test_settle_month_pays_only_merchants_with_a_valid_iban(app, months):
    member = _funded_member()
    good = make_merchant(iban="FR7630001007941234567890185")
    bad = make_merchant(iban="FR7630001007941234567890186")
    none = make_merchant(iban="")
    day = _period_days(months["last"])[0]
    for shop, cents in ((good, 10_00), (bad, 20_00), (none, 30_00)):
        _sale(member, shop, cents, day)
    db.session.commit()
    month = settlement.month_settlement(months["last"])
    assert [line.merchant.id for line in month.in_transfer_file] == [good.id]
    assert sorted(line.merchant.id for line in month.blocking) == sorted([bad.id, none.id])
    with pytest.raises(SettlementChanged):
        settlement.settle_month(months["last"], actor_id=None, expected_total_cents=60_00)
    paid = settlement.settle_month(months["last"], actor_id=None, expected_total_cents=10_00)
    db.session.commit()
    assert [row.amount_cents for row in paid] == [10_00]
    assert ledger.balance(ledger.merchant_account(bad)) == 20_00
    with pytest.raises(NothingToPay):
        settlement.settle_month(months["last"], actor_id=None)


def test_a_reversed_payout_is_owed_again_in_the_next_month(app, months):
    member = _funded_member()
    shop = make_merchant()
    _sale(member, shop, 15_00, _period_days(months["before"])[0])
    payout = settlement.settle(shop, months["before"], actor_id=None)
    ledger.reverse(payout, kind="correction", actor_id=None, memo="transfer returned by the bank")
    db.session.commit()
    before = settlement.merchant_month(shop, months["before"])
    assert before.status == "paid" and before.paid_cents == 0
    last = settlement.merchant_month(shop, months["last"])
    assert last.carried_cents == 15_00 and last.payable_cents == 15_00
    assert settlement.settle(shop, months["last"], actor_id=None).amount_cents == 15_00


def test_statement_lists_operations_days_and_payouts(app, months, monkeypatch):
    member = _funded_member()
    shop = make_merchant()
    first, last_day = _period_days(months["last"])
    a = _sale(member, shop, 4_00, first, "oeufs")
    b = _sale(member, shop, 6_50, first, "fruits-legumes")
    c = _sale(member, shop, 2_00, last_day)
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "today", lambda: first)
        refund = ledger.reverse(b, kind="refund", actor_id=None)
    db.session.commit()
    settlement.settle(shop, months["last"], actor_id=None)
    db.session.commit()

    result = settlement.statement(shop, months["last"], with_lines=True)
    assert [line.transfer.id for line in result.lines] == [a.id, b.id, refund.id, c.id]
    assert [line.signed_cents for line in result.lines] == [4_00, 6_50, -6_50, 2_00]
    assert result.lines[2].kind == "refund" and result.lines[2].reverses_reference == b.reference
    assert [
        (d.day, d.sales_count, d.sales_cents, d.refunds_cents, d.net_cents) for d in result.days
    ] == [
        (first, 2, 10_50, 6_50, 4_00),
        (last_day, 1, 2_00, 0, 2_00),
    ]
    assert [p.amount_cents for p in result.payouts] == [6_00]
    assert [line.kind for line in result.adjustments] == ["refund"]
    brief = settlement.statement(
        shop, months["last"]
    )  # the printed statement: no sale-by-sale lines
    assert [line.transfer.id for line in brief.lines] == [refund.id]
    assert brief.days == result.days and brief.month.due_cents == result.month.due_cents
    assert result.month.due_cents == sum(d.net_cents for d in result.days) == 6_00


def test_statement_csv_is_excel_friendly_and_neutralises_formulas(app, months):
    member = _funded_member(2000_00)
    shop = make_merchant(name='=HYPERLINK("http://evil")')
    _sale(member, shop, 1234_56, _period_days(months["last"])[0], "oeufs")
    db.session.commit()
    data = settlement.statement_csv(
        settlement.statement(shop, months["last"], with_lines=True), "fr"
    )
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0].startswith("'=")
    sale = rows[2]
    assert sale[2] == db.session.scalar(
        db.select(Transfer.reference).where(Transfer.kind == "purchase")
    )
    assert sale[-1] == "1234,56"
    assert rows[-1][-1] == "1234,56"  # still to pay
    english = settlement.statement_csv(
        settlement.statement(shop, months["last"], with_lines=True), "en"
    )
    assert "1234.56" in english.decode("utf-8-sig")


@pytest.mark.parametrize(
    "text",
    ["", "2026", "2026-13", "2026-00", "26-01", "1999-12", "2026-1", "abcd-ef", "2026-01-01"],
)
def test_bad_periods_are_refused(app, text):
    with pytest.raises(InvalidPeriod):
        settlement.parse_period(text)


def test_period_arithmetic(app):
    assert str(Month.parse("2026-01").shift(-1)) == "2025-12"
    assert str(Month.parse("2025-12").shift(1)) == "2026-01"
    assert Month.parse("2025-12").end == date(2026, 1, 1)
    assert settlement.parse_period(" 2025-03 ") == "2025-03"
    assert settlement.recent_periods(3)[0] == str(Month.last_closed())
