"""Why `flask ssa init` refuses to install."""

from __future__ import annotations

from app.core.errors import DomainError


class SetupError(DomainError):
    """The database or the input does not allow an installation; nothing was changed."""
