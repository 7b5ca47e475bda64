"""axe-core in the browser: the WCAG 2.2 AA violations of a page (the vendored axe.min.js stays in
tests/e2e/vendor/)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.browser import screenshot

AXE_JS = Path(__file__).resolve().parents[1] / "e2e" / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


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
    """Fail with the page's violations, and save a screenshot of it into test-artifacts/."""
    violations = axe_violations(page, context)
    if violations:
        screenshot(page, f"axe-{urlsplit(page.url).path.strip('/') or 'home'}")
    assert not violations, f"axe-core violations on {page.url}:\n{format_violations(violations)}"
