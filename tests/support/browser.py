"""Chromium through Playwright: how it is launched, pages that reach only the live server and
record their console errors and CSP violations, screenshots into test-artifacts/, screen sizes,
and signing in through the real forms (the admin's second factor included)."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import expect

from app.core.extensions import db
from app.members import twofactor
from app.members.models import TotpCredential, User

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DEFAULT_VIEWPORT = (1280, 800)
PHONE = (390, 844)
TABLET = (800, 1280)
DEMO_PASSWORD = "patias-demo"
ADMIN_EMAIL = "admin@patias.test"

# Records CSP violations in the page itself: Chromium also logs them to the console, but the event
# is the documented signal and carries the directive. Init scripts are injected by the DevTools
# protocol, not as inline scripts, so our CSP does not block this one.
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def launch(browser_type, extra_args: tuple[str, ...] | list[str] = ()):
    """The system's Chromium (`browser_type` is `playwright.chromium`), headless, with the
    suite's arguments and `extra_args`."""
    return browser_type.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])


# ---------------------------------------------------------------------------------------------
# Pages


def _local_only(route):
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", None) or route.request.url.startswith(("data:", "blob:", "about:")):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type}: {msg.text} ({_where(msg)})")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors


def _where(msg) -> str:
    loc = msg.location or {}
    return f"{loc.get('url', '?')}:{loc.get('lineNumber', '?')}"


_ERRORS: dict[int, list[str]] = {}


def new_context(
    browser,
    viewport: tuple[int, int] = DEFAULT_VIEWPORT,
    locale: str = "fr-FR",
    java_script_enabled: bool = True,
    **context_kwargs,
):
    """A browser context whose requests not addressed to 127.0.0.1 are aborted, and whose pages
    record CSP violations."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        locale=locale,
        java_script_enabled=java_script_enabled,
        **context_kwargs,
    )
    context.route("**/*", _local_only)
    context.add_init_script(_CSP_WATCH)
    return context


def new_page(context):
    """A page of `context` whose console errors and uncaught exceptions are recorded."""
    page = context.new_page()
    page.set_default_timeout(10_000)
    _ERRORS[id(page)] = _watch(page)
    return page


def forget(page) -> None:
    """Drop what was recorded for a page that is being closed."""
    _ERRORS.pop(id(page), None)


def console_errors(page) -> list[str]:
    """Console errors, uncaught exceptions and CSP violations seen on this page so far."""
    found = list(_ERRORS.get(id(page), []))
    # A page that is navigating or closed has no list to read.
    with contextlib.suppress(Exception):
        found += [f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
    return list(dict.fromkeys(found))


def assert_no_console_errors(page, ignore: tuple[str, ...] | list[str] = ()) -> None:
    """Fail with the console errors / CSP violations of the page; `ignore` are regexes."""
    errors = [e for e in console_errors(page) if not any(re.search(p, e) for p in ignore)]
    assert not errors, "errors in the browser console:\n  " + "\n  ".join(errors)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot into test-artifacts/ (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150] + ".png")
    # A crashed page must not hide the test's own failure.
    with contextlib.suppress(Exception):
        page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------
# Signing in


def login(page, base_url: str, login_name: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through /connexion like a person does (the form's own CSRF token)."""
    page.goto(f"{base_url}/connexion")
    page.locator("input[name=login]").fill(login_name)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").click()


def unused_code(live_app, email: str = ADMIN_EMAIL, secret: str | None = None) -> str:
    """A TOTP code of the (demo) admin for a time step not used yet: a code is accepted once."""
    totp = pyotp.TOTP(secret or twofactor.DEMO_TOTP_SECRET)
    with live_app.app_context():
        last = db.session.scalar(
            db.select(TotpCredential.last_step)
            .join(User, User.id == TotpCredential.user_id)
            .where(User.email == email)
        )
        db.session.remove()
    while True:
        now = totp.timecode(time.time())
        step = now if last is None or last < now else last + 1
        if step <= now + 1:
            return totp.generate_otp(step)
        time.sleep(1)


def admin_login(page, live_server, live_app, email: str = ADMIN_EMAIL) -> None:
    """Password, then the second factor, as the treasurer does it."""
    login(page, live_server, email)
    expect(page).to_have_url(re.compile(r"/admin/securite/verification"))
    page.get_by_label(re.compile("Code à 6 chiffres")).fill(unused_code(live_app, email))
    with page.expect_navigation():
        page.get_by_role("button", name="Continuer").click()
    expect(page).to_have_url(f"{live_server}/admin/")
