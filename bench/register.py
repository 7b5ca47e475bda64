"""The register's budget: the full sale POST against /healthz on the same gunicorn server.

gunicorn runs the production settings (FLASK_CONFIG=production, a generated SECRET_KEY and
PIN_PEPPER, SESSION_COOKIE_SECURE=false because the bench speaks plain http). 16 clients,
each a signed-in cashier, post complete sales (CSRF token, member reference, amount, category,
PIN; the ledger's conditional debit) as fast as they can; then the same clients hit /healthz,
which touches no database. Printed: sales/s, the ratio to /healthz, p50/p99 latency, errors,
on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL, with the CPU each request cost
during each phase (the gunicorn processes', and the whole machine's with the clients and the
database server): at saturation the machine is CPU-bound, and the ratio is about the quotient
of the two machine figures. Then the floor, `tests/support/floor_app.py`, the least a signed-in,
CSRF-checked sale committed to SQLite can cost in this stack (no ORM, no PIN, no member checks),
served beside the register: its sales phases alternate with the register's, `--rounds` times per
engine, so that both see the same load on a shared machine; `share_of_floor` is the median of
the rounds' quotients of sales/s. Then the app's own CPU for one sale and one /healthz in a single
thread without HTTP, the register's and the floor's (`cpu_per_request`). Also: the /caisse
first-load weight (gzip), the bytes of one sale's round trips (identify + debit) as an htmx
browser sends them, and each answer's body on the wire and its headers (`answers`).

Targets (issue 4): ratio >= 0.5 and p99 <= 50 ms on SQLite; first load <= 60 KB compressed;
one sale's round trips <= 5 KB. Issue 17 (point 9): sales/s >= 0.75 x the floor's on SQLite,
p99 <= 50 ms, the share printed for PostgreSQL too; each answer's body <= 1.5 KB compressed.
`--profile` profiles sales in this process instead (cProfile, no server).

Run: `python -m bench.register` (or `make bench`). Options: --seconds N, --clients N,
--workers N, --threads N, --engine sqlite|postgresql|both, --no-floor, --rounds N, --profile. Writes bench/results/register.json.

The server launcher and the database preparation (tests/support/register_server.py) and the
HTTP client (tests/support/tablets.py) are shared with tests/reliability/test_register_load.py
and test_register_crash.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.register_server import (
    PASSWORD,
    PIN,
    ROOT,
    Fixture,
    Server,
    create_postgres_database,
    prepare_database,
    production_env,
    start_server,
    verify_ledger,
)
from tests.support.tablets import CSRF, HTMX, RegisterClient, Unanswered, new_key

RESULTS = ROOT / "bench" / "results"
FIRST_LOAD_BUDGET = 60_000
SALE_BUDGET = 5_000
ANSWER_BODY_BUDGET = 1_500  # issue 17, point 9: the member lookup's and the sale's answers, each
# What Chromium adds to an htmx POST besides our own fields (measured with Playwright's
# request.sizes() on the register): used when the bench measures without a browser.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
    "Accept": "*/*",
    "Accept-Language": "fr-FR,fr;q=0.9",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "HX-Request": "true",
    "HX-Target": "register",
}


# --- measurements ----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_clients(count: int, seconds: float, work) -> dict:
    """`count` threads call `work(index, stop_event)` -> list of (status, seconds); merged figures."""
    stop = threading.Event()
    results: list[list] = [[] for _ in range(count)]
    errors: list[str] = []

    def runner(index: int) -> None:
        try:
            results[index] = work(index, stop)
        except Exception as exc:  # noqa: BLE001 - reported as an error figure
            errors.append(f"client {index}: {exc!r}")

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    samples = [sample for per_client in results for sample in per_client]
    latencies = [s for status, s in samples if status < 500]
    failed = [status for status, _ in samples if status >= 500 or status == 0]
    return {
        "requests": len(samples),
        "per_second": round(len(samples) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": len(failed) + len(errors),
        "error_details": errors[:5],
        "statuses": {
            str(code): sum(1 for status, _ in samples if status == code)
            for code in sorted({s for s, _ in samples})
        },
    }


def _machine_busy_seconds() -> float | None:
    """CPU time spent by the whole machine so far (every core, all processes), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            values = [int(v) for v in handle.readline().split()[1:9]]
    except OSError:
        return None
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def _group_cpu_seconds(group: int) -> float | None:
    """User and system CPU time of the live processes of a process group (the gunicorn server)."""
    if not os.path.isdir("/proc"):
        return None
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measured_phase(server: Server, count: int, seconds: float, work) -> dict:
    """`run_clients`, with the CPU per request of the server and of the whole machine."""
    server_before, machine_before = _group_cpu_seconds(server.process.pid), _machine_busy_seconds()
    figures = run_clients(count, seconds, work)
    server_after, machine_after = _group_cpu_seconds(server.process.pid), _machine_busy_seconds()
    requests = figures["requests"] or 1
    if server_before is not None and server_after is not None:
        figures["server_cpu_ms_per_request"] = round(
            (server_after - server_before) / requests * 1000, 2
        )
    if machine_before is not None and machine_after is not None:
        figures["machine_cpu_ms_per_request"] = round(
            (machine_after - machine_before) / requests * 1000, 2
        )
    return figures


def sale_sample(send, *args) -> tuple[int, float]:
    """One sale of a phase, `send(*args)`: (status, seconds); 599 for an answer that is not a
    receipt, 0 for none at all."""
    try:
        answer = send(*args)
    except Unanswered:
        return 0, 0.0
    ok = answer.status == 200 and "data-sale-done" in answer.body
    return (answer.status if ok else 599), answer.seconds


def saturated_phases(server: Server, clients: list[RegisterClient], seconds: float, sales) -> dict:
    """A warm-up, then `sales` and `/healthz` each as fast as the clients can, measured
    (`measured_phase`): the two phases of the ratio, for the register and for the floor."""

    def health(index: int, stop: threading.Event) -> list:
        samples = []
        while not stop.is_set():
            try:
                answer = clients[index].request("GET", "/healthz")
                samples.append((answer.status, answer.seconds))
            except Unanswered:
                samples.append((0, 0.0))
        return samples

    run_clients(len(clients), 1.0, sales)  # warm-up: connections, caches, the WAL
    sale = measured_phase(server, len(clients), seconds, sales)
    healthz = measured_phase(server, len(clients), seconds, health)
    return {
        "sales": sale,
        "healthz": healthz,
        "sales_per_second": sale["per_second"],
        "ratio_to_healthz": round(sale["per_second"] / healthz["per_second"], 3)
        if healthz["per_second"]
        else None,
    }


def bench_engine(
    database_url: str,
    *,
    clients: int,
    seconds: float,
    workers: int,
    threads: int,
    paced_rate: float = 2.0,
    floor_rounds: int = 0,
) -> dict:
    """Saturation (every client as fast as it can) for sales and /healthz, then the latency of
    sales at a steady `paced_rate` sales per second per client.

    With `floor_rounds`, the floor (`floor_server`) runs beside the register, and its saturated
    phases alternate with the register's, round after round (the first round is the register's
    figures above): the machine is shared with other jobs, and back-to-back phases see the same
    load, where phases minutes apart did not. `share_of_floor` is the median of the rounds'
    quotients of sales/s."""
    env = production_env()
    # One tablet per stall; 10 members shared by all the tablets.
    fixture = prepare_database(
        database_url,
        cashiers=clients,
        members=10,
        balance_cents=10_000_000,
        pin_pepper=env["PIN_PEPPER"],
        merchants=clients,
    )
    server = start_server(database_url, env, workers=workers, threads=threads, access_log=False)
    rounds = []
    try:
        tablets = []
        for _, email in fixture.cashiers:
            client = RegisterClient(server.base_url)
            client.login(email)
            refs = [client.identify(number)[0] for _, number in fixture.members]
            tablets.append((client, refs))

        def sales(index: int, stop: threading.Event, pace: float = 0.0) -> list:
            client, refs = tablets[index]
            samples, n = [], 0
            # Paced clients start a sale every `pace` seconds (staggered), whatever the answer time.
            due = time.perf_counter() + (pace * index / clients if pace else 0)
            while not stop.is_set():
                if pace:
                    time.sleep(max(0.0, due - time.perf_counter()))
                    due += pace
                fields = refs[n % len(refs)]
                form = client.sale_form(
                    fields, 100 + n % 400, fixture.category_ids[n % 2], key=new_key()
                )
                n += 1
                samples.append(sale_sample(client.debit, form))
            return samples

        registers = [client for client, _ in tablets]
        phases = saturated_phases(server, registers, seconds, sales)
        if floor_rounds:
            with floor_server(clients=clients, workers=workers, threads=threads) as floor:
                for number in range(floor_rounds):
                    register_phase = (
                        phases["sales"]
                        if number == 0
                        else _sales_phase(server, registers, seconds, sales)
                    )
                    floor_phase = (
                        floor.first_phases(seconds)["sales"]
                        if number == 0
                        else _sales_phase(floor.server, floor.clients, seconds, floor.sales)
                    )
                    rounds.append(
                        {
                            "register_sales_per_second": register_phase["per_second"],
                            "register_p99_ms": register_phase["p99_ms"],
                            "floor_sales_per_second": floor_phase["per_second"],
                            "floor_p99_ms": floor_phase["p99_ms"],
                            "share_of_floor": round(
                                register_phase["per_second"] / floor_phase["per_second"], 3
                            )
                            if floor_phase["per_second"]
                            else None,
                        }
                    )
                floor_figures = floor.figures
        paced = run_clients(
            clients, seconds, lambda index, stop: sales(index, stop, pace=1.0 / paced_rate)
        )
        for client, _ in tablets:
            client.close()
    finally:
        server.stop()
    check = verify_ledger(database_url, {"PIN_PEPPER": env["PIN_PEPPER"]})
    sale, healthz = phases["sales"], phases["healthz"]
    results = {
        **phases,
        "paced": {"per_client_per_second": paced_rate, **paced},
        "cpu_bound_ratio": (
            round(healthz["machine_cpu_ms_per_request"] / sale["machine_cpu_ms_per_request"], 3)
            if sale.get("machine_cpu_ms_per_request") and healthz.get("machine_cpu_ms_per_request")
            else None
        ),
        "verify_ledger_ok": check.returncode == 0,
    }
    if rounds:
        shares = [r["share_of_floor"] for r in rounds if r["share_of_floor"] is not None]
        results["floor"] = floor_figures
        results["floor_rounds"] = rounds
        results["share_of_floor"] = round(statistics.median(shares), 3) if shares else None
        results["share_of_floor_range"] = [min(shares), max(shares)] if shares else None
    return results


def _sales_phase(server: Server, clients: list, seconds: float, sales) -> dict:
    run_clients(len(clients), 1.0, sales)  # warm-up
    return measured_phase(server, len(clients), seconds, sales)


class _Floor:
    def __init__(self, server: Server, clients: list, sales):
        self.server, self.clients, self.sales = server, clients, sales
        self.figures: dict = {}

    def first_phases(self, seconds: float) -> dict:
        self.figures = saturated_phases(self.server, self.clients, seconds, self.sales)
        return self.figures


@contextmanager
def floor_server(*, clients: int, workers: int, threads: int):
    """`tests/support/floor_app.py` served the same way, its clients signed in: the least a
    signed-in, CSRF-checked sale committed to SQLite can cost in this stack (Flask, Flask-Login,
    Flask-WTF, gunicorn), without the ORM, the PIN, the member's checks or the audit. The
    register's ratio cannot be expected above the floor's."""
    from tests.support import floor_app

    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/floor.sqlite3"
        floor_app.create_database(path, accounts=10, balance=10_000_000_000)
        env = {"SECRET_KEY": secrets.token_urlsafe(48), "FLOOR_DATABASE": path}
        server = start_server(
            f"sqlite:///{path}",
            env,
            workers=workers,
            threads=threads,
            access_log=False,
            module="tests.support.floor_app",
        )
        try:
            tablets = []
            for n in range(clients):
                client = RegisterClient(server.base_url)
                client.csrf = client.request("GET", f"/login/{n + 1}").body
                tablets.append(client)

            def sales(index: int, stop: threading.Event) -> list:
                client, samples, n = tablets[index], [], 0
                while not stop.is_set():
                    form = {
                        "csrf_token": client.csrf,
                        "account": 1 + n % 10,
                        "amount": 100 + n % 400,
                        "key": new_key(),
                    }
                    n += 1
                    samples.append(sale_sample(client.request, "POST", "/sale", form, HTMX))
                return samples

            yield _Floor(server, tablets, sales)
            for client in tablets:
                client.close()
        finally:
            server.stop()


@contextmanager
def in_process_register():
    """A production app on a fresh SQLite database, a signed-in cashier and 10 identified
    members, in this process: yields `(sale, health)`, callables of one request each
    (`sale(n)` posts the n-th complete sale as htmx does), through the WSGI app (no HTTP)."""
    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite:///{directory}/cpu.sqlite3"
        env = production_env()
        fixture = prepare_database(
            database_url,
            cashiers=1,
            members=10,
            balance_cents=10_000_000,
            pin_pepper=env["PIN_PEPPER"],
        )
        from app import create_app

        app = create_app(
            "production",
            SQLALCHEMY_DATABASE_URI=database_url,
            SECRET_KEY=env["SECRET_KEY"],
            PIN_PEPPER=env["PIN_PEPPER"],
            SESSION_COOKIE_SECURE=False,
            MAIL_BACKEND="console",
        )
        app_log = logging.getLogger("app")
        logging_level = app_log.level
        app_log.setLevel(logging.WARNING)  # the sale's log line is not what is measured
        client = app.test_client()
        token = CSRF.search(client.get("/connexion").get_data(as_text=True)).group(1)
        client.post(
            "/connexion",
            data={"login": fixture.cashiers[0][1], "password": PASSWORD, "csrf_token": token},
        )
        token = CSRF.search(client.get("/caisse").get_data(as_text=True)).group(1)
        refs = []
        for _, number in fixture.members:
            body = client.post(
                "/caisse/membre", data={"number": number, "csrf_token": token}, headers=HTMX
            ).get_data(as_text=True)
            refs.append(
                {
                    name: re.search(rf'data-{name}="([^"]*)"', body).group(1)
                    for name in ("member", "key")
                }
            )

        def sale(n: int) -> None:
            form = {
                "csrf_token": token,
                "member": refs[n % len(refs)]["member"],
                "key": new_key(),
                "amount": "1,25",
                "category": str(fixture.category_ids[0]),
                "pin": PIN,
            }
            response = client.post("/caisse/debit", data=form, headers=HTMX)
            if "data-sale-done" not in response.get_data(as_text=True):
                raise RuntimeError(f"sale answered {response.status_code}")

        def health(_n: int) -> None:
            if client.get("/healthz").status_code != 200:
                raise RuntimeError("/healthz failed")

        try:
            yield sale, health
        finally:
            app_log.setLevel(logging_level)
            from app.core.extensions import db

            with app.app_context():
                db.engine.dispose()


def cpu_per_request(requests: int = 300) -> dict:
    """The app's own CPU per request, in one thread, through the WSGI app (no HTTP, no gunicorn,
    no other process): a full sale against /healthz. Where a sale's time goes, without the
    HTTP server and the clients that the saturated phases also pay for."""
    figures = {}
    with in_process_register() as (sale, health):
        for name, call in (("healthz", health), ("sale", sale)):
            for n in range(30):  # warm-up: caches, compiled statements
                call(n)
            started = time.process_time()
            for n in range(requests):
                call(n)
            figures[f"{name}_cpu_ms"] = round((time.process_time() - started) / requests * 1000, 2)
    figures.update(_floor_cpu_per_request(requests))
    figures["requests_each"] = requests
    return figures


def _floor_cpu_per_request(requests: int) -> dict:
    """The same for the floor (tests/support/floor_app.py): its sale and its /healthz."""
    from tests.support import floor_app

    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/floor.sqlite3"
        floor_app.create_database(path, accounts=10, balance=10_000_000_000)
        saved = {name: os.environ.get(name) for name in ("SECRET_KEY", "FLOOR_DATABASE")}
        os.environ.update(SECRET_KEY=secrets.token_urlsafe(48), FLOOR_DATABASE=path)
        try:
            client = floor_app.create_app().test_client()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        csrf = client.get("/login/1").get_data(as_text=True)

        def sale(n: int) -> None:
            form = {"csrf_token": csrf, "account": 1 + n % 10, "amount": 100, "key": new_key()}
            if "data-sale-done" not in client.post("/sale", data=form, headers=HTMX).get_data(
                as_text=True
            ):
                raise RuntimeError("the floor's sale failed")

        def health(_n: int) -> None:
            client.get("/healthz")

        figures = {}
        for name, call in (("floor_healthz", health), ("floor_sale", sale)):
            for n in range(30):
                call(n)
            started = time.process_time()
            for n in range(requests):
                call(n)
            figures[f"{name}_cpu_ms"] = round((time.process_time() - started) / requests * 1000, 2)
    return figures


def profile_sale(requests: int = 500, limit: int = 40) -> str:
    """cProfile of `requests` sales in one thread (after a warm-up): the functions that cost the
    most, cumulative and own time. `python -m bench.register --profile`."""
    import cProfile
    import io
    import pstats

    with in_process_register() as (sale, _health):
        for n in range(50):
            sale(n)
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(requests):
            sale(n)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def first_load_and_sale_bytes() -> dict:
    """The /caisse first load (gzip, with its CSS and JS) and one sale's round trips, measured
    in Chromium when it is there (real headers), else with the browser's usual headers."""
    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite:///{directory}/weight.sqlite3"
        env = production_env()
        fixture = prepare_database(
            database_url, cashiers=1, members=1, balance_cents=100_000, pin_pepper=env["PIN_PEPPER"]
        )
        server = start_server(database_url, env, workers=1, threads=4, access_log=False)
        try:
            plain = {k: v for k, v in BROWSER_HEADERS.items() if not k.startswith("HX-")}
            client = RegisterClient(server.base_url, extra_headers=plain)
            client.login(fixture.cashiers[0][1])
            load = _first_load(client)
            answers = _sale_with_http(client, fixture)
            sale = _sale_in_chromium(server.base_url, fixture) or answers
            client.close()
        finally:
            server.stop()
    return {"first_load": load, "one_sale": sale, "answers": answers}


def _first_load(client: RegisterClient) -> dict:
    page = client.request("GET", "/caisse", headers={"Accept": "text/html"})
    parts = [("/caisse", len(page.body.encode()), len(gzip.compress(page.body.encode(), 6)))]
    for ref in re.findall(
        r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+\.(?:css|js))"', page.body
    ):
        asset = client.request("GET", ref)
        data = asset.body.encode()
        parts.append((ref, len(data), len(gzip.compress(data, 6))))
    total = sum(gz for _, _, gz in parts)
    return {
        "gzip_bytes": total,
        "budget_bytes": FIRST_LOAD_BUDGET,
        "within_budget": total <= FIRST_LOAD_BUDGET,
        "parts": [{"url": url, "raw_bytes": raw, "gzip_bytes": gz} for url, raw, gz in parts],
    }


def _sale_in_chromium(base_url: str, fixture: Fixture) -> dict | None:
    if not Path("/usr/bin/chromium").exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_context(
            viewport={"width": 1280, "height": 800}, locale="fr-FR"
        ).new_page()
        page.goto(base_url + "/connexion")
        page.fill("input[name=login]", fixture.cashiers[0][1])
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form:has(input[name=password]) [type=submit]")
        page.goto(base_url + "/caisse")
        requests = []
        page.on(
            "requestfinished",
            lambda request: requests.append(request) if "/caisse/" in request.url else None,
        )
        page.fill("input[name=number]", fixture.members[0][1])
        page.click("form[action$='/membre'] button[type=submit]")
        page.wait_for_selector("input[name=amount]")
        page.fill("input[name=amount]", "12,50")
        page.fill("input[name=pin]", PIN)
        page.click("button.reg-charge")
        page.wait_for_selector("[data-sale-done]")
        trips = []
        for request in requests:
            sizes = request.sizes()
            trips.append(
                {
                    "url": urlsplit(request.url).path,
                    "request_bytes": sizes["requestHeadersSize"] + sizes["requestBodySize"],
                    "response_bytes": sizes["responseHeadersSize"] + sizes["responseBodySize"],
                }
            )
        browser.close()
    total = sum(t["request_bytes"] + t["response_bytes"] for t in trips)
    return {
        "measured_in": "chromium",
        "round_trips": trips,
        "total_bytes": total,
        "budget_bytes": SALE_BUDGET,
        "within_budget": total <= SALE_BUDGET,
    }


def _sale_with_http(client: RegisterClient, fixture: Fixture) -> dict:
    """One sale's two round trips (member lookup, sale) over HTTP as htmx sends them, with a
    browser's headers (Accept-Encoding included): the bytes each way, and each answer's body as
    it came (compressed or not) and its headers, against the budget of issue 17 (point 9)."""
    htmx = {k: v for k, v in BROWSER_HEADERS.items() if k.startswith("HX-")} | {
        "X-CSRFToken": client.csrf
    }
    identify = client.request(
        "POST", "/caisse/membre", {"number": fixture.members[0][1], "card": ""}, htmx
    )
    fields = {
        name: re.search(rf'data-{name}="([^"]*)"', identify.body).group(1)
        for name in ("member", "key")
    }
    form = client.sale_form(fields, 1250)
    del form["csrf_token"]  # htmx sends the token as the X-CSRFToken header (hx-params)
    debit = client.debit(form, headers=htmx)
    if "data-sale-done" not in debit.body:
        raise RuntimeError(f"the weighed sale answered {debit.status}: {debit.body[:200]}")
    trips = [
        {"url": url, **_answer_weight(answer)}
        for url, answer in (("/caisse/membre", identify), ("/caisse/debit", debit))
    ]
    total = sum(t["request_bytes"] + t["response_bytes"] for t in trips)
    return {
        "measured_in": "http.client with browser headers",
        "round_trips": trips,
        "total_bytes": total,
        "budget_bytes": SALE_BUDGET,
        "within_budget": total <= SALE_BUDGET,
        "answer_body_budget_bytes": ANSWER_BODY_BUDGET,
        "answer_bodies_within_budget": all(
            t["response_body_bytes"] <= ANSWER_BODY_BUDGET for t in trips
        ),
    }


def _answer_weight(answer) -> dict:
    """An answer's bytes: its body on the wire (as the server encoded it), its headers, and what
    the body would weigh in gzip and brotli (a body under COMPRESS_MIN_SIZE is sent plain)."""
    import brotli

    raw = answer.body.encode()
    return {
        "status": answer.status,
        "request_bytes": answer.request_bytes,
        "response_bytes": answer.response_bytes,
        "response_header_bytes": answer.response_bytes - answer.body_bytes,
        "response_body_bytes": answer.body_bytes,
        "content_encoding": answer.encoding or "identity",
        "body_raw_bytes": len(raw),
        "body_gzip_bytes": len(gzip.compress(raw, 6)),
        "body_br_bytes": len(brotli.compress(raw, quality=5)),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m bench.register", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    # One thread per worker: on SQLite one writer at a time, and a thread holding the write lock
    # should not wait for the GIL behind its siblings (more threads measured slower, bench/README).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the floor (tests/support/floor_app.py)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of register and floor sales phases, back to back, per engine",
    )
    parser.add_argument(
        "--paced-rate", type=float, default=2.0, help="sales per second per client, paced phase"
    )
    parser.add_argument(
        "--profile", action="store_true", help="only profile sales in this process (cProfile)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        text = profile_sale()
        print(text)
        return {"profile": text}
    results = {
        "benchmark": "register",
        "clients": args.clients,
        "seconds": args.seconds,
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, production settings",
        "engines": {},
    }
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            results["engines"]["sqlite"] = bench_engine(
                f"sqlite:///{directory}/bench.sqlite3",
                clients=args.clients,
                seconds=args.seconds,
                workers=args.workers,
                threads=args.threads,
                paced_rate=args.paced_rate,
                floor_rounds=0 if args.no_floor else args.rounds,
            )
    if args.engine in ("postgresql", "both"):
        if os.environ.get("TEST_DATABASE_URL"):
            url, drop = create_postgres_database(os.environ["TEST_DATABASE_URL"])
            try:
                results["engines"]["postgresql"] = bench_engine(
                    url,
                    clients=args.clients,
                    seconds=args.seconds,
                    workers=args.workers,
                    threads=args.threads,
                    paced_rate=args.paced_rate,
                    floor_rounds=0 if args.no_floor else args.rounds,
                )
            finally:
                drop()
        else:
            results["engines"]["postgresql"] = "skipped: TEST_DATABASE_URL is not set"
    results["cpu_per_request"] = cpu_per_request()
    results.update(first_load_and_sale_bytes())
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    (RESULTS / "register.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    for engine, figures in results["engines"].items():
        if isinstance(figures, dict):
            sale = figures["sales"]
            paced = figures["paced"]
            print(
                f"{engine}: {figures['sales_per_second']} sales/s, ratio to /healthz {figures['ratio_to_healthz']}, "
                f"p50 {sale['p50_ms']} ms, p99 {sale['p99_ms']} ms, errors {sale['errors']}, "
                f"/healthz {figures['healthz']['per_second']}/s; at {paced['per_second']} sales/s "
                f"({args.clients} x {paced['per_client_per_second']}/s): p50 {paced['p50_ms']} ms, "
                f"p99 {paced['p99_ms']} ms, errors {paced['errors']}",
                file=sys.stderr,
            )
            if figures["cpu_bound_ratio"]:
                health = figures["healthz"]
                print(
                    f"{engine}: CPU per request at saturation: sale {sale.get('server_cpu_ms_per_request')} ms in "
                    f"gunicorn, {sale['machine_cpu_ms_per_request']} ms for the machine; /healthz "
                    f"{health.get('server_cpu_ms_per_request')} ms, {health['machine_cpu_ms_per_request']} ms: "
                    f"a CPU-bound machine cannot exceed a ratio of {figures['cpu_bound_ratio']}",
                    file=sys.stderr,
                )
    for engine, figures in results["engines"].items():
        if isinstance(figures, dict) and figures.get("floor_rounds"):
            floor = figures["floor"]
            print(
                f"{engine}: floor (tests/support/floor_app.py on SQLite, the least a signed-in CSRF-checked sale "
                f"costs in this stack): {floor['sales_per_second']} sales/s, ratio to its /healthz "
                f"{floor['ratio_to_healthz']}, p99 {floor['sales']['p99_ms']} ms; rounds register/floor: "
                + ", ".join(
                    f"{r['register_sales_per_second']}/{r['floor_sales_per_second']}"
                    for r in figures["floor_rounds"]
                )
                + f"; the register makes {figures['share_of_floor']:.0%} of the floor's sales/s (median; "
                f"{figures['share_of_floor_range'][0]:.0%}-{figures['share_of_floor_range'][1]:.0%}; "
                f"target on SQLite: 75 %)",
                file=sys.stderr,
            )
    cpu = results["cpu_per_request"]
    print(
        f"app CPU per request (one thread, no HTTP): sale {cpu['sale_cpu_ms']} ms, /healthz {cpu['healthz_cpu_ms']} ms; "
        f"the floor's sale {cpu['floor_sale_cpu_ms']} ms, its /healthz {cpu['floor_healthz_cpu_ms']} ms",
        file=sys.stderr,
    )
    for trip in results["answers"]["round_trips"]:
        print(
            f"{trip['url']}: answer body {trip['response_body_bytes']:,} bytes on the wire "
            f"({trip['content_encoding']}; raw {trip['body_raw_bytes']:,}, gzip {trip['body_gzip_bytes']:,}, "
            f"br {trip['body_br_bytes']:,}), headers {trip['response_header_bytes']:,}, request {trip['request_bytes']:,} "
            f"(budget for the body: {ANSWER_BODY_BUDGET:,})",
            file=sys.stderr,
        )
    print(
        f"/caisse first load: {results['first_load']['gzip_bytes']:,} bytes gzip (budget {FIRST_LOAD_BUDGET:,}); "
        f"one sale: {results['one_sale']['total_bytes']:,} bytes on the wire (budget {SALE_BUDGET:,})",
        file=sys.stderr,
    )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
