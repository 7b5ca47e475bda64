"""The register's budget: the full sale POST against /healthz on the same gunicorn server.

gunicorn runs the production settings (FLASK_CONFIG=production, a generated SECRET_KEY and
PIN_PEPPER, SESSION_COOKIE_SECURE=false because the bench speaks plain http). 16 clients,
each a signed-in cashier, post complete sales (CSRF token, member reference, amount, category,
PIN; the ledger's conditional debit) as fast as they can; then the same clients hit /healthz,
which touches no database. Printed: sales/s, the ratio to /healthz, p50/p99 latency, errors,
on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL, with the CPU each request cost
during each phase (the gunicorn processes', and the whole machine's with the clients and the
database server): at saturation the machine is CPU-bound, and the ratio is about the quotient
of the two machine figures. Then the floor: the same two saturated phases against
`bench/_floor_app.py`, the least a signed-in, CSRF-checked sale committed to SQLite can cost in
this stack (no ORM, no PIN, no member checks), so that the register's ratio can be read against
what the stack allows on the machine at hand. Then the app's own CPU for one sale and one
/healthz in a single thread without HTTP (`cpu_per_request`). Also: the /caisse first-load
weight (gzip) and the bytes of one sale's round trips (identify + debit) as an htmx browser
sends them.

Targets (issue 4): ratio >= 0.5 and p99 <= 50 ms on SQLite; first load <= 60 KB compressed;
one sale's round trips <= 5 KB.

Run: `python -m bench.register` (or `make bench`). Options: --seconds N, --clients N,
--workers N, --threads N, --engine sqlite|postgresql|both, --no-floor. Writes bench/results/register.json.

The server launcher, the database preparation and the HTTP client are also used by
tests/reliability/test_register_load.py and test_register_crash.py.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "patias-demo"
PIN = "4826"
FIRST_LOAD_BUDGET = 60_000
SALE_BUDGET = 5_000
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


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn started in its own process group, so that a crash test can kill all of it."""

    process: subprocess.Popen
    base_url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def kill(self) -> None:
        """kill -9 of the master and every worker, mid-request."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )


def start_server(
    database_url: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    threads: int = 8,
    factory: str = "create_app()",
    port: int | None = None,
    log_path: Path | None = None,
    access_log: bool = True,
    module: str = "app",
) -> Server:
    """Start gunicorn on `database_url` and wait until /healthz answers."""
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkstemp(prefix="register-server-", suffix=".log")[1])
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--graceful-timeout",
        "5",
        "--timeout",
        "60",
    ]
    if access_log:
        command += ["--access-logfile", "-"]
    command.append(f"{module}:{factory}")
    environment = {**os.environ, **env, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    handle = open(log_path, "ab")  # noqa: SIM115 - the server writes to it until it stops
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {process.returncode}:\n{server.log()[-3000:]}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    server.stop()
    raise RuntimeError(f"gunicorn did not answer /healthz:\n{server.log()[-3000:]}")


def production_env() -> dict[str, str]:
    return {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PIN_PEPPER": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": "false",
        "MAIL_BACKEND": "console",
    }


# --- the database ----------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the clients need to know about the prepared database."""

    cashiers: list[tuple[int, str]]  # (user id, e-mail)
    members: list[tuple[int, str]]  # (member id, number)
    balance_cents: int
    category_ids: list[int]


def prepare_database(
    database_url: str,
    *,
    cashiers: int,
    members: int,
    balance_cents: int,
    pin_pepper: str,
    merchants: int = 4,
) -> Fixture:
    """Schema, reference data, conventioned merchants with cashiers, members with a balance."""
    from app import create_app
    from app.core.extensions import db
    from app.demo.association import load_reference_data
    from app.ledger import transfers as ledger
    from app.members import cards
    from app.members.auth import hash_password
    from app.members.models import Member, User
    from app.merchants.models import Category, Merchant

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, PIN_PEPPER=pin_pepper)
    with app.app_context():
        db.create_all()
        load_reference_data()
        categories = list(db.session.scalars(db.select(Category).order_by(Category.id)))[:2]
        shops = []
        from datetime import date

        from app.members.models import Commune

        commune = db.session.scalars(db.select(Commune)).first()
        for n in range(merchants):
            shop = Merchant(
                name=f"Bench {n}",
                kind="producer",
                commune_id=commune.id,
                status="active",
                conventioned_since=date(2025, 1, 1),
                categories=categories,
            )
            db.session.add(shop)
            shops.append(shop)
        db.session.flush()
        password = hash_password(PASSWORD)
        users = []
        for n in range(cashiers):
            user = User(
                email=f"bench-caisse{n}@patias.test",
                password_hash=password,
                role="cashier",
                display_name=f"Caisse {n}",
                merchant_id=shops[n % merchants].id,
            )
            db.session.add(user)
            users.append(user)
        people = []
        for n in range(members):
            user = User(
                email=f"bench-membre{n}@patias.test",
                password_hash="",
                role="member",
                display_name=f"M{n}",
            )
            db.session.add(user)
            db.session.flush()
            member = Member(
                number=cards.member_number(n + 1),
                pseudonym=f"m-bench{n:06d}",
                user_id=user.id,
                first_name=f"Membre{n}",
                last_name="Banc",
                status="active",
                card_token=cards.new_card_token(),
                pin_hash=cards.hash_pin(PIN),
            )
            db.session.add(member)
            people.append(member)
        db.session.flush()
        for member in people:
            ledger.transfer(
                source=ledger.system_account("caisse"),
                destination=ledger.member_account(member),
                amount_cents=balance_cents,
                kind="allocation",
                period="2099-01",
            )
        db.session.commit()
        fixture = Fixture(
            cashiers=[(u.id, u.email) for u in users],
            members=[(m.id, m.number) for m in people],
            balance_cents=balance_cents,
            category_ids=[c.id for c in categories],
        )
        db.session.remove()
        db.engine.dispose()
    return fixture


def create_postgres_database(base_url: str) -> tuple[str, callable]:
    """A new empty PostgreSQL database on the server of `base_url`, and a function that drops it."""
    import psycopg
    from sqlalchemy import make_url

    url = make_url(base_url)
    name = f"patias_register_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def verify_ledger(
    database_url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`flask ssa verify-ledger` on that database, as an operator would run it."""
    environment = {
        **os.environ,
        **(env or {}),
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi.py",
        "FLASK_CONFIG": "testing",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "ssa", "verify-ledger"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the client ------------------------------------------------------------------------------


class Unanswered(Exception):
    """The request got no HTTP answer (timeout, connection refused or reset): outcome unknown."""


@dataclass
class Answer:
    status: int
    body: str
    seconds: float
    request_bytes: int
    response_bytes: int


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HTMX = {"HX-Request": "true"}


@dataclass
class RegisterClient:
    """A cashier's tablet: one keep-alive connection, the session cookie, the CSRF token."""

    base_url: str
    timeout: float = 30.0
    extra_headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    csrf: str = ""

    def __post_init__(self):
        self.requests_sent = 0
        parts = urlsplit(self.base_url)
        self.host, self.port = parts.hostname, parts.port
        self.connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> Answer:
        body = urlencode(form).encode() if form is not None else b""
        sent = {**self.extra_headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Content-Length"] = str(len(body))
            sent["Origin"] = self.base_url
        sent["Referer"] = self.base_url + "/caisse"
        sent["Host"] = f"{self.host}:{self.port}"
        request_bytes = (
            len(f"{method} {path} HTTP/1.1\r\n")
            + sum(len(f"{k}: {v}\r\n") for k, v in sent.items())
            + 2
            + len(body)
        )
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = self.connection is not None
            connection = self._connect()
            try:
                connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for key, value in sent.items():
                    connection.putheader(key, value)
                connection.endheaders(body or None)
                response = connection.getresponse()
                data = response.read()
                self.requests_sent += 1
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                # A keep-alive connection that the server closed while it was idle: send again
                # once on a new connection, as browsers do. Safe for the register's money forms
                # too, since a resent sale carries its key and cannot be charged twice.
                if attempt == 2 or not reused:
                    raise Unanswered(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise Unanswered(str(exc)) from exc
        seconds = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        response_bytes = (
            len(f"HTTP/1.1 {response.status} {response.reason}\r\n")
            + sum(len(f"{k}: {v}\r\n") for k, v in response.getheaders())
            + 2
            + len(data)
        )
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Answer(
            response.status, data.decode("utf-8", "replace"), seconds, request_bytes, response_bytes
        )

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.request("GET", "/connexion")
        token = _CSRF.search(page.body).group(1)
        answer = self.request(
            "POST", "/connexion", {"login": email, "password": password, "csrf_token": token}
        )
        if answer.status not in (302, 303):
            raise RuntimeError(f"login of {email} answered {answer.status}")
        register = self.request("GET", "/caisse")
        if register.status != 200:
            raise RuntimeError(f"/caisse answered {register.status}")
        self.csrf = _CSRF.search(register.body).group(1)

    def identify(self, number: str) -> tuple[dict, Answer]:
        """Step 1 as htmx does it: the member reference and a server-made key."""
        answer = self.request(
            "POST", "/caisse/membre", {"number": number, "csrf_token": self.csrf}, HTMX
        )
        if answer.status != 200:
            raise RuntimeError(f"identify {number} answered {answer.status}: {answer.body[:300]}")
        fields = {
            name: re.search(rf'data-{name}="([^"]*)"', answer.body).group(1)
            for name in ("member", "key")
        }
        return fields, answer

    def sale_form(
        self,
        fields: dict,
        cents: int,
        category: int | str = "",
        pin: str = PIN,
        key: str | None = None,
    ) -> dict:
        return {
            "csrf_token": self.csrf,
            "member": fields["member"],
            "key": key or fields["key"],
            "amount": f"{cents // 100},{cents % 100:02d}",
            "category": str(category),
            "pin": pin,
        }

    def debit(self, form: dict, headers: dict | None = None) -> Answer:
        return self.request("POST", "/caisse/debit", form, {**HTMX, **(headers or {})})


def new_key() -> str:
    """A key as the server makes them: the server only uses it to recognise a retry."""
    return secrets.token_urlsafe(16)


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
) -> dict:
    """Saturation (every client as fast as it can) for sales and /healthz, then the latency of
    sales at a steady `paced_rate` sales per second per client."""
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

        phases = saturated_phases(server, [client for client, _ in tablets], seconds, sales)
        paced = run_clients(
            clients, seconds, lambda index, stop: sales(index, stop, pace=1.0 / paced_rate)
        )
        for client, _ in tablets:
            client.close()
    finally:
        server.stop()
    check = verify_ledger(database_url, {"PIN_PEPPER": env["PIN_PEPPER"]})
    sale, healthz = phases["sales"], phases["healthz"]
    return {
        **phases,
        "paced": {"per_client_per_second": paced_rate, **paced},
        "cpu_bound_ratio": (
            round(healthz["machine_cpu_ms_per_request"] / sale["machine_cpu_ms_per_request"], 3)
            if sale.get("machine_cpu_ms_per_request") and healthz.get("machine_cpu_ms_per_request")
            else None
        ),
        "verify_ledger_ok": check.returncode == 0,
    }


def bench_floor(*, clients: int, seconds: float, workers: int, threads: int) -> dict:
    """The same two saturated phases against `bench/_floor_app.py`, served the same way: the
    least a signed-in, CSRF-checked sale committed to SQLite can cost in this stack (Flask,
    Flask-Login, Flask-WTF, gunicorn), without the ORM, the PIN, the member's checks or the
    audit. The register's ratio cannot be expected above the floor's."""
    from bench import _floor_app

    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/floor.sqlite3"
        _floor_app.create_database(path, accounts=10, balance=10_000_000_000)
        env = {"SECRET_KEY": secrets.token_urlsafe(48), "FLOOR_DATABASE": path}
        server = start_server(
            f"sqlite:///{path}",
            env,
            workers=workers,
            threads=threads,
            access_log=False,
            module="bench._floor_app",
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

            phases = saturated_phases(server, tablets, seconds, sales)
            for client in tablets:
                client.close()
        finally:
            server.stop()
    return phases


def cpu_per_request(requests: int = 300) -> dict:
    """The app's own CPU per request, in one thread, through the WSGI app (no HTTP, no gunicorn,
    no other process): a full sale against /healthz. Where a sale's time goes, without the
    HTTP server and the clients that the saturated phases also pay for."""
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
        token = _CSRF.search(client.get("/connexion").get_data(as_text=True)).group(1)
        client.post(
            "/connexion",
            data={"login": fixture.cashiers[0][1], "password": PASSWORD, "csrf_token": token},
        )
        token = _CSRF.search(client.get("/caisse").get_data(as_text=True)).group(1)
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

        figures = {}
        for name, call in (("healthz", health), ("sale", sale)):
            for n in range(30):  # warm-up: caches, compiled statements
                call(n)
            started = time.process_time()
            for n in range(requests):
                call(n)
            figures[f"{name}_cpu_ms"] = round((time.process_time() - started) / requests * 1000, 2)
        app_log.setLevel(logging_level)
        from app.core.extensions import db

        with app.app_context():
            db.engine.dispose()
    figures["requests_each"] = requests
    return figures


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
            sale = _sale_in_chromium(server.base_url, fixture) or _sale_with_http(client, fixture)
            client.close()
        finally:
            server.stop()
    return {"first_load": load, "one_sale": sale}


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
    htmx = {k: v for k, v in BROWSER_HEADERS.items() if k.startswith("HX-")} | {
        "X-CSRFToken": client.csrf
    }
    answer = client.request(
        "POST", "/caisse/membre", {"number": fixture.members[0][1], "card": ""}, htmx
    )
    fields = {
        name: re.search(rf'data-{name}="([^"]*)"', answer.body).group(1)
        for name in ("member", "key")
    }
    identify = answer
    form = client.sale_form(fields, 1250)
    del form["csrf_token"]  # htmx sends the token as the X-CSRFToken header (hx-params)
    debit = client.debit(form, headers=htmx)
    trips = [
        {
            "url": "/caisse/membre",
            "request_bytes": identify.request_bytes,
            "response_bytes": identify.response_bytes,
        },
        {
            "url": "/caisse/debit",
            "request_bytes": debit.request_bytes,
            "response_bytes": debit.response_bytes,
        },
    ]
    total = sum(t["request_bytes"] + t["response_bytes"] for t in trips)
    return {
        "measured_in": "http.client with browser headers",
        "round_trips": trips,
        "total_bytes": total,
        "budget_bytes": SALE_BUDGET,
        "within_budget": total <= SALE_BUDGET,
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
        "--no-floor", action="store_true", help="skip the floor (bench/_floor_app.py)"
    )
    parser.add_argument(
        "--paced-rate", type=float, default=2.0, help="sales per second per client, paced phase"
    )
    args = parser.parse_args(argv)
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
                )
            finally:
                drop()
        else:
            results["engines"]["postgresql"] = "skipped: TEST_DATABASE_URL is not set"
    if not args.no_floor:
        results["floor"] = bench_floor(
            clients=args.clients, seconds=args.seconds, workers=args.workers, threads=args.threads
        )
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
    if "floor" in results:
        floor = results["floor"]
        print(
            f"floor (bench/_floor_app.py, the least a signed-in CSRF-checked sale on SQLite costs in this stack): "
            f"{floor['sales_per_second']} sales/s, ratio to its /healthz {floor['ratio_to_healthz']}, "
            f"p99 {floor['sales']['p99_ms']} ms, errors {floor['sales']['errors'] + floor['healthz']['errors']}",
            file=sys.stderr,
        )
        sqlite = results["engines"].get("sqlite")
        if isinstance(sqlite, dict) and floor["sales_per_second"]:
            print(
                f"sqlite: the register makes {sqlite['sales_per_second'] / floor['sales_per_second']:.0%} of the "
                f"floor's sales/s",
                file=sys.stderr,
            )
    cpu = results["cpu_per_request"]
    print(
        f"app CPU per request (one thread, no HTTP): sale {cpu['sale_cpu_ms']} ms, /healthz {cpu['healthz_cpu_ms']} ms",
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
