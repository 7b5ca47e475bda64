"""Refusals about members: eligibility, member numbers, cards and PINs, sign-in, passwords,
activation links and codes, the second factor.

Attempts that are counted (a wrong PIN, password, activation code or second-factor code, a card
look-up at the register) keep their side effects: the view commits the count with the refusal.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class NotEligible(DomainError):
    message = _l("Only residents of the experiment’s communes may join.")


class InvalidMemberNumber(DomainError):
    """The number's check digit is wrong: a typo, caught before any lookup."""

    message = _l("This member number is not valid: check the digits.")


class UnknownMember(DomainError):
    """Nobody (or an erased member) has this number or card; the look-up was counted."""

    message = _l("No member has this number.")
    keeps_side_effects = True


class LostCard(DomainError):
    """A card token that was replaced ("carte perdue"): the old QR code no longer pays."""

    message = _l(
        "This card was declared lost: it no longer pays. Ask the member for the new card or the member number."
    )
    keeps_side_effects = True


class MemberSuspended(DomainError):
    message = _l(
        "This membership is suspended: the card cannot pay. The member can contact the association."
    )
    keeps_side_effects = True


class WrongPin(DomainError):
    """The attempt is counted: three in a row lock the card."""

    message = _l("Wrong PIN.")
    keeps_side_effects = True

    def __init__(self, attempts_left: int, message=None):
        super().__init__(message, attempts_left=attempts_left)
        self.attempts_left = attempts_left


class CardLocked(DomainError):
    """Three wrong PINs in a row: the member sets a new PIN in their account, or an admin unlocks."""

    message = _l(
        "This card is locked after three wrong PINs. The member can set a new PIN in their account, or contact the association."
    )
    keeps_side_effects = True


class InvalidPin(DomainError):
    """Not four digits (refused before any attempt is counted), or too easy to guess."""

    message = _l("The PIN has 4 digits.")


# Membership and sign-in


class ApplicationNotPending(DomainError):
    """The application was already approved or rejected."""

    message = _l("This application was already decided.")
    status = 409


class EmailTaken(DomainError):
    """Another account already signs in with this e-mail."""

    message = _l("An account already uses this e-mail address.")
    status = 409


class LoginFailed(DomainError):
    """Unknown account or wrong password: one message for both, so accounts cannot be enumerated."""

    message = _l("Wrong e-mail, member number or password.")
    status = 401
    keeps_side_effects = True


class LoginBlocked(DomainError):
    """Too many wrong passwords for this account: wait `minutes`."""

    message = _l("Too many attempts in a short time. Please wait a few minutes and try again.")
    status = 429
    keeps_side_effects = True

    def __init__(self, minutes: int, message=None):
        super().__init__(message, minutes=minutes)
        self.minutes = minutes


class WrongPassword(DomainError):
    """The password asked again before a sensitive change (PIN, erasure) is wrong."""

    message = _l("This password is not right.")
    keeps_side_effects = True


class WeakPassword(DomainError):
    message = _l("This password cannot be used: choose another one.")


class InvalidToken(DomainError):
    """A link (activation, password reset) that is forged, expired or already used."""

    message = _l("This link is not valid.")
    status = 400


class InvalidActivationCode(DomainError):
    """Wrong member number or code, expired or already used: one message for all."""

    message = _l(
        "This code does not match this member number, or it has expired. Check both, or ask the association for a new letter."
    )
    status = 400
    keeps_side_effects = True


class PledgeTooLow(DomainError):
    message = _l("This contribution is below the association’s minimum.")


class MemberErased(DomainError):
    message = _l("This member's data was erased.")
    status = 409


class ContributionTooLow(DomainError):
    """Below the minimum monthly contribution set in the association's data."""

    message = _l("This contribution is below the association’s minimum.")


class MissingContact(DomainError):
    """An application needs an e-mail address or a phone number."""

    message = _l("Give an e-mail address or a phone number, so that we can reach you.")


class CardNotActivated(DomainError):
    """The member has no PIN yet (activation not finished): the card cannot pay."""

    message = _l(
        "This card is not activated yet: the member must first choose a PIN in their account or with the association."
    )
    keeps_side_effects = True


# Second factor


class InvalidTotpCode(DomainError):
    """The 6-digit code of the authenticator app is wrong (or not 6 digits); it is counted."""

    message = _l("This code is not right. Type the 6 digits your app shows now.")
    status = 400
    keeps_side_effects = True


class TotpCodeReused(DomainError):
    """A code already accepted once: wait for the next one (30 seconds)."""

    message = _l("This code was already used. Wait for the next one (at most 30 seconds).")
    status = 400
    keeps_side_effects = True


class TotpBlocked(DomainError):
    """Too many wrong codes: the second factor is refused for `minutes`."""

    message = _l("Too many attempts in a short time. Please wait a few minutes and try again.")
    status = 429
    keeps_side_effects = True

    def __init__(self, minutes: int, message=None):
        super().__init__(message, minutes=minutes)
        self.minutes = minutes


class AlreadyEnrolled(DomainError):
    """The admin already has a confirmed second factor."""

    message = _l("Your second factor is already set up.")
    status = 409


# The back office's list of communes


class InvalidCommune(DomainError):
    """A commune's name, postcode or aliases the list refuses (empty, too long, badly formed)."""

    message = _l("Check the commune’s name, postcode and delegated communes.")


class CommuneExists(DomainError):
    """The name (or an alias) is already a commune's name or alias, accents and case ignored."""

    message = _l("This commune is already in the list.")
