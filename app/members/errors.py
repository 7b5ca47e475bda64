"""Refusals about members: eligibility, member numbers, cards and PINs, sign-in, passwords,
activation links and codes, the second factor.
"""

from __future__ import annotations

from app.core.errors import DomainError


class NotEligible(DomainError):
    pass


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


# Membership and sign-in


class ApplicationNotPending(DomainError):
    """The application was already approved or rejected."""


class EmailTaken(DomainError):
    """Another account already signs in with this e-mail."""


class LoginFailed(DomainError):
    """Unknown account or wrong password: one message for both, so accounts cannot be enumerated."""


class LoginBlocked(DomainError):
    """Too many wrong passwords for this account: wait `minutes`."""

    def __init__(self, minutes: int, message=None):
        super().__init__(message, minutes=minutes)
        self.minutes = minutes


class WrongPassword(DomainError):
    """The password asked again before a sensitive change (PIN, erasure) is wrong."""


class WeakPassword(DomainError):
    pass


class InvalidToken(DomainError):
    """A link (activation, password reset) that is forged, expired or already used."""


class InvalidActivationCode(DomainError):
    """Wrong member number or code, expired or already used: one message for all."""


class PledgeTooLow(DomainError):
    pass


class MemberErased(DomainError):
    pass


class ContributionTooLow(DomainError):
    """Below the minimum monthly contribution set in the association's data."""


class MissingContact(DomainError):
    """An application needs an e-mail address or a phone number."""


class CardNotActivated(DomainError):
    """The member has no PIN yet (activation not finished): the card cannot pay."""


# Second factor


class InvalidTotpCode(DomainError):
    """The 6-digit code of the authenticator app is wrong (or not 6 digits)."""


class TotpCodeReused(DomainError):
    """A code already accepted once: wait for the next one (30 seconds)."""


class TotpBlocked(DomainError):
    """Too many wrong codes: the second factor is refused for `minutes`."""

    def __init__(self, minutes: int, message=None):
        super().__init__(message, minutes=minutes)
        self.minutes = minutes


class AlreadyEnrolled(DomainError):
    """The admin already has a confirmed second factor."""
