"""kill -9 of the server in the middle of the sales, then a restart: the tablets send again every
sale whose answer never came, with its key. No acknowledged sale may be lost, none may be
charged twice, and the ledger's invariants hold (file SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.register_server import prepare_database, production_env, start_server
from tests.support.tablets import (
    RegisterClient,
    Tally,
    Unanswered,
    check_ledger_matches,
    new_key,
    tablet_session,
)

pytestmark = pytest.mark.slow

TABLETS = 8
MEMBERS = 10
BALANCE_CENTS = 100_00
KILL_AFTER_ACKNOWLEDGED = 150


def test_kill_9_loses_no_acknowledged_sale_and_charges_none_twice(server_database_url, tmp_path):
    env = production_env()
    fixture = prepare_database(
        server_database_url,
        cashiers=TABLETS,
        members=MEMBERS,
        balance_cents=BALANCE_CENTS,
        pin_pepper=env["PIN_PEPPER"],
    )
    log = tmp_path / "server.log"
    server = start_server(server_database_url, env, workers=2, threads=4, log_path=log)
    tally = Tally()
    unknown: list[
        tuple[int, RegisterClient, dict, int]
    ] = []  # (cashier id, tablet, form, member id)
    tablets = [
        tablet_session(server.base_url, fixture.cashiers[n][1], fixture.members)
        for n in range(TABLETS)
    ]
    acknowledged = threading.Semaphore(0)

    def sell(index: int) -> None:
        client, refs = tablets[index]
        cashier_id = fixture.cashiers[index][0]
        n = 0
        while True:
            member_id = list(refs)[(index + n) % len(refs)]
            cents = 5 + (index * 7 + n) % 40
            n += 1
            form = client.sale_form(refs[member_id], cents, key=new_key())
            try:
                answer = client.debit(form)
            except Unanswered:
                unknown.append((cashier_id, client, form, member_id))
                return  # the server is gone: this tablet waits for it
            tally.record(cashier_id, form["key"], member_id, cents, answer.status, answer.body)
            if answer.status == 200:
                acknowledged.release()

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(TABLETS)]
    for thread in threads:
        thread.start()
    for _ in range(KILL_AFTER_ACKNOWLEDGED):
        assert acknowledged.acquire(timeout=120), "the sales did not start"
    server.kill()  # SIGKILL to gunicorn's master and workers, requests in flight
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert unknown, "the server died without any sale in flight"
    sold_before = sum(1 for o in tally.sales.values() if o.answers[0][0] == 200)

    # Restart on the same database (a new port: the tablets follow); same keys, same sessions.
    restarted = start_server(server_database_url, env, workers=2, threads=4, log_path=log)
    try:
        for cashier_id, client, form, member_id in unknown:
            client.close()
            client.base_url = restarted.base_url
            client.port = int(restarted.base_url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 60
            while True:
                try:
                    answer = client.debit(form)
                    break
                except Unanswered:
                    assert time.monotonic() < deadline, "no answer after the restart"
                    time.sleep(0.2)
            cents = int(form["amount"].replace(",", ""))
            tally.record(cashier_id, form["key"], member_id, cents, answer.status, answer.body)
            client.close()
    finally:
        restarted.stop()
        for client, _ in tablets:
            client.close()
    statuses = [o.answers[-1][0] for o in tally.sales.values()]
    assert set(statuses) <= {200, 422}, statuses
    figures = check_ledger_matches(tally, fixture, server_database_url, env)
    assert figures["acknowledged"] >= sold_before >= KILL_AFTER_ACKNOWLEDGED
    assert "pin=" not in log.read_text(encoding="utf-8", errors="replace")
