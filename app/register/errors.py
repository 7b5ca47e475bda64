"""The register's refusals: closed register, expired identification, a sale that cannot be
cancelled or corrected.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.ledger.errors import IdempotencyConflict


class RegisterClosed(DomainError):
    """The cashier's merchant may not sell: suspended, not (or no longer) conventioned, or none."""

    message = _l("This register cannot take payments.")
    status = 403


class IdentificationExpired(DomainError):
    """The signed member reference of a sale form is forged, from another cashier or too old."""

    message = _l("Identify the member again, please.")


class SaleNotFound(DomainError):
    """No sale of this merchant has this id (another merchant's sale is "not found" too)."""

    message = _l("This sale does not exist.")
    status = 404


class SaleTooOld(DomainError):
    """Only today's sales are cancelled at the register; older ones go to the treasurer."""

    message = _l(
        "Only today’s sales can be cancelled here. For an older sale, please contact the association’s treasurer."
    )


class UnknownCategory(DomainError):
    """The sale's category is not one of the shop's chips (the sale form says which are)."""

    message = _l("Choose one of the shop’s categories.")


class NothingToCorrect(DomainError):
    """Only sales (purchases) are corrected from the back office."""

    message = _l("Only a sale can be corrected here.")
    status = 409


class SaleRecordedOtherwise(IdempotencyConflict):
    """A sale form sent again with other values than the sale its key already made (edited
    while its answer was awaited): the new values are refused, and the error carries the
    receipt of the sale that was recorded and what differed (`amount`, `category`, `member`),
    so that the register shows what the member was charged, never "start again"."""

    message = _l("This sale was already recorded with other values: nothing was charged again.")
    status = 409  # the new values conflict with the sale made; the view answers with its receipt

    def __init__(self, receipt, differences: tuple[str, ...]):
        super().__init__(receipt=receipt, differences=differences)
        self.receipt = receipt
        self.differences = differences
