"""Callable factories: each makes one valid object, flushed, with overridable fields."""
from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import User

_seq = itertools.count(1)
PASSWORD = "patias-demo"
_HASH_CACHE: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """Hashing is slow on purpose; tests reuse one hash per password."""
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = generate_password_hash(password)
    return _HASH_CACHE[password]


def make_user(role: str = "member", email: str | None = None, password: str = PASSWORD, **fields) -> User:
    n = next(_seq)
    user = User(
        email=email if email is not None else f"{role}{n}@example.test",
        password_hash=password_hash(password),
        role=role,
        display_name=fields.pop("display_name", f"{role.title()} {n}"),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user
