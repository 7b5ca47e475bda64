"""IBAN checks and the pain.001.001.03 credit-transfer file that pays the merchants."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from app.core.calendar import Month
from app.core.extensions import db
from app.core.settings import set_setting
from app.ledger import transfers as ledger
from app.payouts import bank_details, sepa, settlement
from app.payouts.errors import BankDetailsMissing, InvalidIban, NothingToPay
from tests.support.factories import make_member, make_merchant

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
GOOD = "FR7630001007941234567890185"
GOOD_2 = "FR7610107001011234567890129"


@pytest.mark.parametrize(
    "typed, compact",
    [
        (GOOD, GOOD),
        ("fr76 3000 1007 9412 3456 7890 185", GOOD),
        (" FR76-3000-1007-9412-3456-7890-185 ", GOOD),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ],
)
def test_valid_ibans_are_accepted_in_compact_form(app, typed, compact):
    assert bank_details.parse_iban(typed) == compact
    assert bank_details.iban_is_valid(typed)


@pytest.mark.parametrize(
    "typed, words",
    [
        ("FR7630001007941234567890186", "clé de contrôle"),  # one digit changed: the checksum fails
        ("FR7630001007941234567890158", "clé de contrôle"),  # two digits swapped
        ("FR76300010079412345678901", "nombre de caractères"),
        ("XX7630001007941234567890185", "code pays"),
        ("", "Saisissez l’IBAN"),
        ("FR76 3000 1007 <script>", "lettres et des chiffres"),
        ("FR76" + "1" * 40, "lettres et des chiffres"),
        ("BR1800360305000010009795493C1", "hors de la zone SEPA"),
    ],
)
def test_bad_ibans_are_refused_with_a_clear_message(app, typed, words):
    """Outside a request the messages are in the association's language (French)."""
    with pytest.raises(InvalidIban) as caught:
        bank_details.parse_iban(typed)
    assert words in str(caught.value.message)
    assert not bank_details.iban_is_valid(typed)


def test_the_french_rib_key_is_checked_too(app):
    """An IBAN whose ISO check digits were recomputed over a wrong RIB key is still refused."""
    bban = "30001007941234567890199"  # RIB key 99 instead of 85
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "FR00")) % 97
    with pytest.raises(InvalidIban):
        bank_details.parse_iban(f"FR{check:02d}{bban}")


def _owed(merchants_and_cents):
    member = ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=member,
        amount_cents=10_000_00,
        kind="grant",
    )
    day = Month.last_closed().first_day + timedelta(days=4)
    for merchant, cents in merchants_and_cents:
        ledger.transfer(
            source=member,
            destination=ledger.merchant_account(merchant),
            amount_cents=cents,
            kind="purchase",
            occurred_on=day,
        )
    db.session.commit()


def test_transfer_file_is_valid_pain_001_001_03_and_matches_the_statements(app):
    shops = [
        make_merchant(name="L’Épi du Forez & fils", iban=GOOD),
        make_merchant(name="Ferme des Hautes Chaumes", iban=GOOD_2),
        make_merchant(name="Sans IBAN", iban=""),
        make_merchant(name="IBAN faux", iban="FR7630001007941234567890186"),
        make_merchant(name="Rien à payer", iban=GOOD),
    ]
    _owed([(shops[0], 123_45), (shops[1], 10_05), (shops[2], 50_00), (shops[3], 7_00)])
    period = str(Month.last_closed())

    result = sepa.transfer_file(period)

    xmlschema.XMLSchema(str(XSD)).validate(result.xml.decode())  # raises on any schema error
    root = ET.fromstring(result.xml)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    transactions = root.findall(".//p:CdtTrfTxInf", NS)
    statements = {m.id: settlement.statement(m, period).month.payable_cents for m in shops}
    expected = statements[shops[0].id] + statements[shops[1].id]
    assert (
        Decimal(header.find("p:CtrlSum", NS).text) * 100 == expected == 133_50 == result.total_cents
    )
    assert header.find("p:NbOfTxs", NS).text == "2" and len(transactions) == 2
    by_iban = {t.find("p:CdtrAcct/p:Id/p:IBAN", NS).text: t for t in transactions}
    assert set(by_iban) == {GOOD, GOOD_2}
    first = by_iban[GOOD]
    assert first.find("p:Amt/p:InstdAmt", NS).text == "123.45"
    assert first.find("p:Amt/p:InstdAmt", NS).get("Ccy") == "EUR"
    assert first.find("p:Cdtr/p:Nm", NS).text == "L'Epi du Forez fils"
    assert first.find("p:PmtId/p:EndToEndId", NS).text == f"PATIAS-{period}-M{shops[0].id}"
    debtor = root.find(".//p:PmtInf", NS)
    assert debtor.find("p:DbtrAcct/p:Id/p:IBAN", NS).text == "FR7630001000000000001234549"
    assert debtor.find("p:DbtrAgt/p:FinInstnId/p:BIC", NS).text == "BDFEFRPP"
    assert sorted(line.merchant.name for line in result.blocking) == ["IBAN faux", "Sans IBAN"]


def test_no_transfer_file_when_nothing_is_owed(app):
    make_merchant(iban=GOOD)
    with pytest.raises(NothingToPay):
        sepa.transfer_file(str(Month.last_closed()))


def test_paid_merchants_leave_the_next_file(app):
    shops = [make_merchant(iban=GOOD), make_merchant(iban=GOOD_2)]
    _owed([(shops[0], 5_00), (shops[1], 6_00)])
    period = str(Month.last_closed())
    settlement.settle(shops[0], period, actor_id=None)
    db.session.commit()
    result = sepa.transfer_file(period)
    assert [line.merchant.id for line in result.payments] == [shops[1].id]
    assert b"<CtrlSum>6.00</CtrlSum>" in result.xml


def test_association_bank_details_must_be_valid(app):
    shop = make_merchant(iban=GOOD)
    _owed([(shop, 5_00)])
    set_setting("iban", "FR7630001000000000001234548")
    with pytest.raises(BankDetailsMissing):
        sepa.transfer_file(str(Month.last_closed()))


def test_display_helpers(app):
    assert bank_details.format_iban(GOOD) == "FR76 3000 1007 9412 3456 7890 185"
    assert bank_details.masked_iban(GOOD) == "FR76 •••• 0185"
    assert sepa.sepa_text("Crème & <b>brûlée</b> ñ", 70) == "Creme b brulee /b n"


def test_no_transfer_file_for_a_month_not_over(app):
    from app.payouts.errors import PeriodNotClosed

    shop = make_merchant(iban=GOOD)
    member = ledger.member_account(make_member())
    ledger.transfer(
        source=ledger.system_account("caisse"), destination=member, amount_cents=10_00, kind="grant"
    )
    ledger.transfer(
        source=member, destination=ledger.merchant_account(shop), amount_cents=5_00, kind="purchase"
    )
    with pytest.raises(PeriodNotClosed):
        sepa.transfer_file(str(Month.current()))
