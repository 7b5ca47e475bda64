"""Bank details: IBANs and BICs as people type them, checked with `schwifty` (country, length,
structure, the ISO 7064 check digits and, where the country has one, the national checksum such as
the French RIB key), and shown grouped or masked.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from app.payouts.errors import InvalidIban


def parse_iban(text: str | None) -> str:
    """A typed IBAN -> its compact form (`FR76...`), or `InvalidIban` saying what is wrong."""
    compact = re.sub(r"[\s\-.]", "", text or "").upper()
    if not compact:
        raise InvalidIban(_l("Enter the IBAN."))
    if len(compact) > 34 or not compact.isascii() or not compact.isalnum():
        raise InvalidIban(
            _l(
                "An IBAN has only letters and digits (at most 34), for example FR76 3000 1007 9412 3456 7890 185."
            )
        )
    try:
        iban = IBAN(compact, validate_bban=True)
    except InvalidCountryCode:
        raise InvalidIban(
            _l("This IBAN does not start with a known country code (FR for France).")
        ) from None
    except InvalidLength:
        raise InvalidIban(
            _l("This IBAN does not have the right number of characters for its country.")
        ) from None
    except (InvalidChecksumDigits, InvalidBBANChecksum):
        raise InvalidIban(
            _l("This IBAN is not valid: its check digits do not match. Check each character.")
        ) from None
    except SchwiftyException:
        raise InvalidIban(
            _l("This IBAN is not valid: check it against the bank details (RIB).")
        ) from None
    if not iban.in_sepa_zone:
        raise InvalidIban(
            _l(
                "This IBAN is outside the SEPA area: the association cannot pay it by SEPA transfer."
            )
        )
    return iban.compact


def iban_is_valid(text: str | None) -> bool:
    try:
        parse_iban(text)
    except InvalidIban:
        return False
    return True


def format_iban(text: str | None) -> str:
    """Groups of four for reading (`FR76 3000 ...`); what is stored is the compact form."""
    compact = re.sub(r"\s", "", text or "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def masked_iban(text: str | None) -> str:
    """Enough to recognise the account without copying it: `FR76 •••• 0185`."""
    compact = re.sub(r"\s", "", text or "")
    if len(compact) < 8:
        return compact
    return f"{compact[:4]} •••• {compact[-4:]}"
