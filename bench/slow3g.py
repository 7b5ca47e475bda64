"""`/caisse` on a slow 3G link: the first load, and a reload that must download no static file.

Budget (issue 13, point 8): gunicorn with the production settings; Chromium's network shaped by
the DevTools protocol (`Network.emulateNetworkConditions`: 400 ms round trip, 400 kbit/s each
way); a signed-in cashier opens `/caisse` with the cache disabled (a first visit): at most 1.5 s
from navigation start to the load event; then, cache on, a reload: at most 0.5 s, and no static
file fetched again.

Each run is a fresh browser context (an empty cache): sign-in unshaped, then the two loads shaped.
Printed per run and as medians: load time, DOM ready, bytes on the wire (headers included, as
`Network.loadingFinished` counts them), requests, static files from the network (by the DevTools
events, and by gunicorn's access log: the server's own count). No assertion: figures.

Run: `python -m bench.slow3g` (or `make bench`). Options: --runs N, --workers N, --threads N.
Writes bench/results/slow3g.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support.network import (
    SLOW_3G,
    NetworkLog,
    disable_cache,
    load_timing,
    plain_context,
    shape,
)
from tests.support.register_server import (
    PASSWORD,
    ROOT,
    prepare_database,
    production_env,
    start_server,
)

RESULTS = ROOT / "bench" / "results"
CHROMIUM = Path("/usr/bin/chromium")
FIRST_LOAD_BUDGET_MS = 1500
RELOAD_BUDGET_MS = 500
_STATIC_LINE = re.compile(r'"GET (/static/[^ ?"]+)')


def one_run(browser, server, cashier: str) -> dict:
    context = plain_context(browser)
    try:
        page = context.new_page()
        page.goto(server.base_url + "/connexion")
        page.fill("input[name=login]", cashier)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) [type=submit]")
        cdp = context.new_cdp_session(page)
        log = NetworkLog(cdp)
        shape(cdp, SLOW_3G)

        disable_cache(cdp, True)
        log.clear()
        page.goto(server.base_url + "/caisse", wait_until="load")
        page.wait_for_timeout(300)  # the last DevTools events
        first = _figures(page, log)

        disable_cache(cdp, False)
        log.clear()
        before = len(_static_lines(server))
        page.reload(wait_until="load")
        page.wait_for_timeout(300)
        reload = _figures(page, log)
        reload["static_requests_in_server_log"] = len(_static_lines(server)) - before
        return {"first_load": first, "reload": reload}
    finally:
        context.close()


def _figures(page, log: NetworkLog) -> dict:
    timing = load_timing(page)
    return {
        **timing,
        "bytes_on_the_wire": log.bytes_on_the_wire(),
        "requests": len(log.requests),
        "static_from_network": sorted(r.path for r in log.static_from_network()),
        "static_from_cache": len([r for r in log.static() if r.from_cache]),
        "from_network": [
            {
                "path": r.path,
                "status": r.status,
                "bytes": r.encoded_bytes,
                "encoding": r.content_encoding or "identity",
            }
            for r in log.requests.values()
            if r.from_network
        ],
    }


def _static_lines(server) -> list[str]:
    return _STATIC_LINE.findall(server.log())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.slow3g", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    results = {
        "benchmark": "slow3g",
        "network": {"round_trip_ms": SLOW_3G["latency"], "kbit_per_s": 400},
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, production settings",
        "budget": {"first_load_ms": FIRST_LOAD_BUDGET_MS, "reload_ms": RELOAD_BUDGET_MS},
    }
    if not CHROMIUM.exists():
        results["note"] = "Chromium is not installed (apt-get install chromium): not measured"
        print(json.dumps(results, indent=2))
        return results
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite:///{directory}/slow3g.sqlite3"
        env = production_env()
        fixture = prepare_database(
            database_url, cashiers=1, members=1, balance_cents=10_000, pin_pepper=env["PIN_PEPPER"]
        )
        server = start_server(
            database_url, env, workers=args.workers, threads=args.threads, access_log=True
        )
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-quic"]
                )
                try:
                    runs = [
                        one_run(browser, server, fixture.cashiers[0][1]) for _ in range(args.runs)
                    ]
                finally:
                    browser.close()
        finally:
            server.stop()
    first = statistics.median(r["first_load"]["load_ms"] for r in runs)
    reload = statistics.median(r["reload"]["load_ms"] for r in runs)
    results["median"] = {
        "first_load_ms": first,
        "first_load_bytes": statistics.median(r["first_load"]["bytes_on_the_wire"] for r in runs),
        "reload_ms": reload,
        "reload_static_from_network": max(len(r["reload"]["static_from_network"]) for r in runs),
    }
    results["within_budget"] = (
        first <= FIRST_LOAD_BUDGET_MS
        and reload <= RELOAD_BUDGET_MS
        and all(not r["reload"]["static_from_network"] for r in runs)
    )
    results["runs"] = runs
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / "slow3g.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(
        f"/caisse on slow 3G: first load {first:.0f} ms (budget {FIRST_LOAD_BUDGET_MS}), "
        f"reload {reload:.0f} ms (budget {RELOAD_BUDGET_MS}), "
        f"{results['median']['reload_static_from_network']} static file(s) fetched again",
        file=sys.stderr,
    )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
