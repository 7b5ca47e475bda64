"""Named domain errors. Views turn them into form errors or 4xx fragments."""
from __future__ import annotations


class DomainError(Exception):
    """Base class: `message` is shown to the user (a lazy translated string)."""

    message = "This operation is not possible."

    def __init__(self, message=None, **details):
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message
        self.details = details


class NotEligible(DomainError):
    pass


class RateLimited(DomainError):
    def __init__(self, retry_after_seconds: int, message=None):
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after = retry_after_seconds


class InvalidMemberNumber(DomainError):
    """The number's check digit is wrong: a typo, caught before any lookup."""


class UnknownMember(DomainError):
    pass


class LostCard(DomainError):
    """A card token that was replaced ("carte perdue"): the old QR code no longer pays."""


class MemberSuspended(DomainError):
    pass


class WrongPin(DomainError):
    def __init__(self, attempts_left: int, message=None):
        super().__init__(message, attempts_left=attempts_left)
        self.attempts_left = attempts_left


class CardLocked(DomainError):
    """Three wrong PINs in a row: the member sets a new PIN in their account, or an admin unlocks."""


class InvalidPin(DomainError):
    """Not four digits."""
