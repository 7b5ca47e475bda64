"""Reading bank statements: encodings, separators, columns, amounts, dates, member references."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core import calendar
from app.core.extensions import db as _db
from app.ledger import bank_import
from app.ledger import transfers as ledger
from app.ledger.errors import StatementUnreadable
from tests.support.factories import make_member


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("15,00", 1500),
        ("15", 1500),
        ("+15,5", 1550),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1.234,56", 123456),
        ("1234.56", 123456),
        ("-12,50", -1250),
        ("12,50-", -1250),
        ("15,00 €", 1500),
        ("- 7,00", -700),
        ("12,345", None),
        ("abc", None),
        ("", None),
        ("1e5", None),
        ("9" * 12, None),
    ],
)
def test_amounts(text, cents):
    assert bank_import.parse_signed_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("05/03/2026", date(2026, 3, 5)),
        ("05/03/26", date(2026, 3, 5)),
        ("2026-03-05", date(2026, 3, 5)),
        ("05-03-2026", date(2026, 3, 5)),
        ("05.03.2026", date(2026, 3, 5)),
        ("31/02/2026", None),
        ("hier", None),
    ],
)
def test_dates(text, day):
    assert bank_import.parse_day(text) == day


@pytest.mark.parametrize(
    ("label", "number"),
    [
        ("VIR SEPA PATIAS 000018 CAMILLE", "000018"),
        ("patias-000018", "000018"),
        ("PATIAS:000 018", "000018"),
        ("PATIAS#000018/mars", "000018"),
        ("VIREMENT COTISATION", None),
        ("PATIAS 000019", None),
        ("PATIAS 000018 PATIAS 000026", None),
        ("PATIAS 0000181", None),
    ],
)
def test_member_reference(label, number):
    assert bank_import.member_reference(label)[0] == number


def test_decoding_each_encoding():
    assert bank_import.decode("Libellé".encode("utf-8-sig"))[1] == "UTF-8 (BOM)"
    assert bank_import.decode("Libellé".encode()) == ("Libellé", "UTF-8")
    assert bank_import.decode("Libellé €".encode("cp1252")) == ("Libellé €", "Windows-1252")


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04rest-of-a-zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old-excel",
        b"%PDF-1.7",
        "Date;Montant".encode("utf-16"),
        b"",
        b"   \n  ",
        b"just one line without separators",
        b"Nom;Prenom;Ville\nA;B;C\n",
    ],
)
def test_files_that_are_not_statements_are_explained(app, data):
    with pytest.raises(StatementUnreadable) as raised:
        bank_import.read_statement(data, "x.csv")
    assert str(raised.value.message)


def test_a_pdf_is_named_as_such(app):
    with pytest.raises(StatementUnreadable) as raised:
        bank_import.read_statement(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "releve.pdf")
    assert "PDF" in str(raised.value.message)


def test_a_file_too_large_is_refused(app):
    with pytest.raises(StatementUnreadable):
        bank_import.read_statement(b"Date;Montant;Libelle\n" + b"x" * (bank_import.MAX_BYTES + 10))


def _statement(rows, header="Date;Libellé;Montant", sep=";", encoding="utf-8", preamble=""):
    lines = [preamble] if preamble else []
    lines += [header.replace(";", sep)] + [sep.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def test_rows_are_classified(app, db):
    member = make_member()
    erased = make_member(status="erased")
    db.session.commit()
    day = (calendar.today() - timedelta(days=3)).strftime("%d/%m/%Y")
    future = (calendar.today() + timedelta(days=3)).strftime("%d/%m/%Y")
    rows = [
        (day, f"VIR PATIAS {member.number} COTIS", "15,00"),
        (day, "VIR SANS REFERENCE", "20,00"),
        (day, "PRLV EDF", "-54,20"),
        (day, "PATIAS 000019", "5,00"),
        (day, f"PATIAS {erased.number}", "5,00"),
        ("pas une date", f"PATIAS {member.number}", "5,00"),
        (day, f"PATIAS {member.number}", "cinq"),
        (future, f"PATIAS {member.number}", "5,00"),
    ]
    statement = bank_import.read_statement(_statement(rows, encoding="cp1252"), "releve.csv")
    assert statement.encoding == "Windows-1252" and statement.separator == ";"
    assert [r.status for r in statement.rows] == [
        "matched",
        "unmatched",
        "ignored",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
        "unmatched",
    ]
    assert statement.rows[0].member.id == member.id and statement.rows[0].amount_cents == 1500
    assert all(r.problem for r in statement.rows[1:])
    assert statement.matched_cents == 1500


def test_comma_separator_bom_credit_debit_columns_and_a_preamble(app, db):
    member = make_member()
    db.session.commit()
    day = calendar.today().isoformat()
    data = _statement(
        [
            (day, f'"PATIAS {member.number}, merci"', "", "12.50"),
            (day, "CB BOULANGERIE", "3.20", ""),
        ],
        header="Date opération,Libellé,Débit,Crédit",
        sep=",",
        encoding="utf-8-sig",
        preamble="Compte courant n° 123;Période du 01/03 au 31/03",
    )
    statement = bank_import.read_statement(data)
    assert statement.separator == ","
    assert [r.status for r in statement.rows] == ["matched", "ignored"]
    assert (
        statement.rows[0].amount_cents == 1250
        and statement.rows[0].label == f"PATIAS {member.number}, merci"
    )


def test_identical_rows_get_distinct_keys_and_the_same_keys_next_time(app, db):
    member = make_member()
    db.session.commit()
    day = calendar.today().strftime("%d/%m/%Y")
    row = (day, f"PATIAS {member.number}", "10,00")
    first = bank_import.read_statement(_statement([row, row]))
    second = bank_import.read_statement(
        _statement([row, row, (day, f"PATIAS {member.number}", "11,00")])
    )
    assert first.rows[0].key != first.rows[1].key
    assert [r.key for r in first.rows] == [r.key for r in second.rows[:2]]


def test_recording_twice_records_once(app, db):
    from app.ledger.models import Transfer

    admin_id = None
    member = make_member()
    db.session.commit()
    day = calendar.today().strftime("%d/%m/%Y")
    data = _statement(
        [(day, f"PATIAS {member.number}", "10,00"), (day, f"PATIAS {member.number}", "10,00")]
    )
    statement = bank_import.read_statement(data)
    token = bank_import.batch_token(statement)
    result = bank_import.record_batch(token, admin_id)
    db.session.commit()
    assert (result.recorded, result.recorded_cents, result.already) == (2, 2000, 0)
    again = bank_import.record_batch(token, admin_id)
    db.session.commit()
    assert (again.recorded, again.already) == (0, 2)
    assert (
        _db.session.scalar(
            _db.select(_db.func.count())
            .select_from(Transfer)
            .where(Transfer.kind == "contribution")
        )
        == 2
    )
    # Read again, the same file shows its rows as already recorded.
    assert [r.status for r in bank_import.read_statement(data).rows] == ["duplicate", "duplicate"]


def test_a_forged_batch_is_refused(app, db):
    with pytest.raises(StatementUnreadable):
        bank_import.record_batch("not-a-signed-batch", None)


def test_an_amount_above_the_manual_forms_maximum_needs_attention(app, db):
    """1 234 567,00 € is read, but the manual form refuses more than MAX_AMOUNT_CENTS: so does the import."""
    from app.core.i18n import MAX_AMOUNT_CENTS

    member = make_member()
    db.session.commit()
    day = calendar.today().strftime("%d/%m/%Y")
    statement = bank_import.read_statement(
        _statement(
            [
                (day, f"PATIAS {member.number}", "1 234 567,00"),
                (day, f"PATIAS {member.number}", "100 000,00"),
            ]
        )
    )
    too_large, at_most = statement.rows
    assert (too_large.status, too_large.key, too_large.can_record_by_hand) == (
        "unmatched",
        "",
        False,
    )
    assert "trop élevé" in too_large.problem  # French outside a request
    assert (at_most.status, at_most.amount_cents) == ("matched", MAX_AMOUNT_CENTS)
    assert statement.matched_cents == MAX_AMOUNT_CENTS


def test_the_service_refuses_an_amount_above_the_maximum_too(app, db):
    from app.core.i18n import MAX_AMOUNT_CENTS
    from app.ledger.errors import InvalidContribution

    member = make_member()
    with pytest.raises(InvalidContribution):
        bank_import.contributions.record_contribution(
            member, MAX_AMOUNT_CENTS + 1, calendar.today(), "transfer"
        )


def test_a_future_row_cannot_be_recorded_by_hand(app, db):
    member = make_member()
    db.session.commit()
    future = (calendar.today() + timedelta(days=2)).strftime("%d/%m/%Y")
    [row] = bank_import.read_statement(
        _statement([(future, f"PATIAS {member.number}", "5,00")])
    ).rows
    assert row.status == "unmatched" and "futur" in row.problem
    assert not row.can_record_by_hand


def test_a_payment_already_entered_by_hand_is_a_probable_duplicate(app, db):
    from app.ledger import contributions

    member, other = make_member(), make_member()
    db.session.commit()
    today = calendar.today()
    by_hand = contributions.record_contribution(
        member, 1500, today, "transfer", idempotency_key="admin-contribution:abcdefgh"
    )
    cancelled = contributions.record_contribution(member, 2000, today, "transfer")
    ledger.reverse(cancelled, kind="correction", actor_id=None, memo="typo")
    db.session.commit()
    day = today.strftime("%d/%m/%Y")
    rows = [
        (day, f"VIR PATIAS {member.number}", "15,00"),  # entered by hand already
        (
            day,
            f"VIR PATIAS {member.number} BIS",
            "15,00",
        ),  # a second identical payment: only one was entered
        (day, f"VIR PATIAS {member.number}", "20,00"),  # the one entered by hand was cancelled
        (day, f"VIR PATIAS {other.number}", "15,00"),  # another member
    ]
    statement = bank_import.read_statement(_statement(rows))
    assert [r.status for r in statement.rows] == [
        "likely_duplicate",
        "matched",
        "matched",
        "matched",
    ]
    likely = statement.rows[0]
    assert (
        by_hand.reference in likely.problem
        and likely.member.id == member.id
        and likely.can_record_by_hand
    )
    # Not in the batch: confirming records the three others only.
    result = bank_import.record_batch(bank_import.batch_token(statement), None)
    assert (result.recorded, result.recorded_cents) == (3, 5000)
    # Contributions recorded by an import are not "by hand": the same file again shows them as imported.
    again = bank_import.read_statement(_statement(rows))
    assert [r.status for r in again.rows] == [
        "likely_duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
    ]
