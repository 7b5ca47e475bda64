"""The browser tooling itself can fail: axe finds real violations, CSP and console errors are seen,
and the network outside 127.0.0.1 is unreachable."""

from __future__ import annotations

import pytest

from tests.support.browser import assert_no_console_errors, console_errors


def test_axe_reports_a_real_violation(page, axe):
    page.set_content(
        '<!doctype html><html lang="fr"><title>t</title><main><img src="x.png"><button></button></main></html>'
    )
    ids = {v["id"] for v in axe(page)}
    assert {"image-alt", "button-name"} <= ids


def test_axe_runs_under_the_sites_csp(page, live_server, axe):
    response = page.goto(live_server + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert isinstance(axe(page), list)
    assert page.evaluate("typeof axe.run") == "function"


def test_inline_script_is_blocked_and_reported(page, live_server):
    page.goto(live_server + "/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s); }"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in e for e in console_errors(page))
    with pytest.raises(AssertionError, match="CSP"):
        assert_no_console_errors(page)


def test_uncaught_errors_are_collected(page, live_server):
    page.goto(live_server + "/")
    page.evaluate("() => setTimeout(() => { throw new Error('boom-from-test') }, 0)")
    page.wait_for_timeout(200)
    assert any("boom-from-test" in e for e in console_errors(page))


def test_no_request_leaves_the_machine(page):
    # A navigation is not subject to the site's connect-src: only the route blocking stops it.
    with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("http://example.org/")


def test_context_options_are_applied(make_page, live_server):
    phone = make_page(viewport=(390, 844), locale="en-GB", java_script_enabled=False)
    phone.goto(live_server + "/")
    assert phone.viewport_size == {"width": 390, "height": 844}
    assert phone.evaluate("1 + 1") == 2  # evaluate still works with page scripts disabled
    assert phone.locator("html").get_attribute("lang") == "en"
