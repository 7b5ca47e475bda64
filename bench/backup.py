"""The backups' budget: `flask ssa backup` of a database with 1,000,000 transfers (seconds, peak
memory, size of the copy), and the p99 of `/` during the backup against without it. Printed, and
written to bench/results/backup.json; nothing here is a timed assertion.

The database is bench/backoffice.py's (`build_dataset`: 1,000,000 sales and 10,000 members in a
SQLite file). The backup runs as an operator runs it, `flask ssa backup --to DIR` in a process of
its own, whose peak RSS is measured (children included: `pg_dump` on PostgreSQL). `/` is asked
by 4 clients of a gunicorn with the production settings, first for `--seconds` alone, then for
as long as the backup lasts.

With `TEST_DATABASE_URL` set, PostgreSQL too: the same rows, copied from the SQLite file
(COPY, table by table) into a database of its own, dropped afterwards.

Run: `python -m bench.backup` (options: --sales N, --members N, --seconds S, --quick: 100,000
sales).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.backoffice import RESULTS, ROOT, build_dataset
from tests.support.register_server import production_env, start_server

CLIENTS = 4
# Runs a command and prints its peak RSS in kB (RUSAGE_CHILDREN: the command and its children).
_PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
    " sys.exit(r.returncode)"
)


def _ask(base_url: str, stop: threading.Event, times: list[float]) -> None:
    host = base_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    while not stop.is_set():
        started = time.perf_counter()
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"/ answered {response.status}")
    connection.close()


def _load(base_url: str, while_running) -> tuple[list[float], object]:
    stop, times = threading.Event(), []
    threads = [
        threading.Thread(target=_ask, args=(base_url, stop, times), daemon=True)
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        result = while_running()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return times, result


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def _figures(times: list[float]) -> dict:
    return {
        "requests": len(times),
        "p50_ms": _p(times, 0.50),
        "p99_ms": _p(times, 0.99),
        "mean_ms": round(statistics.fmean(times) * 1000, 1),
    }


def _backup(database_url: str, directory: Path) -> dict:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi.py",
        "FLASK_CONFIG": "testing",
        "PYTHONPATH": str(ROOT),
    }
    command = [str(ROOT / ".venv" / "bin" / "flask"), "ssa", "backup", "--to", str(directory)]
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, *command],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    (copy,) = [p for p in directory.iterdir() if p.name.startswith("patias-")]
    return {
        "seconds": round(seconds, 2),
        "rss_peak_mb": round(int(result.stderr.strip().splitlines()[-1]) / 1024, 1),
        "copy_mb": round(copy.stat().st_size / 1e6, 1),
    }


def measure_sqlite(path: Path, seconds: float, tmp: Path) -> dict:
    url = f"sqlite:///{path}"
    alone = _backup(url, tmp / "alone")
    server = start_server(url, production_env(), workers=2, threads=4, access_log=False)
    try:
        quiet, _ = _load(server.base_url, lambda: time.sleep(seconds))
        during, figures = _load(server.base_url, lambda: _backup(url, tmp / "during"))
    finally:
        server.stop()
    return {
        "database_mb": round(path.stat().st_size / 1e6, 1),
        "backup_alone": alone,
        "backup_under_load": figures,
        "home_without_backup": _figures(quiet),
        "home_during_backup": _figures(during),
    }


def copy_to_postgresql(path: Path, base_url: str) -> tuple[str, callable]:
    """A new PostgreSQL database holding the rows of the SQLite file `path`."""
    import sqlite3

    import psycopg
    from sqlalchemy import make_url

    from app import create_app
    from app.core.extensions import db
    from tests.support.register_server import create_postgres_database

    url, drop = create_postgres_database(base_url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
        tables = [(t.name, [c.name for c in t.columns]) for t in db.metadata.sorted_tables]
        db.engine.dispose()
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    source = sqlite3.connect(path)
    with psycopg.connect(libpq) as target:
        target.execute("SET TIME ZONE 'UTC'")
        for name, columns in tables:
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = source.execute(f'SELECT {quoted} FROM "{name}"')
            with target.cursor().copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(["t" if v is True else v for v in row])
            if "id" in columns:
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'),"
                    f' coalesce((SELECT max(id) FROM "{name}"), 0) + 1, false)'
                    f" WHERE pg_get_serial_sequence('\"{name}\"', 'id') IS NOT NULL"
                )
        target.execute("ANALYZE")
    source.close()
    return url, drop


def measure_postgresql(path: Path, base_url: str, seconds: float, tmp: Path) -> dict:
    started = time.perf_counter()
    url, drop = copy_to_postgresql(path, base_url)
    try:
        figures = {"copy_seconds": round(time.perf_counter() - started, 1)}
        alone = _backup(url, tmp / "pg-alone")
        server = start_server(url, production_env(), workers=2, threads=4, access_log=False)
        try:
            quiet, _ = _load(server.base_url, lambda: time.sleep(seconds))
            during, loaded = _load(server.base_url, lambda: _backup(url, tmp / "pg-during"))
        finally:
            server.stop()
    finally:
        drop()
    return {
        **figures,
        "backup_alone": alone,
        "backup_under_load": loaded,
        "home_without_backup": _figures(quiet),
        "home_during_backup": _figures(during),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    args = parser.parse_args(argv)
    sales = 100_000 if args.quick else args.sales
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "backup.sqlite3"
        print(f"Building {sales:,} sales and {args.members:,} members ...", flush=True)
        dataset = build_dataset(path, members=args.members, sales=sales)
        print(f"  built in {dataset.build_seconds} s", flush=True)
        results = {
            "benchmark": "backup",
            "sales": dataset.sales,
            "members": dataset.members,
            "engines": {"sqlite": measure_sqlite(path, args.seconds, Path(tmp))},
        }
        if os.environ.get("TEST_DATABASE_URL"):
            results["engines"]["postgresql"] = measure_postgresql(
                path, os.environ["TEST_DATABASE_URL"], args.seconds, Path(tmp)
            )
    print(json.dumps(results, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backup.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
