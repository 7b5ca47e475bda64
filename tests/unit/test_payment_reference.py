"""How a member pays: the payment reference (which the bank statement import must recognise), the
EPC QR code's payload (read back with a QR reader, no browser) and its limits, and the
association's settings read without ever failing."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from app.core.settings import set_setting
from app.ledger import bank_import
from app.members import cards, payment
from tests.support.factories import make_member
from tests.support.qr import decode_segno, epc_fields

IBAN = "FR7630001000000000001234549"


def statement(*labels: str, cents: str = "15,00") -> bytes:
    rows = ["Date;Libellé;Montant"] + [f"05/03/2020;{label};{cents}" for label in labels]
    return ("\n".join(rows) + "\n").encode()


# The reference


def test_the_reference_is_the_prefix_and_the_member_number():
    assert payment.payment_reference("000018") == "PATIAS 000018"


@pytest.mark.parametrize("sequence", [1, 2, 17, 123, 4242, 99999])
def test_the_bank_import_recognises_every_reference_in_a_bank_label(sequence):
    number = cards.member_number(sequence)
    reference = payment.payment_reference(number)
    for label in (
        reference,
        f"VIR SEPA {reference} MME DUPONT",
        f"VIREMENT DE M. X / {reference.lower()} / MARS",
    ):
        assert bank_import.member_reference(label) == (number, ""), label


def test_a_statement_with_the_references_of_members_matches_each_of_them(app):
    members = [make_member() for _ in range(3)]
    db.session.commit()
    read = bank_import.read_statement(
        statement(*(f"VIR {payment.payment_reference(m.number)} COTIS" for m in members))
    )
    assert [row.status for row in read.rows] == ["matched"] * 3
    assert [row.member.id for row in read.rows] == [m.id for m in members]


def test_the_prefix_is_a_setting_read_by_the_reference_and_the_import(app):
    set_setting("payment_reference_prefix", "ssa-Lignon 42")
    number = cards.member_number(1)
    assert payment.payment_reference(number) == "SSALIGNON 000018"
    assert bank_import.member_reference(f"VIR SSALIGNON {number}") == (number, "")
    found, reason = bank_import.member_reference(f"VIR PATIAS {number}")
    assert found is None and "SSALIGNON" in reason


@pytest.mark.parametrize("value", ["", None, "1234", "   ", "--", 7])
def test_a_prefix_without_letters_falls_back_to_patias(app, value):
    set_setting("payment_reference_prefix", value)
    assert payment.reference_prefix() == "PATIAS"


# The EPC QR code


def test_the_epc_payload_holds_the_association_the_amount_and_the_reference():
    pay = payment.how_to_pay("000018", 1250)
    [payload] = decode_segno(pay.qr)
    fields = epc_fields(payload)
    assert fields == {
        "service": "BCD",
        "version": "002",
        "charset": fields["charset"],
        "identification": "SCT",
        "bic": "BDFEFRPP",
        "name": "SSA PATIAS",
        "iban": IBAN,
        "amount": "EUR12.5",
        "purpose": "",
        "reference": "",
        "text": "PATIAS 000018",
    }
    assert fields["charset"] in {str(n) for n in range(1, 9)}


@pytest.mark.parametrize(
    ("cents", "amount"),
    [(1, "EUR0.01"), (1500, "EUR15"), (payment.EPC_MAX_CENTS, "EUR999999999.99")],
)
def test_the_epc_amount_is_the_pledge_within_the_epc_limits(cents, amount):
    qr = payment.epc_qr(
        holder="SSA PATIAS", iban=IBAN, bic="BDFEFRPP", amount_cents=cents, reference="PATIAS 1"
    )
    assert epc_fields(decode_segno(qr)[0])["amount"] == amount


@pytest.mark.parametrize("cents", [0, -5, payment.EPC_MAX_CENTS + 1, 10**30, None, "15"])
def test_no_qr_code_for_an_amount_outside_the_epc_limits(cents):
    qr = payment.epc_qr(
        holder="SSA PATIAS", iban=IBAN, bic="BDFEFRPP", amount_cents=cents, reference="PATIAS 1"
    )
    assert qr is None


def test_a_member_without_a_pledge_gets_the_bank_details_but_no_qr_code():
    pay = payment.how_to_pay("000018", 0)
    assert pay.amount_cents == 0 and not pay.has_qr
    assert pay.has_transfer and pay.reference == "PATIAS 000018"


def test_an_applicant_has_no_reference_and_no_qr_code():
    pay = payment.how_to_pay(None, 1500)
    assert pay.reference is None and not pay.has_qr and pay.amount_cents == 1500
    assert pay.iban_grouped == "FR76 3000 1000 0000 0000 1234 549"


# The association's settings, whatever they hold


def test_an_empty_iban_leaves_the_transfer_out(app):
    set_setting("iban", "")
    pay = payment.how_to_pay("000018", 1500)
    assert not pay.has_transfer and not pay.has_qr
    assert pay.places and pay.contact_phone


def test_an_empty_holder_is_the_association_s_name(app):
    set_setting("bank_holder", "  ")
    set_setting("name", "SSA du Lignon")
    pay = payment.how_to_pay("000018", 1500)
    assert pay.holder == "SSA du Lignon"
    assert epc_fields(decode_segno(pay.qr)[0])["name"] == "SSA du Lignon"


def test_a_long_holder_is_cut_to_the_epc_length(app):
    set_setting("bank_holder", "Association " * 10)
    pay = payment.how_to_pay("000018", 1500)
    assert len(epc_fields(decode_segno(pay.qr)[0])["name"]) <= payment.EPC_NAME_MAX


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("iban", "FR7630001000000000001234548"),  # wrong check digits
        ("iban", "not an iban"),
        ("iban", "X" * 100_000),
        ("bic", "BDF"),
        ("bic", "BDFEFRPP\x00"),
    ],
)
def test_bank_details_the_epc_format_refuses_give_no_qr_code_and_no_error(app, key, value):
    set_setting(key, value)
    pay = payment.how_to_pay("000018", 1500)
    assert not pay.has_qr
    assert pay.has_transfer


def test_a_bic_may_be_left_out(app):
    set_setting("bic", "")
    pay = payment.how_to_pay("000018", 1500)
    assert epc_fields(decode_segno(pay.qr)[0])["bic"] == ""


@pytest.mark.parametrize(
    "places",
    [None, 5, "Mairie", [{"place": ""}, "x", 3, {"times": "lundi"}], {"place": "Mairie"}],
)
def test_malformed_places_are_left_out(app, places):
    set_setting("pay_places", places)
    assert payment.how_to_pay("000018", 1500).places == []


def test_places_keep_their_order_and_times(app):
    set_setting("pay_places", [{"place": "Mairie", "times": "samedi"}, {"place": "MJC"}])
    assert payment.how_to_pay("000018", 1500).places == [
        {"place": "Mairie", "times": "samedi"},
        {"place": "MJC", "times": ""},
    ]


def test_the_inline_svg_is_an_image_with_a_name():
    svg = str(payment.how_to_pay("000018", 1500).qr_svg('QR "code" <x>'))
    assert svg.startswith('<svg role="img" aria-label="QR &#34;code&#34; &lt;x&gt;" ')
    assert "<script" not in svg and "style=" not in svg
