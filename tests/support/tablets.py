"""A cashier's tablet over HTTP against the real server (`RegisterClient`: one keep-alive
connection, the session cookie, the CSRF token, the sale as htmx sends it), and what the load and
crash tests check afterwards: what the tablets were told (`Tally`) against the ledger's rows."""

from __future__ import annotations

import gzip
import http.client
import re
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from sqlalchemy import create_engine, text

from tests.support.register_server import PASSWORD, PIN, verify_ledger

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
    body_bytes: int = 0  # the body as it came over the wire (compressed when it was)
    encoding: str = ""  # its Content-Encoding


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
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
        encoding = (response.getheader("Content-Encoding") or "").lower()
        return Answer(
            response.status,
            decode_body(data, encoding).decode("utf-8", "replace"),
            seconds,
            request_bytes,
            response_bytes,
            len(data),
            encoding,
        )

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.request("GET", "/connexion")
        token = CSRF.search(page.body).group(1)
        answer = self.request(
            "POST", "/connexion", {"login": email, "password": password, "csrf_token": token}
        )
        if answer.status not in (302, 303):
            raise RuntimeError(f"login of {email} answered {answer.status}")
        register = self.request("GET", "/caisse")
        if register.status != 200:
            raise RuntimeError(f"/caisse answered {register.status}")
        self.csrf = CSRF.search(register.body).group(1)

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


def decode_body(data: bytes, encoding: str) -> bytes:
    """A body as sent with `Content-Encoding` (the server compresses for a client that sends
    Accept-Encoding, as a browser does), decoded."""
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        import brotli

        return brotli.decompress(data)
    return data


def new_key() -> str:
    """A key as the server makes them: the server only uses it to recognise a retry."""
    return secrets.token_urlsafe(16)


# --- what the tablets were told, against the ledger --------------------------------------------


_REFERENCE = re.compile(r'class="reg-ref">([^<]+)<')


@dataclass
class Outcome:
    """What the tablets were told, per sale (cashier, key)."""

    member_id: int
    cents: int
    answers: list = field(default_factory=list)  # (status, receipt reference or None)


@dataclass
class Tally:
    sales: dict = field(default_factory=dict)  # (cashier id, key) -> Outcome
    unanswered: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, cashier_id: int, key: str, member_id: int, cents: int, status: int, body: str
    ) -> None:
        reference = _REFERENCE.search(body)
        with self.lock:
            outcome = self.sales.setdefault((cashier_id, key), Outcome(member_id, cents))
            detail = (
                body[:500]
                if status >= 500
                else "balance too low"
                if 'class="reg-short"' in body
                else ""
            )
            outcome.answers.append((status, reference.group(1) if reference else None, detail))


def tablet_session(
    base_url: str, email: str, members: list[tuple[int, str]]
) -> tuple[RegisterClient, dict]:
    client = RegisterClient(base_url)
    client.login(email)
    return client, {member_id: client.identify(number)[0] for member_id, number in members}


def twin_of(client: RegisterClient) -> RegisterClient:
    """A second connection of the same tablet (same session cookie and CSRF token)."""
    twin = RegisterClient(client.base_url, cookies=dict(client.cookies))
    twin.csrf = client.csrf
    return twin


def ledger_rows(database_url: str) -> tuple[dict, dict]:
    """Purchases by idempotency key, and the balances of member accounts by member id."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        purchases = {
            key: (amount, member_id, reference)
            for key, amount, member_id, reference in connection.execute(
                text(
                    "SELECT t.idempotency_key, t.amount_cents, a.member_id, t.reference FROM transfer t"
                    " JOIN account a ON a.id = t.source_id WHERE t.kind = 'purchase'"
                )
            )
        }
        balances = dict(
            connection.execute(
                text("SELECT member_id, balance_cents FROM account WHERE kind = 'member'")
            ).all()
        )
        negative = connection.execute(
            text("SELECT count(*) FROM account WHERE kind <> 'system' AND balance_cents < 0")
        ).scalar_one()
    engine.dispose()
    assert negative == 0, f"{negative} account(s) below zero"
    return purchases, balances


def check_ledger_matches(tally: Tally, fixture, database_url: str, env: dict) -> dict:
    """Every acknowledged sale once, nothing else; balances as told; the ledger's invariants."""
    purchases, balances = ledger_rows(database_url)
    acknowledged = {}
    spent = defaultdict(int)
    for (cashier_id, key), outcome in tally.sales.items():
        statuses = {status for status, _, _ in outcome.answers}
        references = {reference for status, reference, _ in outcome.answers if status == 200}
        assert statuses <= {200, 422}, f"unexpected answers for {key}: {outcome.answers}"
        assert all(
            detail == "balance too low" for status, _, detail in outcome.answers if status == 422
        ), outcome.answers
        assert len(references) <= 1, f"one key, two receipts: {references}"
        stored = f"sale:{cashier_id}:{key}"
        if 200 in statuses:
            acknowledged[stored] = outcome
            spent[outcome.member_id] += outcome.cents
            amount, member_id, reference = purchases.get(stored, (None, None, None))
            assert (amount, member_id, reference) == (
                outcome.cents,
                outcome.member_id,
                references.pop(),
            ), stored
        else:
            assert stored not in purchases, f"refused sale {stored} is in the ledger"
    assert set(purchases) == set(acknowledged), (
        "the ledger and the tablets disagree on which sales were made"
    )
    for member_id, _ in fixture.members:
        assert balances[member_id] == fixture.balance_cents - spent[member_id], (
            f"member {member_id}"
        )
    check = verify_ledger(database_url, {"PIN_PEPPER": env["PIN_PEPPER"]})
    assert check.returncode == 0, check.stdout + check.stderr
    return {"acknowledged": len(acknowledged), "purchases": len(purchases)}
