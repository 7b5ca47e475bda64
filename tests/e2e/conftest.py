"""Browser fixtures: a live server on a file SQLite with the demo data, and Chromium pages.

Every test in tests/e2e is marked `browser`. Fixtures:

- `live_server`: base URL (``http://127.0.0.1:<port>``) of a threaded server for the whole session.
- `page`: a fresh French (fr-FR) page at 1280x800. Parametrize it indirectly to change the
  context: ``@pytest.mark.parametrize("page", [{"viewport": (390, 844)}], indirect=True)``.
- `make_page(viewport=(390, 844), locale="en-GB", java_script_enabled=False, ...)`: more pages
  (each in a context of its own), closed at the end of the test.
- `axe(page, context=None)`: the WCAG 2.2 AA violations (list of axe result dicts).
- `login(page, login, password="patias-demo")`: sign in through the real form.

Helpers to import: from tests.support.browser `assert_no_console_errors`, `console_errors`,
`screenshot`, `login`, `admin_login`, `PHONE`, `TABLET`; from tests.support.axe
`assert_no_axe_violations`.

No test touches the network: every request not addressed to 127.0.0.1 is aborted. Console
errors, uncaught exceptions and CSP violations are collected per page. A screenshot of every open
page is saved into test-artifacts/ when a test fails.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.apps import make_app, require
from tests.support.axe import axe_violations
from tests.support.browser import (
    CHROMIUM,
    DEFAULT_VIEWPORT,
    DEMO_PASSWORD,
    forget,
    launch,
    login,
    new_context,
    new_page,
    screenshot,
)
from tests.support.factories import make_member
from tests.support.live_server import ServerThread, make_live_app
from tests.support.register_page import PIN


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


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app behind `live_server` (a file SQLite with the demo data; CSRF on)."""
    from app.core.extensions import db

    app = make_live_app(tmp_path_factory.mktemp("live") / "live.sqlite3")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    thread = ServerThread(live_app)
    thread.start()
    yield f"http://127.0.0.1:{thread.port}"
    thread.server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def fresh_server(tmp_path):
    """A caisse as `flask ssa init` leaves it, served live: an empty file SQLite, then `init`
    with an empty base (no commune, category, ...). Yields (base URL, app, TOTP secret)."""
    from app.core.extensions import db
    from tests.support.first_run import run_init

    app = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        db.create_all()
        secret = run_init(app.test_cli_runner(), tmp_path)
        db.session.remove()
    thread = ServerThread(app)
    thread.start()
    yield f"http://127.0.0.1:{thread.port}", app, secret
    thread.server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


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
        chromium = launch(playwright.chromium)
        yield chromium
        chromium.close()


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
        context = new_context(browser, viewport, locale, java_script_enabled, **context_kwargs)
        contexts.append(context)
        return new_page(context)

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for index, context in enumerate(contexts):
        for number, page in enumerate(context.pages):
            if failed:
                screenshot(page, f"{request.node.name}-{index}-{number}-failed")
            forget(page)
        context.close()


@pytest.fixture
def page(make_page, request):
    """A French page at 1280x800; `indirect` parametrization passes make_page() arguments."""
    options = dict(getattr(request, "param", None) or {})
    return make_page(**options)


# ---------------------------------------------------------------------------------------------
# Accessibility


@pytest.fixture
def axe():
    """`axe(page, context=None)` -> the WCAG 2.2 AA violations of the page."""
    return axe_violations


# ---------------------------------------------------------------------------------------------
# The register


@pytest.fixture
def new_member(live_app):
    """A member of our own with `cents` on the account, so that no other test's balance moves."""
    from app.core.extensions import db
    from app.ledger import transfers as ledger

    created = []

    def make(cents: int = 10000):
        with live_app.app_context():
            member = make_member(first_name="Sacha", last_name=f"Test{len(created)}", pin=PIN)
            ledger.transfer(
                source=ledger.system_account("caisse"),
                destination=ledger.member_account(member),
                amount_cents=cents,
                kind="allocation",
                period="2099-01",
            )
            db.session.commit()
            person = SimpleNamespace(
                id=member.id, number=member.number, short_name=member.short_name
            )
        created.append(person)
        return person

    return make


# ---------------------------------------------------------------------------------------------
# Signing in


@pytest.fixture(name="login")
def login_fixture(live_server):
    """`login(page, "membre1@patias.test")`: sign in on the live server."""

    def sign_in(page, login_name: str, password: str = DEMO_PASSWORD) -> None:
        login(page, live_server, login_name, password)

    return sign_in
