"""The backups' budget: `flask ssa backup` of a database with 1,000,000 transfers (seconds, peak
memory, size of the copy), and the p99 of `/` during the backup against without it. Printed, and
written to bench/results/backup.json; nothing here is a timed assertion.

The database is bench/backoffice.py's (`build_dataset`: 1,000,000 sales and 10,000 members in a
SQLite file). The backup runs as an operator runs it, `flask ssa backup --to DIR` in a process of
its own, whose peak RSS is measured (children included: `pg_dump` on PostgreSQL). `/` is asked
by 4 clients of a gunicorn with the production settings, first for `--seconds` alone, then for
as long as the backup lasts.

Only SQLite is measured here for now (the 1M builder writes SQLite only).

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
    print(json.dumps(results, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backup.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
