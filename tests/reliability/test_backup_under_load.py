"""`flask ssa backup` while the register is under load, then `flask ssa restore` of that copy
into a fresh database: every sale the tablets were told was made before the backup began is in
the copy, the copy holds no sale the server did not make, and verify-ledger passes on it. Against
a real server (gunicorn, production settings), on a file SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from tests.support.apps import require
from tests.support.register_server import (
    ROOT,
    create_postgres_database,
    prepare_database,
    production_env,
    start_server,
)
from tests.support.tablets import Tally, ledger_rows, new_key, tablet_session

pytestmark = pytest.mark.slow

CLIENTS = 8
MEMBERS = 10
BALANCE_CENTS = 1_000_00  # no member runs dry: the load lasts


def flask(database_url: str, *args: str) -> subprocess.CompletedProcess:
    """`flask ssa ...` on that database, as an operator (or cron) would run it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi.py",
        "FLASK_CONFIG": "testing",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "ssa", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_tablet(index, base_url, fixture, tally: Tally, stop: threading.Event) -> None:
    cashier_id, email = fixture.cashiers[index % len(fixture.cashiers)]
    client, refs = tablet_session(base_url, email, fixture.members)
    members = list(refs)
    n = 0
    while not stop.is_set():
        member_id = members[(index + n) % len(members)]
        cents = 5 + (n % 50)
        form = client.sale_form(refs[member_id], cents, "", key=new_key())
        answer = client.debit(form)
        tally.record(cashier_id, form["key"], member_id, cents, answer.status, answer.body)
        n += 1
    client.close()


def acknowledged(tally: Tally) -> set[str]:
    with tally.lock:
        return {
            f"sale:{cashier_id}:{key}"
            for (cashier_id, key), outcome in tally.sales.items()
            if any(status == 200 for status, _, _ in outcome.answers)
        }


@pytest.fixture
def restore_url(server_database_url, tmp_path):
    """An empty database of the same engine, for the restore."""
    if server_database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/restored.sqlite3"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set")
    url, drop = create_postgres_database(base)
    yield url
    drop()


def test_backup_during_load_holds_every_sale_acknowledged_before(
    server_database_url, restore_url, tmp_path
):
    env = production_env()
    fixture = prepare_database(
        server_database_url,
        cashiers=CLIENTS,
        members=MEMBERS,
        balance_cents=BALANCE_CENTS,
        pin_pepper=env["PIN_PEPPER"],
        merchants=CLIENTS,
    )
    server = start_server(server_database_url, env, workers=2, threads=4)
    tally, stop = Tally(), threading.Event()
    threads = [
        threading.Thread(target=run_tablet, args=(n, server.base_url, fixture, tally, stop))
        for n in range(CLIENTS)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged(tally)) < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        before = acknowledged(tally)
        taken = flask(server_database_url, "backup", "--to", str(tmp_path / "copies"))
        during = acknowledged(tally)
        time.sleep(1)  # a little load after the copy, so the copy is not the final state
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        server.stop()
    assert not any(thread.is_alive() for thread in threads), "a tablet hung"
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert len(before) >= 200
    final = acknowledged(tally)
    assert len(final) > len(during), "the load stopped before the backup ended"
    (copy,) = [p for p in (tmp_path / "copies").iterdir() if p.name.startswith("patias-")]

    restored = flask(restore_url, "restore", str(copy))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Ledger OK" in restored.stdout
    purchases, _ = ledger_rows(restore_url)
    missing = before - set(purchases)
    assert not missing, f"{len(missing)} sale(s) acknowledged before the backup are not in it"
    source, _ = ledger_rows(server_database_url)
    assert set(purchases) <= set(source) and set(source) == final
    check = flask(restore_url, "verify-ledger")
    assert check.returncode == 0, check.stdout + check.stderr
