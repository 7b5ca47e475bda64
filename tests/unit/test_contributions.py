"""Contributions: recorded from the contributions account to the caisse, and the CLI's parsing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.core.i18n import AmountError, parse_amount
from app.ledger import transfers as ledger
from app.ledger.contributions import contributions_of, record_contribution
from app.ledger.errors import IdempotencyConflict, InvalidContribution
from app.ledger.models import Transfer
from app.members.cards import check_member_number
from app.members.errors import InvalidMemberNumber
from tests.support.factories import make_member


def test_a_contribution_fills_the_caisse_and_names_the_member(app):
    member, other = make_member(), make_member()
    row = record_contribution(member, 1550, date(2025, 1, 5), "cheque", reference="CHQ 0042")
    record_contribution(other, 900, date(2025, 1, 6), "cash")
    later = record_contribution(member, 2000, date(2025, 2, 5), "direct_debit")
    db.session.commit()
    assert (row.kind, row.method, row.occurred_on, row.memo, row.member_id) == (
        "contribution",
        "cheque",
        date(2025, 1, 5),
        "CHQ 0042",
        member.id,
    )
    assert row.source_id == ledger.system_account("contributions").id
    assert row.destination_id == ledger.system_account("caisse").id
    assert ledger.balance(ledger.system_account("caisse")) == 1550 + 900 + 2000
    assert ledger.balance(ledger.system_account("contributions")) == -(1550 + 900 + 2000)
    assert [t.id for t in contributions_of(member)] == [later.id, row.id]
    assert list(ledger.verify()) == []


def test_a_cancelled_contribution_is_no_longer_listed(app):
    member = make_member()
    row = record_contribution(member, 1000, date(2025, 1, 5), "transfer")
    ledger.reverse(row, kind="correction", actor_id=None, memo="recorded twice")
    assert contributions_of(member) == []
    assert ledger.balance(ledger.system_account("caisse")) == 0


def test_a_retried_contribution_is_recorded_once(app):
    member = make_member()
    first = record_contribution(member, 1000, date(2025, 1, 5), "cash", idempotency_key="c-1")
    again = record_contribution(member, 1000, date(2025, 1, 5), "cash", idempotency_key="c-1")
    assert again.id == first.id and again.replayed
    with pytest.raises(IdempotencyConflict):
        record_contribution(member, 1000, date(2025, 1, 6), "cash", idempotency_key="c-1")
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1


def test_bad_contributions_are_refused(app):
    member = make_member()
    with pytest.raises(InvalidContribution):
        record_contribution(member, 1000, ledger.today() + timedelta(days=1), "cash")
    with pytest.raises(InvalidContribution):
        record_contribution(member, 1000, date(2025, 1, 1), "bitcoin")
    for amount in (0, -100):
        with pytest.raises(ValueError):
            record_contribution(member, amount, date(2025, 1, 1), "cash")
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0


@pytest.mark.parametrize(
    ("typed", "cents"), [("12,50", 1250), ("12.50", 1250), ("12,5", 1250), ("12", 1200)]
)
def test_cli_records_amounts_typed_the_french_or_the_english_way(app, runner, typed, cents):
    member = make_member()
    db.session.commit()
    result = runner.invoke(
        args=[
            "ssa",
            "record-contribution",
            member.number,
            typed,
            "--date",
            "2025-03-02",
            "--method",
            "cash",
        ]
    )
    assert result.exit_code == 0, result.output
    rows = contributions_of(member)
    assert [(r.amount_cents, r.occurred_on, r.method) for r in rows] == [
        (cents, date(2025, 3, 2), "cash")
    ]
    assert rows[0].reference in result.output


def _amount_message(typed: str) -> str:
    with pytest.raises(AmountError) as caught:
        parse_amount(typed)
    return str(caught.value.message)


def _number_message(typed: str) -> str:
    with pytest.raises(InvalidMemberNumber) as caught:
        check_member_number(typed)
    return str(caught.value.message)


def _future_message() -> str:
    with pytest.raises(InvalidContribution) as caught:
        record_contribution(make_member(), 1, date(2999, 1, 1), "cash")
    db.session.rollback()
    return str(caught.value.message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{number}", "-5"], lambda: _amount_message("-5")),
        (["{number}", "12,505"], lambda: _amount_message("12,505")),
        (["{number}", "douze"], lambda: _amount_message("douze")),
        (["{number}", "1e3"], lambda: _amount_message("1e3")),
        (["{number}", "99999999"], lambda: _amount_message("99999999")),
        (["{number}", "0"], lambda: _amount_message("0")),
        (["{number}", "12", "--date", "02/03/2030"], lambda: "YYYY-MM-DD"),
        (["{number}", "12", "--method", "bitcoin"], lambda: "bitcoin"),
        (["{number}", "12", "--date", "2999-01-01"], _future_message),
        (["000019", "12"], lambda: _number_message("000019")),
        (["999995", "12"], lambda: "no member has the number 999995"),
    ],
)
def test_cli_refuses_bad_input_with_a_clear_message(app, runner, args, message):
    expected = message()
    member = make_member()
    db.session.commit()
    args = [a.format(number=member.number) for a in args]
    result = runner.invoke(args=["ssa", "record-contribution", *args])
    assert result.exit_code == 2, result.output
    assert " ".join(expected.split()) in " ".join(result.output.split())
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_cancelling_a_contribution_reverses_it_once_and_is_audited(app):
    from app.audit.models import AuditEntry
    from app.ledger.contributions import cancel_contribution
    from app.ledger.errors import AlreadyReversed

    member = make_member()
    caisse = ledger.system_account("caisse")
    row = record_contribution(member, 100050, date(2025, 1, 5), "cash")
    kept = record_contribution(member, 1050, date(2025, 1, 5), "cash")
    before = ledger.balance(caisse)
    correction = cancel_contribution(
        row, "  typed 1 000,50 for 10,50 ", None, idempotency_key="cancel-1"
    )
    assert (correction.kind, correction.reverses_id, correction.amount_cents, correction.memo) == (
        "correction",
        row.id,
        100050,
        "typed 1 000,50 for 10,50",
    )
    assert ledger.balance(caisse) == before - 100050
    # The same key again (a double click): the same correction, nothing moved, one audit entry.
    assert (
        cancel_contribution(row, "typed 1 000,50 for 10,50", None, idempotency_key="cancel-1").id
        == correction.id
    )
    assert ledger.balance(caisse) == before - 100050
    # Another attempt (another tab): refused.
    with pytest.raises(AlreadyReversed):
        cancel_contribution(row, "again", None, idempotency_key="cancel-2")
    entries = list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "contribution.cancelled"))
    )
    assert [
        (e.target_id, e.details["amount_cents"], e.details["transfer"], e.details["correction"])
        for e in entries
    ] == [(member.id, 100050, row.reference, correction.reference)]
    assert [t.id for t in contributions_of(member)] == [kept.id]
    assert list(ledger.verify()) == []


def test_only_a_contribution_with_a_reason_is_cancelled(app):
    from app.ledger.contributions import cancel_contribution

    member = make_member()
    row = record_contribution(member, 1000, date(2025, 1, 5), "cash")
    with pytest.raises(InvalidContribution):
        cancel_contribution(row, " \t", None)
    allocation = ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=500,
        kind="allocation",
    )
    with pytest.raises(InvalidContribution):
        cancel_contribution(allocation, "not a contribution", None)
    assert contributions_of(member) == [row]
