"""Refusals of settlements and payment files: month not closed, nothing to pay, the
settlement changed since it was shown, bank details missing or invalid.
"""

from __future__ import annotations

from app.core.errors import DomainError


class PeriodNotClosed(DomainError):
    """Only months that are over are settled: later sales would otherwise escape the payment."""


class NothingToPay(DomainError):
    """The merchant (or nobody) has an amount due for the month."""


class SettlementChanged(DomainError):
    """The amount due is no longer the one the treasurer saw and confirmed."""


class InvalidIban(DomainError):
    """An IBAN that fails the checksum, the country's length or format."""


class BankDetailsMissing(DomainError):
    """The association's own IBAN or BIC (the payer of the transfer file) is missing or invalid."""
