"""The backups' refusals: a directory that cannot be written, a file that is not a whole backup,
a target database that is not empty, a missing tool."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class BackupError(DomainError):
    """A backup or a restore that could not be made; nothing was changed."""

    message = _l("The backup or the restore could not be made; nothing was changed.")
