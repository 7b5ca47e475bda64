"""The register's refusals: closed register, expired identification, a sale that cannot be
cancelled or corrected.
"""

from __future__ import annotations

from app.core.errors import DomainError


class RegisterClosed(DomainError):
    """The cashier's merchant may not sell: suspended, not (or no longer) conventioned, or none."""


class IdentificationExpired(DomainError):
    """The signed member reference of a sale form is forged, from another cashier or too old."""


class SaleNotFound(DomainError):
    """No sale of this merchant has this id (another merchant's sale is "not found" too)."""


class SaleTooOld(DomainError):
    """Only today's sales are cancelled at the register; older ones go to the treasurer."""


class UnknownCategory(DomainError):
    """The sale's category is not one of the shop's chips (the sale form says which are)."""


class NothingToCorrect(DomainError):
    """Only sales (purchases) are corrected from the back office."""
