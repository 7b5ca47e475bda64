"""The session cookie: Flask's signed cookie, with an Expires of each sign-in's own.

Flask gives every permanent session one lifetime (`PERMANENT_SESSION_LIFETIME`); here a
remembered member's cookie lasts 30 days and a cashier's a market day, so the sign-in writes its
end (a Unix time) under `EXPIRES_KEY` and the cookie's Expires is that moment. A session that
is not permanent (members and admins by default) gets no Expires: it ends with the browser.
`PERMANENT_SESSION_LIFETIME` stays the signature's maximum age, the longest sign-in. What ends
a sign-in on the server is `app/members/sessions.py`, not this cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask.sessions import SecureCookieSessionInterface

EXPIRES_KEY = "_expires"


class SessionCookie(SecureCookieSessionInterface):
    def get_expiration_time(self, app, session) -> datetime | None:
        if not session.permanent:
            return None
        expires = session.get(EXPIRES_KEY)
        if isinstance(expires, int) and expires > 0:
            return datetime.fromtimestamp(expires, UTC)
        return super().get_expiration_time(app, session)
