"""Named domain errors. Each domain has its own in its `errors.py`, all subclasses of
`DomainError`; views turn them into form errors or 4xx fragments.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `message` is shown to the user (a lazy translated string)."""

    message = "This operation is not possible."

    def __init__(self, message=None, **details):
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message
        self.details = details


class RateLimited(DomainError):
    def __init__(self, retry_after_seconds: int, message=None):
        super().__init__(message, retry_after=retry_after_seconds)
        self.retry_after = retry_after_seconds


class InvalidPeriod(DomainError):
    """A month that is not `YYYY-MM` (or outside a sensible range)."""


class InvalidContent(DomainError):
    """FAQ entries, pages and events the back office refuses (both languages, dates in order)."""
