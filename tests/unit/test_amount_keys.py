"""The server's reading of the amounts of tests/support/amounts.py: what the field shows means
the same cents, and a refused key's text is refused with the words register.js says at once."""

from __future__ import annotations

import pytest

from app.core.i18n import AmountError, parse_amount
from tests.support.amounts import KEYED_AMOUNTS, MAX_CENTS

CASES = [pytest.param(case, id=case.id) for case in KEYED_AMOUNTS]


@pytest.mark.parametrize("case", CASES)
def test_the_field_means_the_same_cents_to_the_server(app, case):
    assert parse_amount(case.shown, max_cents=MAX_CENTS) == case.cents


@pytest.mark.parametrize("case", [c for c in CASES if c.values[0].refused])
def test_a_refused_key_is_refused_by_the_server_with_the_same_message(app, case):
    for text in (case.refused, case.keys):
        with app.test_request_context("/"), pytest.raises(AmountError) as caught:
            parse_amount(text, max_cents=MAX_CENTS)
        assert caught.value.message._args[0] == case.message, text
