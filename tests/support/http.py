"""Posting like a browser through the Flask test client: CSRF tokens, hidden fields, signing in
through the real login form (and the admin's second factor), the security headers."""

from __future__ import annotations

import re
import time

import pyotp

from app.core.extensions import db
from app.members.models import TotpCredential, User
from tests.support.factories import TEST_TOTP_SECRET

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form of a page (tests post like a browser does)."""
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def hidden(html: str, name: str) -> str:
    """The value of the hidden field `name` of a page."""
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
        rf'type="hidden" name="{name}" value="([^"]*)"', html
    )
    assert match, f"no hidden field {name}"
    return match.group(1)


def unused_totp_code(email: str, secret: str) -> str:
    """A code of `secret` valid now and for a later time step than the admin's last accepted one."""
    last = db.session.scalar(
        db.select(TotpCredential.last_step)
        .join(User, User.id == TotpCredential.user_id)
        .where(User.email == email)
    )
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = now if last is None or last < now else last + 1
        if step <= now + 1:  # the server accepts one step either side of its clock
            return totp.generate_otp(step)
        time.sleep(1)


class Auth:
    """Sign a user in through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, login: str, password: str = "patias-demo", follow: bool = False):
        page = self.client.get("/connexion")
        return self.client.post(
            "/connexion",
            data={
                "login": login,
                "password": password,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
            follow_redirects=follow,
        )

    def login_admin(self, email: str, secret: str | None = None, password: str = "patias-demo"):
        """Sign an admin in: password, then the TOTP code of `secret` (default: the test secret)
        for a time step not used yet (a code is accepted once). Returns the 2FA step's response."""
        self.login(email, password)
        page = self.client.get("/admin/securite/verification")
        return self.client.post(
            "/admin/securite/verification",
            data={
                "code": unused_totp_code(email, secret or TEST_TOTP_SECRET),
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )

    def logout(self):
        page = self.client.get("/")
        return self.client.post(
            "/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
        )


def assert_security_headers(response, url: str) -> None:
    """A strict CSP (no inline code), no MIME sniffing, no framing, a cautious referrer."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    where = f"{url} ({response.status_code})"
    assert directives.get("default-src") == ["'self'"], where
    assert directives.get("script-src") == ["'self'"], where
    assert directives.get("style-src") == ["'self'"], where
    assert directives.get("object-src") == ["'none'"], where
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("base-uri") == ["'self'"], where
    assert directives.get("form-action") == ["'self'"], where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
