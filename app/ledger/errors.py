"""The ledger's refusals: not enough balance, a reused idempotency key, a transfer already
reversed, a month already allocated, a contribution or a statement that cannot be taken.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class InsufficientBalance(DomainError):
    """The conditional debit found less than the amount on the account."""

    def __init__(self, available_cents: int, message=None):
        super().__init__(
            message or _l("The balance is not sufficient for this amount."),
            available_cents=available_cents,
        )
        self.available_cents = available_cents


class IdempotencyConflict(DomainError):
    """A retry key was used again for a different request (answered with 422)."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _l(
                "This form was already submitted with other values. Reload the page and start again."
            )
        )


class AlreadyReversed(DomainError):
    def __init__(self, message=None):
        super().__init__(message or _l("This operation has already been cancelled."))


class AlreadyAllocated(DomainError):
    """The member already received the allocation of that month."""

    def __init__(self, message=None):
        super().__init__(message or _l("This member has already received this month’s allocation."))


class InvalidContribution(DomainError):
    """A contribution that cannot be recorded (date in the future, unknown method)."""


class StatementUnreadable(DomainError):
    """A bank statement file that is not a CSV we can read (encoding, separator, columns)."""
