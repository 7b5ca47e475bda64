"""One table of amounts typed key by key, for the register's two readers of an amount: the
server's parser (`app.core.i18n.parse_amount`, tests/unit/test_amount_keys.py) and register.js
in Chromium (tests/e2e/test_register_field.py), so that typed, pasted, on the keypad or without
JavaScript the same keys mean the same amount.

Each case: the keys pressed one by one (French keyboard: "," and "." both start the cents), what
the field shows afterwards, the cents that text means, and, when a key is refused, the text up to
and including that key (what the server would have been sent) with the server's message for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyedAmount:
    keys: str
    shown: str
    cents: int
    refused: str | None = None  # the text with the refused key
    message: str | None = None  # the server's English msgid for `refused`

    @property
    def id(self) -> str:
        return self.keys.replace(",", "comma").replace(".", "dot") or "empty"


NEGATIVE = "The amount cannot be negative."
DECIMALS = "Use at most two decimals, for example 12.50."
INVALID = "Enter an amount in euros, for example 12.50."
TOO_LARGE = "This amount is too large (at most %(max)s)."

MAX_CENTS = 500_00  # the association's largest sale in the demo data and the tests

KEYED_AMOUNTS = [
    KeyedAmount("12,5", "12,5", 1250),
    KeyedAmount("12.5", "12,5", 1250),
    KeyedAmount("12,50", "12,50", 1250),
    KeyedAmount("12", "12", 1200),
    KeyedAmount("0,05", "0,05", 5),
    KeyedAmount(",5", "0,5", 50),
    KeyedAmount("07", "7", 700),
    KeyedAmount("12,555", "12,55", 1255, "12,555", DECIMALS),
    KeyedAmount("1e3", "13", 1300, "1e", INVALID),
    KeyedAmount("-5", "5", 500, "-", NEGATIVE),
    KeyedAmount("a7", "7", 700, "a", INVALID),
    KeyedAmount("12,5,0", "12,50", 1250, "12,5,", INVALID),
    KeyedAmount("5000", "500", 50000, "5000", TOO_LARGE),
    KeyedAmount("1250", "125", 12500, "1250", TOO_LARGE),
]
