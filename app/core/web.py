"""Helpers every blueprint shares: where a `?next=` may lead, and the one way a view runs a form
or an action (`perform`, `submit`): the rule of when to commit lives on the error classes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote, urlsplit

from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from app.core.errors import DomainError
from app.core.extensions import db

T = TypeVar("T")


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: at most 2**31 - 1, the largest id the tables' `INTEGER`
    primary keys hold on PostgreSQL. A bigger number matches no route (404) instead of
    overflowing the query (a 500 on PostgreSQL past 2**31, and on SQLite past 2**63)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def safe_next(target: str | None) -> str | None:
    """`?next=` only to a path of this site: no scheme, no host, no `//` or backslash tricks.

    Refused (None): anything not starting with one `/`, a backslash, any control, format or
    space character (browsers drop tabs and newlines, so a tab between two slashes leads to
    another host, and a newline in a `Location` header is a 500), the same tricks
    percent-encoded in the path (`/%2F/evil.example`), and more than 2,000 characters."""
    if not target or len(target) > 2000:
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    for text in (target, unquote(path)):
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return None
        if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text):
            return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target.removesuffix("?")


# --- The one form/action path: validate, call the operation, commit or roll back -------------


@dataclass
class Result(Generic[T]):
    """What `perform` or `submit` did: the operation's `value`, or the domain `error` it raised.

    `submitted` is false for a form that was not sent (a GET), `valid` false for one that did
    not validate: the operation did not run. `placed` says the error's message went onto a
    form field; otherwise `message` is the one to show above the form or in the fragment.
    """

    value: T | None = None
    error: DomainError | None = None
    submitted: bool = True
    valid: bool = True
    placed: bool = False

    @property
    def ok(self) -> bool:
        """The operation ran and its work is committed."""
        return self.submitted and self.valid and self.error is None

    @property
    def status(self) -> int:
        """The HTTP status of the page or fragment that shows this result."""
        if self.error is not None:
            return self.error.status
        if self.submitted and not self.valid:
            return 422
        return 200

    @property
    def message(self) -> str | None:
        """The error's message when it belongs to no field (None otherwise, or without error)."""
        if self.error is None or self.placed:
            return None
        return str(self.error.message)


def perform(operation: Callable[[], T], *, keep: tuple[type[DomainError], ...] = ()) -> Result[T]:
    """Run `operation` as the request's one transaction.

    It is committed when the operation returns; on a `DomainError` it is committed if the error
    `keeps_side_effects` (a counted wrong PIN) or is one of `keep` (a view whose operation did
    work worth keeping before that refusal), and rolled back otherwise. Other exceptions
    propagate: the 500 handler rolls back.
    """
    try:
        value = operation()
    except DomainError as error:
        if error.keeps_side_effects or isinstance(error, keep):
            db.session.commit()
        else:
            db.session.rollback()
        return Result(error=error)
    db.session.commit()
    return Result(value=value)


def submit(
    form: FlaskForm,
    operation: Callable[[], T],
    field: str | Mapping[type[DomainError], str] | None = None,
    *,
    keep: tuple[type[DomainError], ...] = (),
) -> Result[T]:
    """Validate `form` and `perform` the operation; a domain error lands in place.

    Not sent or not valid: nothing runs (`submitted`, `valid`). A domain error's message is
    appended to the form field named by the error itself (`details["field"]`), else by `field`
    (a name, or a name per error class), else it stays form-level (`Result.message`).
    """
    if not form.is_submitted():
        return Result(submitted=False)
    if not form.validate():
        return Result(valid=False)
    result = perform(operation, keep=keep)
    if result.error is not None:
        result.placed = _place(form, result.error, field)
    return result


def _place(form: FlaskForm, error: DomainError, field) -> bool:
    name = error.details.get("field")
    if name is None and isinstance(field, Mapping):
        name = next((n for kind, n in field.items() if isinstance(error, kind)), None)
    elif name is None:
        name = field
    target = form._fields.get(name) if name else None
    if target is None:
        return False
    target.errors = [*target.errors, error.message]
    return True
