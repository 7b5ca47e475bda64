"""Sign-ins made without the login form (app/members/sessions.py), for tests that write the
session cookie themselves, and a look at whether one still holds."""

from __future__ import annotations

from app.core.extensions import db
from app.members import sessions, twofactor
from app.members.models import User, UserSession


def open_sign_in(user: User, remember: bool = False) -> dict:
    """A committed sign-in of `user`: the values its session cookie carries (the admin's second
    factor marked as verified)."""
    sessions.open_session(user, remember=remember)
    db.session.commit()
    values = {"_user_id": user.get_id(), "_fresh": True}
    if user.role == "admin":
        values[twofactor.SESSION_KEY] = twofactor.session_marker(user)
    return values


def sign_in_holds(values: dict) -> bool:
    """Whether the sign-in of these cookie values is still open on the server."""
    user_id, version, token = values["_user_id"].split(":")
    db.session.expire_all()
    user = db.session.get(User, int(user_id))
    record = db.session.scalar(
        db.select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
    )
    return (
        user is not None
        and record is not None
        and user.session_version == int(version)
        and sessions.is_alive(record)
    )
