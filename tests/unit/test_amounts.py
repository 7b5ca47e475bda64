"""Amounts typed by people: what is accepted, what is refused, and with which message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.i18n import MAX_AMOUNT_CENTS, AmountError, parse_amount


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("12,50", 1250),
        ("12.50", 1250),
        ("12,5", 1250),
        ("12.5", 1250),
        ("12", 1200),
        (" 12,50 ", 1250),
        ("12,50 €", 1250),
        ("12,50€", 1250),
        ("12,50\u00a0€", 1250),
        ("1 234,50", 123450),
        ("0,01", 1),
        ("0,10", 10),
        ("007", 700),
        ("100000", MAX_AMOUNT_CENTS),
    ],
)
def test_accepted(typed, cents):
    assert parse_amount(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "cannot be negative"),
        ("-0,50", "cannot be negative"),
        ("12,345", "at most two decimals"),
        ("12.345", "at most two decimals"),
        ("abc", "in euros"),
        ("1e3", "in euros"),
        ("12,", "in euros"),
        (",50", "in euros"),
        ("12,50,3", "in euros"),
        ("+5", "in euros"),
        ("0x10", "in euros"),
        ("NaN", "in euros"),
        ("Infinity", "in euros"),
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        (None, "Enter an amount"),
        ("0", "more than zero"),
        ("0,00", "more than zero"),
        ("100000,01", "too large"),
        ("9" * 9, "too large"),
        ("9" * 10, "too large"),
        ("99999999999", "too large"),
        ("99999999999,50", "too large"),
        ("1" * 10_000, "too large"),
        ("1" * 10_000 + "x", "in euros"),
    ],
)
def test_refused(app, typed, message):
    with app.test_request_context("/?lang=en"):
        with pytest.raises(AmountError) as caught:
            parse_amount(typed)
        assert message in str(caught.value.message)


def test_a_long_amount_gets_the_maximum_not_a_format_message(app):
    """Eleven nines is a well-formed amount, only far too large: say so, with the maximum."""
    with app.test_request_context("/?lang=fr"):
        with pytest.raises(AmountError) as caught:
            parse_amount("99999999999")
        assert (
            str(caught.value.message)
            == "Ce montant est trop élevé (au maximum 100\u202f000,00\u00a0€)."
        )


def test_zero_when_allowed():
    assert parse_amount("0", allow_zero=True) == 0
    assert parse_amount("0,00", allow_zero=True) == 0


def test_a_smaller_maximum():
    assert parse_amount("50", max_cents=5000) == 5000
    with pytest.raises(AmountError):
        parse_amount("50,01", max_cents=5000)


def test_messages_are_in_french_for_french_visitors(app):
    with app.test_request_context("/?lang=fr"):
        with pytest.raises(AmountError) as caught:
            parse_amount("abc")
        assert str(caught.value.message) == "Saisissez un montant en euros, par exemple 12,50."


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS), st.sampled_from([",", "."]))
def test_round_trip(cents, separator):
    typed = f"{cents // 100}{separator}{cents % 100:02d}"
    assert parse_amount(typed) == cents
