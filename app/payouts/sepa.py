"""The SEPA credit-transfer file that pays the merchants.

IBANs are checked in `app.payouts.bank_details`. The transfer file is ISO 20022 `pain.001.001.03` written by `sepaxml`, which validates it against the schema it
ships (through `xmlschema`) before handing it over: a file that a bank would refuse is never
produced.

The payer is the association: its name, IBAN and BIC are association data
(`app/data/association.json`, keys `iban` and `bic`, editable as settings). One credit transfer
per merchant with an amount owed for the month and a valid IBAN; merchants owed money without a
valid IBAN are not in the file: the settlement page lists them as blocking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from schwifty import BIC
from schwifty.exceptions import (
    SchwiftyException,
)
from text_unidecode import unidecode

from app.core.calendar import today
from app.core.settings import association
from app.payouts.bank_details import parse_iban
from app.payouts.errors import BankDetailsMissing, InvalidIban, NothingToPay, PeriodNotClosed
from app.payouts.settlement import (
    MerchantMonth,
    MonthSettlement,
    is_closed,
    month_settlement,
    parse_period,
)

SCHEMA = "pain.001.001.03"
# The characters every SEPA bank accepts in names and references (the "SEPA Latin" set).
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


# --- the transfer file ----------------------------------------------------------------------


def sepa_text(text: str, limit: int) -> str:
    """Latin letters, digits and the few signs every SEPA bank accepts, cut to `limit`."""
    cleaned = _NOT_SEPA.sub(" ", unidecode(text or ""))
    return re.sub(r"\s+", " ", cleaned).strip()[:limit]


def debtor() -> dict:
    """The payer of the transfer file (the association), or `BankDetailsMissing`."""
    data = association()
    try:
        iban = parse_iban(data.get("iban"))
        bic = str(BIC(str(data.get("bic") or "").strip().upper()))
    except (InvalidIban, SchwiftyException):
        raise BankDetailsMissing(
            _l(
                "The association’s own IBAN or BIC is missing or not valid in its settings: the transfer file cannot be made."
            )
        ) from None
    return {
        # The account's holder, as the bank knows it; the association's name if unset.
        "name": sepa_text(str(data.get("bank_holder") or data.get("name") or "Association"), 70),
        "IBAN": iban,
        "BIC": bic,
        "batch": True,
        "currency": "EUR",
    }


@dataclass
class TransferFile:
    period: str
    xml: bytes
    payments: list[MerchantMonth]
    blocking: list[MerchantMonth]

    @property
    def total_cents(self) -> int:
        return sum(line.payable_cents for line in self.payments)

    @property
    def filename(self) -> str:
        return f"patias-reglements-{self.period}.xml"


def end_to_end_id(period: str, merchant_id: int) -> str:
    """The reference the bank carries to the merchant's statement (at most 35 characters)."""
    return f"PATIAS-{period}-M{merchant_id}"


def transfer_file(
    period: str, month: MonthSettlement | None = None, execution_date: date | None = None
) -> TransferFile:
    """The pain.001.001.03 file paying every amount owed for `period` to a merchant with a
    valid IBAN, validated against the schema. Raises `PeriodNotClosed`, `NothingToPay` or
    `BankDetailsMissing`."""
    from sepaxml import SepaTransfer

    period = parse_period(period)
    if not is_closed(period):
        raise PeriodNotClosed(
            _l(
                "This month is not over yet: its transfer file can be made from the first day of next month."
            )
        )
    month = month or month_settlement(period)
    payments = month.in_transfer_file
    if not payments:
        raise NothingToPay(
            _l(
                "Nothing is owed to a merchant with a valid IBAN for this month: there is no transfer to make."
            )
        )
    sepa = SepaTransfer(debtor(), schema=SCHEMA, clean=True)
    # The payment's label names the association (the debtor's name when it has none).
    name = association().get("name") or debtor()["name"]
    for line in payments:
        sepa.add_payment(
            {
                "name": sepa_text(line.merchant.name, 70) or f"Merchant {line.merchant.id}",
                "IBAN": parse_iban(line.merchant.iban),
                "amount": int(line.payable_cents),
                "execution_date": execution_date or today(),
                "description": sepa_text(
                    f"{name} reglement {period} commercant {line.merchant.id}", 140
                ),
                "endtoend_id": end_to_end_id(period, line.merchant.id),
            }
        )
    xml = sepa.export(validate=True)
    return TransferFile(period=period, xml=xml, payments=payments, blocking=month.blocking)
