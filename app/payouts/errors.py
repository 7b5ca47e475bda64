"""Refusals of settlements and payment files: month not closed, nothing to pay, the
settlement changed since it was shown (409: the month's state refuses them), bank details
missing or invalid.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class PeriodNotClosed(DomainError):
    """Only months that are over are settled: later sales would otherwise escape the payment."""

    message = _l("This month is not over yet: it can be settled from the first day of next month.")
    status = 409


class NothingToPay(DomainError):
    """The merchant (or nobody) has an amount due for the month."""

    message = _l("Nothing is left to pay for this month.")
    status = 409


class SettlementChanged(DomainError):
    """The amount due is no longer the one the treasurer saw and confirmed."""

    message = _l(
        "The amount owed has changed since the page was shown: check it and confirm again."
    )
    status = 409


class InvalidIban(DomainError):
    """An IBAN that fails the checksum, the country's length or format."""

    message = _l("This IBAN is not valid: check it against the bank details (RIB).")


class BankDetailsMissing(DomainError):
    """The association's own IBAN or BIC (the payer of the transfer file) is missing or invalid."""

    message = _l(
        "The association’s own IBAN or BIC is missing or not valid in its settings: the transfer file cannot be made."
    )
    status = 409
