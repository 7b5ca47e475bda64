"""Named domain errors. Each domain has its own in its `errors.py`, all subclasses of
`DomainError`; views turn them into form errors or 4xx fragments (`app.core.web.perform`).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Base class: `message` is shown to the user (a lazy translated string).

    `status` is the HTTP status of the page or fragment that shows the error: 422 for what the
    user can correct, 409 for a conflict with the current state (already done, changed
    meanwhile, full), 403 for a refusal, 429 for throttling. `keeps_side_effects` says that
    what the operation wrote before raising must be committed, not rolled back: a counted wrong
    PIN or password, a throttling counter, a mail already queued.
    """

    message = _l("This operation is not possible.")
    status: int = 422
    keeps_side_effects: bool = False

    def __init__(self, message=None, **details):
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message
        self.details = details


class RateLimited(DomainError):
    """Too many attempts in the window: the counter that said so is kept."""

    message = _l("Too many attempts in a short time. Please wait a few minutes and try again.")
    status = 429
    keeps_side_effects = True

    def __init__(self, retry_after_seconds: int, message=None):
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after = retry_after_seconds


class InvalidPeriod(DomainError):
    """A month that is not `YYYY-MM` (or outside a sensible range)."""

    message = _l("This month is not valid: use the format YYYY-MM, for example 2026-03.")


class InvalidContent(DomainError):
    """FAQ entries, pages and events the back office refuses (both languages, dates in order)."""

    message = _l("This cannot be saved as it is: check what you typed.")
