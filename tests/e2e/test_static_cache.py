"""The register's static files in Chromium: hashed names, sent compressed, kept by the browser's
cache, so that a reload or the next page downloads no static file again; the register still
sells after a reload from the cache."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.core.extensions import db
from app.ledger import transfers as ledger
from tests.support.browser import assert_no_console_errors, login
from tests.support.factories import make_member
from tests.support.network import NetworkLog, disable_cache, plain_context

HASHED = re.compile(r"^/static/.+\.[0-9a-f]{12}\.\w+$")
PIN = "1357"


def a_member(live_app):
    with live_app.app_context():
        member = make_member(first_name="Noa", last_name="Cache", pin=PIN)
        ledger.transfer(
            source=ledger.system_account("caisse"),
            destination=ledger.member_account(member),
            amount_cents=50_00,
            kind="allocation",
            period="2099-02",
        )
        db.session.commit()
        return member.number


def test_a_reload_and_the_next_page_download_no_static_file_again(browser, live_server, live_app):
    number = a_member(live_app)
    # Playwright's request routing turns the HTTP cache off: this context has none (every
    # request is checked to be the live server's below instead).
    context = plain_context(browser)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        cdp = context.new_cdp_session(page)
        log = NetworkLog(cdp)
        login(page, live_server, "caisse1@patias.test")

        disable_cache(cdp, True)  # a first visit
        log.clear()
        # networkidle: the favicon is fetched after the load event, its answer may come later.
        page.goto(live_server + "/caisse", wait_until="networkidle")
        expect(page.get_by_role("heading", name="Qui paie ?")).to_be_visible()
        first = log.static()
        paths = {r.path for r in first}
        assert any("/static/js/register." in p for p in paths), paths
        assert all(HASHED.match(p) for p in paths), paths
        for request in first:
            assert request.from_network and request.status == 200, request
            if request.path.endswith((".css", ".js")):
                assert request.content_encoding == "br", request

        disable_cache(cdp, False)
        log.clear()
        page.reload(wait_until="networkidle")
        expect(page.get_by_role("heading", name="Qui paie ?")).to_be_visible()
        page.wait_for_timeout(200)  # the last DevTools events
        assert [r.path for r in log.requests.values() if r.from_network] == ["/caisse"]
        assert {r.path for r in log.static()} >= {p for p in paths if not p.endswith(".svg")}
        assert log.static_from_network() == []

        # The register works from the cached scripts: a whole sale, through htmx.
        log.clear()
        # A 6th digit with a valid check digit goes on by itself.
        page.get_by_role("textbox", name="Numéro d’adhérent").press_sequentially(number)
        # Typed as a person does, once the sale step has taken the focus (its script ready).
        amount = page.get_by_role("textbox", name="Montant")
        expect(amount).to_be_focused()
        amount.press_sequentially("4,20")
        page.get_by_label("Code PIN").press_sequentially(PIN)
        page.get_by_role("button", name="Débiter").click()
        expect(page.get_by_text(re.compile(r"4,20\s€ payés, reste 45,80\s€"))).to_be_visible()
        assert log.static_from_network() == []

        # The next page of the same layout: what it shares comes from the cache too.
        log.clear()
        page.goto(live_server + "/caisse/rapport", wait_until="load")
        again = [r.path for r in log.static_from_network() if r.path in paths]
        assert again == []
        assert all(r.url.startswith(live_server) for r in log.requests.values())
        assert_no_console_errors(page)
    finally:
        context.close()
