"""The ledger's refusals: not enough balance, a reused idempotency key, a transfer already
reversed, a month already allocated, a contribution or a statement that cannot be taken.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class InsufficientBalance(DomainError):
    """The conditional debit found less than the amount on the account (nothing moved)."""

    message = _l("The balance is not sufficient for this amount.")

    def __init__(self, available_cents: int, message=None):
        super().__init__(message, available_cents=available_cents)
        self.available_cents = available_cents


class IdempotencyConflict(DomainError):
    """A retry key was used again for a different request (answered with 422)."""

    message = _l(
        "This form was already submitted with other values. Reload the page and start again."
    )


class AlreadyReversed(DomainError):
    message = _l("This operation has already been cancelled.")
    status = 409


class AlreadyAllocated(DomainError):
    """The member already received the allocation of that month."""

    message = _l("This member has already received this month’s allocation.")
    status = 409


class InvalidContribution(DomainError):
    """A contribution that cannot be recorded (date in the future, unknown method)."""

    message = _l("This contribution cannot be recorded: check what you typed.")


class StatementUnreadable(DomainError):
    """A bank statement file that is not a CSV we can read (encoding, separator, columns)."""

    message = _l(
        "This file cannot be read as a bank statement: export the statement as CSV from the bank’s website."
    )


class MonthInFuture(DomainError):
    """`flask ssa allocate --month` for a month after the current one."""

    message = _l("This month has not begun: a month is allocated once it has started.")
    status = 409


class MonthBeforeFirstAllocation(DomainError):
    """A month before the association's first allocation: the caisse did not exist yet."""

    message = _l("This month is before the association’s first allocation: nothing to allocate.")
    status = 409

    def __init__(self, first: str, message=None):
        super().__init__(message, first=first)
        self.first = first


class EarlierMonthNeedsForce(DomainError):
    """A past month nobody received yet: crediting it late is deliberate (`--force`)."""

    message = _l("This past month was never allocated: confirm with --force to credit it now.")
    status = 409
