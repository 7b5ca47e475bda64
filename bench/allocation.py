"""The monthly allocation's budget (issue 3): for 100,000 and 1,000,000 members, an allocation run
takes at most twice the time of a bare `INSERT ... SELECT` of the same rows in the same database, and at most 200 MB of peak memory. Printed as JSON and written to
bench/results/allocation.json; nothing here is a timed assertion.

Per engine (a temporary SQLite file; PostgreSQL in a database of its own when TEST_DATABASE_URL
is set) and per size, in this order:
- setup: N active members and their accounts, inserted with set-based SQL;
- `bare_insert_select`: the rows a month writes (N allocations; N allocations and N expiries for
  the capped month) into an unindexed, unconstrained copy of the transfer table;
- `insert_select_into_transfer`: the same rows into the transfer table itself, with its indexes,
  constraints and foreign keys, measured again before each month in the state that month finds
  (then deleted): the least an allocation can cost, since it must write those rows there. This
  is the reference of the target ("the same rows in the same database");
- `first_month`: the allocation of a month to members at 0 (credit, roll-over check, no expiry);
- `steady_month`: the next month (balances at one allocation: credit to the cap, no expiry);
- `capped_month`: the month after (every balance above the cap: N expiry rows as well, the worst
  case of the default rule);
- `rerun`: that month again (nothing to credit);
- `verify`: `ledger.verify()` over the 3 N transfers.
Each timed step runs in a fresh interpreter, so that its peak resident memory (`ru_maxrss`,
which counts SQLite's in-process page cache too) is its own; `python_peak_mb` is tracemalloc's
peak during the step.

Run: `python -m bench.allocation` (options: --sizes 100000,1000000, --quick for 10,000 and 50,000,
--engines sqlite,postgresql). BENCH_QUICK=1 in the environment also selects the small sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RATIO_TARGET = 2.0
MEMORY_TARGET_MB = 200
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000)
MONTHS = {
    "first_month": "2031-01",
    "steady_month": "2031-02",
    "capped_month": "2031-03",
    "rerun": "2031-03",
}


# --- in the worker process -----------------------------------------------------------------


def _app(url: str):
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=url)


def _literal_defaults(table) -> dict:
    """Values for the NOT NULL columns of `table` that have a constant Python-side default."""
    values = {}
    for column in table.columns:
        if column.primary_key or column.nullable or column.default is None:
            continue
        arg = column.default.arg
        if not callable(arg):
            values[column.name] = arg
    return values


def _setup(url: str, size: int) -> dict:
    """Schema, N active members and their accounts, with set-based SQL."""
    from sqlalchemy import text

    from app.core.extensions import db
    from app.ledger import allocation
    from app.ledger import transfers as ledger
    from app.members.models import Member

    app = _app(url)
    with app.app_context():
        db.create_all()
        postgresql = db.engine.dialect.name == "postgresql"
        ledger.system_account("caisse")
        db.session.commit()
        values = {
            **_literal_defaults(Member.__table__),
            "first_name": "'Bench'",
            "last_name": "'Member'",
            "status": "'active'",
            "created_at": ":now",
        }
        for name, value in list(values.items()):
            if isinstance(value, bool):
                values[name] = "TRUE" if value else "FALSE"
            elif isinstance(value, (int, float)):
                values[name] = str(value)
            elif isinstance(value, str) and not value.startswith((":", "'")):
                values[name] = "'" + value.replace("'", "''") + "'"
        if postgresql:
            source = "FROM generate_series(0, :n - 1) AS s(i)"
            values["number"] = "lpad(s.i::text, 6, '0')"
        else:
            source = "FROM (WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n) SELECT i FROM s) s"
            values["number"] = "printf('%06d', s.i)"
        values["pseudonym"] = "'bench' || s.i"
        started = time.perf_counter()
        statement = allocation._typed(
            f"INSERT INTO member ({', '.join(values)}) SELECT {', '.join(values.values())} {source}"
        )
        db.session.execute(statement, {"n": size, "now": datetime.now(UTC)})
        allocation._create_member_accounts(datetime.now(UTC))
        db.session.commit()
        if postgresql:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        members = db.session.execute(
            text("SELECT count(*) FROM account WHERE kind = 'member'")
        ).scalar_one()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"members": members, "seconds": round(seconds, 2)}


def _baseline_rows_sql(target: str, id_sql: str, rows_per_member: int = 1) -> str:
    """N rows (one allocation per member) or 2 N rows (an allocation and an expiry per member:
    what a capped month writes), in one `INSERT ... SELECT`."""
    copies = "SELECT 1 AS k" + (" UNION ALL SELECT 2" if rows_per_member == 2 else "")
    return f"""
        INSERT INTO {target} (id, kind, source_id, destination_id, amount_cents, actor_id, created_at,
                              occurred_on, reference, period, memo)
        SELECT {id_sql}, CASE r.k WHEN 1 THEN 'allocation' ELSE 'expiry' END,
               CASE r.k WHEN 1 THEN :caisse ELSE a.id END, CASE r.k WHEN 1 THEN a.id ELSE :caisse END,
               10000, NULL, :now, :day, 'b' || (2 * a.id + r.k), '2030-12', ''
        FROM account a CROSS JOIN ({copies}) r WHERE a.kind = 'member'
    """


def _step(url: str, step: str, rows_per_member: int = 1) -> dict:
    """One timed step (run in a fresh interpreter)."""
    from sqlalchemy import text

    from app.core.extensions import db
    from app.ledger import allocation
    from app.ledger import transfers as ledger

    app = _app(url)
    figures: dict = {}
    with app.app_context():
        caisse = ledger.system_account("caisse").id
        db.session.commit()
        if step == "bare_insert_select":
            db.session.execute(text("DROP TABLE IF EXISTS bench_bare"))
            db.session.execute(
                text("CREATE TABLE bench_bare AS SELECT * FROM transfer WHERE 1 = 0")
            )
            db.session.commit()
        params = {"caisse": caisse, "now": datetime.now(UTC), "day": date(2030, 12, 1)}
        tracemalloc.start()
        started = time.perf_counter()
        if step == "bare_insert_select":
            db.session.execute(
                allocation._typed(
                    _baseline_rows_sql("bench_bare", "2 * a.id + r.k", rows_per_member)
                ),
                params,
            )
            db.session.commit()
        elif step == "insert_select_into_transfer":
            db.session.execute(
                allocation._typed(
                    _baseline_rows_sql("transfer", "1000000000 + 2 * a.id + r.k", rows_per_member)
                ),
                params,
            )
            db.session.commit()
        elif step == "verify":
            breaches = ledger.verify()
            figures["breaches"] = list(breaches)
            db.session.rollback()
        else:
            summary = allocation.allocate_month(MONTHS[step])
            db.session.commit()
            figures.update(
                members_credited=summary.members_credited,
                total_cents=summary.total_cents,
                expired_members=summary.expired_members,
                expired_cents=summary.expired_cents,
            )
        seconds = time.perf_counter() - started
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if step == "insert_select_into_transfer":
            figures["rows"] = db.session.execute(
                text("SELECT count(*) FROM transfer WHERE id > 1000000000")
            ).scalar_one()
            db.session.execute(text("DELETE FROM transfer WHERE id > 1000000000"))
            db.session.commit()
        if step == "bare_insert_select":
            figures["rows"] = db.session.execute(
                text("SELECT count(*) FROM bench_bare")
            ).scalar_one()
            db.session.execute(text("DROP TABLE bench_bare"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    figures.update(
        seconds=round(seconds, 3),
        python_peak_mb=round(python_peak / 2**20, 1),
        rss_peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    return figures


def _worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--rows-per-member", type=int, default=1)
    args = parser.parse_args(argv)
    result = (
        _setup(args.url, args.size)
        if args.step == "setup"
        else _step(args.url, args.step, args.rows_per_member)
    )
    print("RESULT " + json.dumps(result), flush=True)


# --- in the parent process -----------------------------------------------------------------


def _run_worker(url: str, step: str, size: int = 0, rows_per_member: int = 1) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.allocation",
            "--worker",
            "--url",
            url,
            "--step",
            step,
            "--size",
            str(size),
            "--rows-per-member",
            str(rows_per_member),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "FLASK_CONFIG": "testing"},
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(
        f"bench step {step} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
    )


class _Database:
    """A database of its own for one engine and size, removed afterwards."""

    def __init__(self, engine: str):
        self.engine = engine
        self.tmp = None
        self.name = None

    def __enter__(self) -> str:
        if self.engine == "sqlite":
            self.tmp = tempfile.TemporaryDirectory(prefix="bench-allocation-")
            return f"sqlite:///{Path(self.tmp.name) / 'allocation.sqlite3'}"
        import psycopg
        from sqlalchemy import make_url

        base = make_url(os.environ["TEST_DATABASE_URL"])
        self.server = base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.name = f"bench_allocation_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return base.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()
        if self.name is not None:
            import psycopg

            with psycopg.connect(self.server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _report(engine: str, size: int, step: str, figures: dict) -> None:
    print(
        f"  {engine} {size:,} {step}: {figures['seconds']} s, rss {figures['rss_peak_mb']} MB",
        file=sys.stderr,
        flush=True,
    )


# Rows each month writes per member: an allocation; in the capped month an expiry too.
ROWS_PER_MEMBER = {"first_month": 1, "steady_month": 1, "capped_month": 2, "rerun": 1}


def measure(engine: str, size: int) -> dict:
    """Every step for one engine and size; each month is compared with both baselines inserting
    the same rows as that month (N, or 2 N for the capped month), the indexed one measured just
    before it, in the same state of the database."""
    with _Database(engine) as url:
        figures = {"engine": engine, "members": size, "setup": _run_worker(url, "setup", size)}
        bare = {}
        for copies in sorted(set(ROWS_PER_MEMBER.values())):
            bare[copies] = _run_worker(url, "bare_insert_select", rows_per_member=copies)
            _report(engine, size, f"bare_insert_select of {copies} N rows", bare[copies])
        figures["bare_insert_select"] = bare[1]
        figures["bare_insert_select_2n"] = bare[2]
        for step in MONTHS:
            copies = ROWS_PER_MEMBER[step]
            indexed = _run_worker(url, "insert_select_into_transfer", rows_per_member=copies)
            _report(
                engine,
                size,
                f"insert_select_into_transfer of {copies} N rows before {step}",
                indexed,
            )
            month = _run_worker(url, step)
            _report(engine, size, step, month)
            month["baseline_rows"] = copies * size
            month["rows_written"] = month["members_credited"] + month["expired_members"]
            month["insert_select_into_transfer_seconds"] = indexed["seconds"]
            month["ratio_to_bare"] = round(month["seconds"] / bare[copies]["seconds"], 2)
            month["ratio_to_indexed"] = round(month["seconds"] / indexed["seconds"], 2)
            figures[step] = month
        figures["verify"] = _run_worker(url, "verify")
        _report(engine, size, "verify", figures["verify"])
    writing = ("first_month", "steady_month", "capped_month")
    figures["verdict"] = {
        **{
            f"{step}_ratio_to_indexed": figures[step]["ratio_to_indexed"]
            for step in MONTHS
            if step != "rerun"
        },
        **{
            f"{step}_ratio_to_bare": figures[step]["ratio_to_bare"]
            for step in MONTHS
            if step != "rerun"
        },
        "months_within_ratio_to_indexed": max(figures[s]["ratio_to_indexed"] for s in writing)
        <= RATIO_TARGET,
        "months_within_ratio_to_bare": max(figures[s]["ratio_to_bare"] for s in writing)
        <= RATIO_TARGET,
        "peak_rss_mb": max(figures[s]["rss_peak_mb"] for s in MONTHS),
        "memory_within_target": max(figures[s]["rss_peak_mb"] for s in MONTHS) <= MEMORY_TARGET_MB,
    }
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated member counts")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument(
        "--engines",
        default=None,
        help="sqlite,postgresql (default: PostgreSQL when TEST_DATABASE_URL is set)",
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    elif args.quick or os.environ.get("BENCH_QUICK"):
        sizes = list(QUICK_SIZES)
    else:
        sizes = list(SIZES)
    engines = (
        args.engines.split(",")
        if args.engines
        else ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    )

    results = {
        "benchmark": "allocation",
        "ratio_target": RATIO_TARGET,
        "memory_target_mb": MEMORY_TARGET_MB,
        "runs": [measure(engine, size) for engine in engines for size in sizes],
    }
    if "postgresql" not in engines:
        results["note"] = "PostgreSQL not measured: TEST_DATABASE_URL is not set"
    text_out = json.dumps(results, indent=2)
    print(text_out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "allocation.json").write_text(text_out + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2:])
    else:
        main(sys.argv[1:])
