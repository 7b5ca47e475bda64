"""Why `flask ssa init` refuses to install."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class SetupError(DomainError):
    """The database or the input does not allow an installation; nothing was changed."""

    message = _l("The caisse cannot be installed on this database; nothing was changed.")


class InvalidSetting(DomainError):
    """A setting of the association the back office refuses; `field` names the form field."""

    message = _l("This setting cannot be saved as it is: check what you typed.")

    def __init__(self, message=None, field: str | None = None):
        super().__init__(message, field=field)


class ConfirmationNeeded(DomainError):
    """New allocation rules that make balances expire which would not under the current rules:
    saved only once the admin has seen the preview and ticked the confirmation."""

    message = _l(
        "With these rules, more money goes back to the caisse than with the current ones: read the preview, tick the confirmation and save again."
    )
    status = 409

    def __init__(self, message=None):
        super().__init__(message, field="confirm")
