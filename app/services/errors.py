"""Named domain errors. Views turn them into form errors or 4xx fragments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


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


# Events and carpools (app/services/events.py, app/services/carpool.py).


class RegistrationClosed(DomainError):
    """Draft, cancelled, past or not-yet-open events, and closed registrations."""

    message = _l("Registrations for this event are closed.")


class RegistrationCancelled(DomainError):
    message = _l("This registration was cancelled.")


class AlreadyRegistered(DomainError):
    """An e-mail address already registered for the event, typed by someone who may not own it:
    nothing was changed and the registration stays hidden; its private link went to that address."""

    message = _l(
        "This e-mail address is already registered for this event: we have sent the link to manage "
        "the registration to it."
    )


class NotEnoughPlaces(DomainError):
    """A confirmed registration asked for more people than there are places left."""

    def __init__(self, places_left: int, message=None):
        super().__init__(message, places_left=places_left)
        self.places_left = places_left


class NotConfirmed(DomainError):
    """Carpools are for people who have a place, not for the waiting list."""

    message = _l("Carpools are open once your place is confirmed.")


class CarpoolClosed(DomainError):
    message = _l("There is no carpool for this event.")


class InvalidRide(DomainError):
    """A departure after the event's start, or a ride that is not open any more."""


class AlreadyOffering(DomainError):
    message = _l("You already offer a ride for this event: cancel it first to offer another.")


class RideFull(DomainError):
    def __init__(self, seats_left: int, message=None):
        super().__init__(message, seats_left=seats_left)
        self.seats_left = seats_left


class AlreadyBooked(DomainError):
    message = _l("You already have a seat in another car: cancel it first.")


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


# Ledger (app/services/ledger.py, allocation.py, contributions.py)


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


# Cash register (app/services/register.py)


class RegisterClosed(DomainError):
    """The cashier's merchant may not sell: suspended, not (or no longer) conventioned, or none."""


class CardNotActivated(DomainError):
    """The member has no PIN yet (activation not finished): the card cannot pay."""


class IdentificationExpired(DomainError):
    """The signed member reference of a sale form is forged, from another cashier or too old."""


class SaleNotFound(DomainError):
    """No sale of this merchant has this id (another merchant's sale is "not found" too)."""


class SaleTooOld(DomainError):
    """Only today's sales are cancelled at the register; older ones go to the treasurer."""


class UnknownCategory(DomainError):
    """The sale's category is not one of the shop's chips (the sale form says which are)."""


# Back office (app/services/twofactor.py, bank_import.py, backoffice.py)


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


class StatementUnreadable(DomainError):
    """A bank statement file that is not a CSV we can read (encoding, separator, columns)."""


class NothingToCorrect(DomainError):
    """Only sales (purchases) are corrected from the back office."""


# Merchants admin, settlements and SEPA (app/services/merchants_admin.py, settlement.py, sepa.py)


class InvalidPeriod(DomainError):
    """A month that is not `YYYY-MM` (or outside a sensible range)."""


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


class InvalidContent(DomainError):
    """FAQ entries, pages and events the back office refuses (both languages, dates in order)."""
