"""Browser fixtures: a live server on a file SQLite with the demo data, and Chromium pages.

Every test in tests/e2e is marked `browser`. Fixtures:

- `live_server`: base URL (``http://127.0.0.1:<port>``) of a threaded server for the whole session.
- `page`: a fresh French (fr-FR) page at 1280x800. Parametrize it indirectly to change the
  context: ``@pytest.mark.parametrize("page", [{"viewport": (390, 844)}], indirect=True)``.
- `make_page(viewport=(390, 844), locale="en-GB", java_script_enabled=False, ...)`: more pages
  (each in a context of its own), closed at the end of the test.
- `axe(page, context=None)`: the WCAG 2.2 AA violations (list of axe result dicts).
- `login(page, login, password="patias-demo")`: sign in through the real form.

Helpers to import (``from tests.e2e.conftest import ...``): `assert_no_axe_violations`,
`assert_no_console_errors`, `console_errors`, `screenshot`, `login`, `admin_login`,
`last_month_sales`.

No test touches the network: every request not addressed to 127.0.0.1 is aborted. Console
errors, uncaught exceptions and CSP violations are collected per page. A screenshot of every open
page is saved into test-artifacts/ when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app.core.extensions import db
from app.ledger import transfers as ledger
from app.members import twofactor
from app.members.models import TotpCredential, User
from app.merchants.models import Merchant
from app.payouts import settlement
from tests.conftest import make_app, require
from tests.factories import make_member

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
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DEFAULT_VIEWPORT = (1280, 800)
PHONE = (390, 844)
TABLET = (800, 1280)
DEMO_PASSWORD = "patias-demo"

# Records CSP violations in the page itself: Chromium also logs them to the console, but the event
# is the documented signal and carries the directive. Init scripts are injected by the DevTools
# protocol, not as inline scripts, so our CSP does not block this one.
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ---------------------------------------------------------------------------------------------
# The server


def _buffered(wsgi_app):
    """Read each response whole and close it at once, in the server's thread.

    A static file is otherwise streamed from an open file that is only closed once the browser has
    read it; when a test navigates away first, the file is left to the garbage collector, and its
    ResourceWarning (an error under `filterwarnings = error`) lands on whichever test runs then.
    """

    def app(environ, start_response):
        iterable = wsgi_app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return app


class _ServerThread(threading.Thread):
    def __init__(self, app):
        super().__init__(daemon=True, name="live-server")
        self.server = make_server("127.0.0.1", 0, _buffered(app.wsgi_app), threaded=True)
        self.port = self.server.server_port

    def run(self):
        self.server.serve_forever(poll_interval=0.1)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app behind `live_server` (a file SQLite with the demo data; CSRF on)."""
    from app.core.extensions import db
    from app.demo import seed_demo

    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    # As in production, an exception gives the site's 500 page (and the log), not a bare error.
    app = make_app(f"sqlite:///{path}", PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        # create_all, not the migration: the lead regenerates the migration from time to time,
        # and tests/unit/test_migrations.py checks that it matches the models.
        db.create_all()
        for _ in seed_demo():
            pass
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    thread = _ServerThread(live_app)
    thread.start()
    yield f"http://127.0.0.1:{thread.port}"
    thread.server.shutdown()
    thread.join(timeout=10)


# ---------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser():
    require(
        CHROMIUM.exists(),
        "Chromium is not installed (apt-get install chromium): browser tests skipped",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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


@pytest.fixture
def make_page(browser, request):
    """Factory: a page in a new context (viewport, locale, JavaScript, ... per call)."""
    contexts = []

    def make(
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        locale: str = "fr-FR",
        java_script_enabled: bool = True,
        **context_kwargs,
    ):
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            locale=locale,
            java_script_enabled=java_script_enabled,
            **context_kwargs,
        )
        context.route("**/*", _local_only)
        context.add_init_script(_CSP_WATCH)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        _ERRORS[id(page)] = _watch(page)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for index, context in enumerate(contexts):
        for number, page in enumerate(context.pages):
            if failed:
                screenshot(page, f"{request.node.name}-{index}-{number}-failed")
            _ERRORS.pop(id(page), None)
        context.close()


@pytest.fixture
def page(make_page, request):
    """A French page at 1280x800; `indirect` parametrization passes make_page() arguments."""
    options = dict(getattr(request, "param", None) or {})
    return make_page(**options)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot into test-artifacts/ (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150] + ".png")
    # A crashed page must not hide the test's own failure.
    with contextlib.suppress(Exception):
        page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------
# Accessibility


def axe_violations(page, context=None) -> list[dict]:
    """Run axe-core (WCAG 2.2 AA tags, target-size on) on the page; return its violations.

    axe is evaluated through the DevTools protocol (`page.evaluate`), which our CSP
    (`script-src 'self'`) does not govern, whereas `add_script_tag` would insert an inline
    <script> that the CSP rightly blocks. So the pages are audited with their real CSP on.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "rules": {"target-size": {"enabled": True}},
        "resultTypes": ["violations"],
    }
    return page.evaluate(
        "([context, options]) => axe.run(context || document, options).then(r => r.violations)",
        [context, options],
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v.get("nodes", [])[:10]:
            lines.append(
                f"    at {json.dumps(node.get('target'))}: {node.get('failureSummary', '').strip()}".replace(
                    "\n", " / "
                )
            )
            lines.append(f"       {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_no_axe_violations(page, context=None) -> None:
    violations = axe_violations(page, context)
    if violations:
        screenshot(page, f"axe-{urlsplit(page.url).path.strip('/') or 'home'}")
    assert not violations, f"axe-core violations on {page.url}:\n{format_violations(violations)}"


@pytest.fixture
def axe():
    """`axe(page, context=None)` -> the WCAG 2.2 AA violations of the page."""
    return axe_violations


# ---------------------------------------------------------------------------------------------
# Signing in


def login(page, base_url: str, login_name: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through /connexion like a person does (the form's own CSRF token)."""
    page.goto(f"{base_url}/connexion")
    page.locator("input[name=login]").fill(login_name)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").click()


@pytest.fixture(name="login")
def login_fixture(live_server):
    """`login(page, "membre1@patias.test")`: sign in on the live server."""

    def sign_in(page, login_name: str, password: str = DEMO_PASSWORD) -> None:
        login(page, live_server, login_name, password)

    return sign_in


ADMIN_EMAIL = "admin@patias.test"


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


# ---------------------------------------------------------------------------------------------
# Data


def last_month_sales(live_app) -> dict[int, int]:
    """Sales of last month at every demo merchant, made once per live server: merchant id -> amount."""
    if "e2e_last_month_sales" in live_app.extensions:
        return live_app.extensions["e2e_last_month_sales"]
    period = settlement.last_closed_period()
    day = settlement.month_start(period) + timedelta(days=9)
    with live_app.app_context():
        member = make_member(first_name="Margot", last_name="Achats")
        account = ledger.member_account(member)
        ledger.transfer(
            source=ledger.system_account("caisse"),
            destination=account,
            amount_cents=500_00,
            kind="grant",
        )
        sold = {}
        for n, merchant in enumerate(db.session.scalars(db.select(Merchant).order_by(Merchant.id))):
            amount = 12_30 + n * 1_05
            ledger.transfer(
                source=account,
                destination=ledger.merchant_account(merchant),
                amount_cents=amount,
                kind="purchase",
                occurred_on=day,
                idempotency_key=f"e2e-last-month:{period}:{merchant.id}",
            )
            sold[merchant.id] = amount
        db.session.commit()
        db.session.remove()
    live_app.extensions["e2e_last_month_sales"] = sold
    return sold
