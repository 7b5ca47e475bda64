"""Private links never reach the access log in full.

`/inscription/<token>`, `/activation/<token>` and `/mot-de-passe/<token>` are secrets: whoever
reads the log could manage a registration, activate an account or set a password. gunicorn's
access log (`gunicorn.conf.py` at the project's root names `PrivateLinkLogger`) and the
development server's (`werkzeug` logger, `mask_werkzeug_log`) write them as
`/activation/[hidden]`. The referrer is masked too: a page of a private link that loads a
stylesheet sends its own address as the referrer.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

HIDDEN = "[hidden]"
# Also percent-encoded slashes or a prefix before the path (absolute referrers).
_PRIVATE = re.compile(r"(/(?:inscription|activation|mot-de-passe)(?:/|%2[fF]))[^/?#\s\"]+")


def mask_private_links(text: str) -> str:
    """`text` with the token of every private link replaced by `[hidden]`."""
    return _PRIVATE.sub(lambda match: match.group(1) + HIDDEN, text)


class PrivateLinkLogger(Logger):
    """gunicorn's logger, its access-log atoms (request line, path, referrer...) masked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_private_links(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


class _MaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_private_links(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_private_links(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def mask_werkzeug_log() -> None:
    """The development server's request lines, masked the same way (once per process)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, _MaskFilter) for f in logger.filters):
        logger.addFilter(_MaskFilter())
