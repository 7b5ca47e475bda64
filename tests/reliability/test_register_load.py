"""The register under load against a real server: gunicorn with the production settings, on a
file SQLite and on PostgreSQL. 16 cashiers' tablets make 200 sales each over 10 members, and 10 %
of the sales are sent again with the same key (half after the answer, as a retry after a
timeout; half at the same moment, as a double tap through two connections).

Afterwards: no server error, every acknowledged sale in the ledger exactly once and nothing
else, each retry answered with the same receipt, no balance below zero, each member's balance
equal to what the tablets were told, `flask ssa verify-ledger` passes, and no PIN in the log.
"""

from __future__ import annotations

import os
import random
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text

from bench.register import (
    RegisterClient,
    Unanswered,
    create_postgres_database,
    new_key,
    prepare_database,
    production_env,
    start_server,
    verify_ledger,
)
from tests.support.apps import require

pytestmark = pytest.mark.slow

CLIENTS = 16
SALES_PER_CLIENT = 200
MEMBERS = 10
RETRY_RATE = 0.10
# 100 € each, sales of 5 to 60 cents: about 104 € asked of each member, so that some run dry
# near the end and the conditional debit refuses under contention too.
BALANCE_CENTS = 100_00
_REFERENCE = re.compile(r'class="reg-ref">([^<]+)<')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of this test's own (the suite's shared databases are not touched)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/register-load.sqlite3"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set: PostgreSQL load test skipped")
    url, drop = create_postgres_database(base)
    yield url
    drop()


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


def run_tablet(index: int, base_url: str, fixture, tally: Tally, sales: int) -> None:
    cashier_id, email = fixture.cashiers[index % len(fixture.cashiers)]
    client, refs = tablet_session(base_url, email, fixture.members)
    twin = twin_of(client)
    rng = random.Random(index)
    for _ in range(sales):
        member_id = rng.choice(list(refs))
        cents = rng.randint(5, 60)
        form = client.sale_form(
            refs[member_id], cents, rng.choice([*fixture.category_ids, ""]), key=new_key()
        )
        retry = rng.random() < RETRY_RATE
        if retry and rng.random() < 0.5:
            # Both at once: the second reaches the server while the first may still be working.
            answers: list = [None, None]

            def send(slot: int, connection: RegisterClient, answers=answers, form=form) -> None:
                try:
                    answers[slot] = connection.debit(form)
                except Unanswered as exc:
                    answers[slot] = exc

            threads = [
                threading.Thread(target=send, args=(n, c)) for n, c in enumerate((client, twin))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            answers = [_send(client, form)]
            if retry:
                answers.append(_send(client, form))
        for answer in answers:
            if isinstance(answer, Unanswered):
                with tally.lock:
                    tally.unanswered.append(str(answer))
            else:
                tally.record(cashier_id, form["key"], member_id, cents, answer.status, answer.body)
    client.close()
    twin.close()


def _send(client: RegisterClient, form: dict):
    try:
        return client.debit(form)
    except Unanswered as exc:
        return exc


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


def test_sixteen_tablets_never_charge_twice(database_url):
    env = production_env()
    # One tablet per stall, as at a market: the members are the shared rows here.
    fixture = prepare_database(
        database_url,
        cashiers=CLIENTS,
        members=MEMBERS,
        balance_cents=BALANCE_CENTS,
        pin_pepper=env["PIN_PEPPER"],
        merchants=CLIENTS,
    )
    server = start_server(database_url, env, workers=2, threads=8)
    tally = Tally()
    try:
        threads = [
            threading.Thread(
                target=run_tablet, args=(n, server.base_url, fixture, tally, SALES_PER_CLIENT)
            )
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert not any(thread.is_alive() for thread in threads), "a tablet hung"
    finally:
        server.stop()
    log = server.log()
    assert tally.unanswered == [], tally.unanswered[:5]
    errors = [answers for o in tally.sales.values() for answers in o.answers if answers[0] >= 500]
    assert errors == [], errors[:3]
    assert len(tally.sales) == CLIENTS * SALES_PER_CLIENT
    retried = sum(1 for o in tally.sales.values() if len(o.answers) > 1)
    assert retried >= CLIENTS * SALES_PER_CLIENT * RETRY_RATE * 0.7
    refused = sum(1 for o in tally.sales.values() if o.answers[0][0] == 422)
    figures = check_ledger_matches(tally, fixture, database_url, env)
    assert figures["acknowledged"] + refused == CLIENTS * SALES_PER_CLIENT
    assert figures["acknowledged"] > CLIENTS * SALES_PER_CLIENT * 0.5
    # The access log records requests, never the form bodies: no PIN.
    assert "POST /caisse/debit" in log
    assert "pin=" not in log and "Traceback" not in log
