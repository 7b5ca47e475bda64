"""Why `flask ssa init` refuses to install."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class SetupError(DomainError):
    """The database or the input does not allow an installation; nothing was changed."""

    message = _l("The caisse cannot be installed on this database; nothing was changed.")
