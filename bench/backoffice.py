"""The back office's budget: with 1,000,000 sales and 10,000 members in a SQLite file, each
measurement below must take under a second (issue 6). Printed, and written to
bench/results/backoffice.json; nothing here is a timed assertion.

The dataset is built once per run, straight in SQL (a realistic ledger: every member credited
what they spend, so that no balance is negative; merchants' balances equal their sales minus
cancellations): 10,000 members in the 21 communes, 60 merchants, 1,000,000 sales in the last
closed month (Europe/Paris days), 1 % of them cancelled, and 20,000 sales in the current month.

Each measurement is a function `measure_<name>(dataset, runs) -> dict` returned by
`measurements()`; it reports `seconds` (the median of its runs), `under_budget`, and whatever else
it wants to show. `build_dataset` is shared: add what another measurement needs to it.

Run: `python -m bench.backoffice` (options: --members N, --sales N, --runs N; --keep PATH keeps
the database, and --keep PATH --reuse measures again on it without rebuilding).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BUDGET_SECONDS = 1.0
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Dataset:
    path: Path
    members: int
    merchants: int
    sales: int
    period: str  # the last closed month, where the sales are
    build_seconds: float


def _stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a UTCDateTime on SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build_dataset(
    path: Path, members: int = 10_000, sales: int = 1_000_000, merchants: int = 60, seed: int = 6
) -> Dataset:
    """Create the SQLite file at `path` with the schema, the association's data and the ledger."""
    from app import create_app
    from app.core.calendar import Month
    from app.core.extensions import db
    from app.ledger import transfers as ledger
    from app.members.models import Commune
    from app.merchants.models import Category
    from app.setup.install import load_reference_data

    started = time.perf_counter()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    rng = random.Random(seed)
    with app.app_context():
        db.create_all()
        load_reference_data()
        ledger.system_account("caisse")  # system accounts get the lowest ids
        db.session.commit()
        communes = db.session.scalars(db.select(Commune.id).where(Commune.eligible.is_(True))).all()
        categories = db.session.scalars(db.select(Category.id)).all()
        month = Month.last_closed()
        period = str(month)
        first = month.first_day
        days = (month.end - first).days
        caisse = ledger.system_account("caisse").id
        db.session.commit()

        raw = db.engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")  # a throw-away database: build it fast
        now = _stamp(datetime.now(UTC))
        cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(
            "INSERT INTO merchant (id, name, kind, commune_id, address, description_fr, description_en, status,"
            " conventioned_since, iban, created_at) VALUES (?, ?, 'producer', ?, '', '', '', 'active', '2025-01-06',"
            " 'FR7630001007941234567890185', ?)",
            [(m, f"Ferme {m:03d}", rng.choice(communes), now) for m in range(1, merchants + 1)],
        )
        cursor.executemany(
            "INSERT INTO member (id, number, pseudonym, first_name, last_name, commune_id, address, status,"
            " pledge_cents, pin_failures, created_at) VALUES (?, ?, ?, 'Prénom', 'Nom', ?, '', 'active', 1000, 0, ?)",
            [
                (m, f"{m:06d}", f"m-bench{m:08d}", rng.choice(communes), now)
                for m in range(1, members + 1)
            ],
        )
        next_account = cursor.execute("SELECT max(id) FROM account").fetchone()[0] + 1
        member_accounts = list(range(next_account, next_account + members))
        merchant_accounts = list(range(next_account + members, next_account + members + merchants))
        cursor.executemany(
            "INSERT INTO account (id, kind, member_id, balance_cents, created_at) VALUES (?, 'member', ?, 0, ?)",
            [(account, m + 1, now) for m, account in enumerate(member_accounts)],
        )
        cursor.executemany(
            "INSERT INTO account (id, kind, merchant_id, balance_cents, created_at) VALUES (?, 'merchant', ?, 0, ?)",
            [(account, m + 1, now) for m, account in enumerate(merchant_accounts)],
        )

        spent = dict.fromkeys(member_accounts, 0)
        earned = dict.fromkeys(merchant_accounts, 0)
        transfer_id = cursor.execute("SELECT coalesce(max(id), 0) FROM transfer").fetchone()[0]
        insert = (
            "INSERT INTO transfer (id, kind, source_id, destination_id, amount_cents, created_at, occurred_on,"
            " reference, category_id, memo, period, reverses_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)"
        )

        def sale_rows(count: int, start: date, span_days: int):
            """`count` sales over `span_days` days from `start`, in time order (ids follow time,
            as they do when a register writes them)."""
            nonlocal transfer_id
            minutes = sorted(
                rng.randrange(span_days * 600) for _ in range(count)
            )  # 8:00-18:00 each day
            batch = []
            for minute in minutes:
                transfer_id += 1
                source, destination = rng.choice(member_accounts), rng.choice(merchant_accounts)
                amount = rng.randrange(50, 151)
                day = start + timedelta(days=minute // 600)
                moment = datetime.combine(day, clock(8 + minute % 600 // 60, minute % 60), PARIS)
                spent[source] += amount
                earned[destination] += amount
                batch.append(
                    (
                        transfer_id,
                        "purchase",
                        source,
                        destination,
                        amount,
                        _stamp(moment),
                        day.isoformat(),
                        ledger.reference_for(transfer_id),
                        rng.choice(categories),
                        None,
                        None,
                    )
                )
                if len(batch) == 50_000:
                    cursor.executemany(insert, batch)
                    batch.clear()
            cursor.executemany(insert, batch)

        sale_rows(sales, first, days)
        today = ledger.today()
        sale_rows(sales // 50, today.replace(day=1), today.day)
        # 1 % of last month's sales cancelled the same day (refunds: merchant -> member).
        cancelled = cursor.execute(
            "SELECT id, source_id, destination_id, amount_cents, created_at, occurred_on, category_id FROM transfer"
            " WHERE kind = 'purchase' AND occurred_on < ? AND id % 100 = 7",
            (today.replace(day=1).isoformat(),),
        ).fetchall()
        refunds = []
        for sale_id, source, destination, amount, created_at, occurred_on, category in cancelled:
            transfer_id += 1
            spent[source] -= amount
            earned[destination] -= amount
            refunds.append(
                (
                    transfer_id,
                    "refund",
                    destination,
                    source,
                    amount,
                    created_at,
                    occurred_on,
                    ledger.reference_for(transfer_id),
                    category,
                    None,
                    sale_id,
                )
            )
        cursor.executemany(insert, refunds)
        # Every member was credited what they spend (allocations of the month), so no balance is negative.
        allocations = []
        for account in member_accounts:
            if spent[account] > 0:
                transfer_id += 1
                allocations.append(
                    (
                        transfer_id,
                        "allocation",
                        caisse,
                        account,
                        spent[account],
                        now,
                        first.isoformat(),
                        ledger.reference_for(transfer_id),
                        None,
                        period,
                        None,
                    )
                )
        cursor.executemany(insert, allocations)
        cursor.executemany(
            "UPDATE account SET balance_cents = ? WHERE id = ?",
            [(cents, account) for account, cents in earned.items()],
        )
        cursor.execute(
            "UPDATE account SET balance_cents = -? WHERE id = ?",
            (sum(a[4] for a in allocations), caisse),
        )
        cursor.execute("COMMIT")
        raw.close()
        db.session.remove()
        db.engine.dispose()
    return Dataset(
        path=path,
        members=members,
        merchants=merchants,
        sales=sales,
        period=period,
        build_seconds=round(time.perf_counter() - started, 1),
    )


def existing_dataset(path: Path) -> Dataset:
    """A database built earlier by `build_dataset` (`--keep PATH --reuse`)."""
    import sqlite3

    from app.core.calendar import Month

    with sqlite3.connect(path) as connection:
        members, merchants = connection.execute(
            "SELECT (SELECT count(*) FROM member), (SELECT count(*) FROM merchant)"
        ).fetchone()
        period = connection.execute(
            "SELECT max(period) FROM transfer WHERE kind = 'allocation'"
        ).fetchone()[0]
        start = f"{period}-01"
        end = Month.parse(period).end.isoformat()
        sales = connection.execute(
            "SELECT count(*) FROM transfer WHERE kind = 'purchase' AND occurred_on >= ?"
            " AND occurred_on < ?",
            (start, end),
        ).fetchone()[0]
    return Dataset(
        path=path,
        members=members,
        merchants=merchants,
        sales=sales,
        period=period,
        build_seconds=0.0,
    )


def _timed(runs: int, work) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def _app(dataset: Dataset):
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{dataset.path}")


def measure_settlement(dataset: Dataset, runs: int = 5) -> dict:
    """The month's settlement (every merchant: sales, cancellations, corrections, amount owed),
    then the SEPA transfer file built from it and one merchant's statement."""
    from app.core.extensions import db
    from app.merchants.models import Merchant
    from app.payouts import sepa, settlement

    app = _app(dataset)
    with app.test_request_context("/admin/reglements"):
        median, times, month = _timed(runs, lambda: settlement.month_settlement(dataset.period))
        sepa_median, _, transfer = _timed(
            3, lambda: sepa.transfer_file(dataset.period, month=month)
        )
        merchant = db.session.get(Merchant, 1)
        statement_median, _, statement = _timed(
            3, lambda: settlement.statement(merchant, dataset.period)
        )
        figures = {
            "seconds": round(median, 3),
            "runs_seconds": [round(t, 3) for t in times],
            "under_budget": median < BUDGET_SECONDS,
            "merchants": len(month.lines),
            "sales_counted": sum(line.sales_count for line in month.lines),
            "cancellations_counted": sum(line.refunds_count for line in month.lines),
            "owed_cents": month.payable_cents,
            "sepa_file_seconds": round(sepa_median, 3),
            "sepa_transfers": len(transfer.payments),
            "sepa_bytes": len(transfer.xml),
            "one_statement_seconds": round(statement_median, 3),
            "one_statement_operations": len(statement.lines),
        }
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    return figures


def measurements() -> dict:
    """Every measurement, by name. Each engineer's measurement lives in a module of its own
    (bench/_dashboard.py imports helpers from here, hence the import at call time)."""
    from bench._dashboard import measure_dashboard

    return {"settlement": measure_settlement, "dashboard": measure_dashboard}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the database at this path and keep it")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: use the database already there"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "backoffice.sqlite3"
        if args.reuse and path.exists():
            dataset = existing_dataset(path)
            print(
                f"Using {path}: {dataset.sales:,} sales in {dataset.period}, {dataset.members:,} members"
            )
        else:
            if path.exists():
                path.unlink()
            print(
                f"Building {args.sales:,} sales and {args.members:,} members in {path} ...",
                flush=True,
            )
            dataset = build_dataset(path, members=args.members, sales=args.sales)
            print(f"  built in {dataset.build_seconds} s (sales in {dataset.period})")
        results = {
            "benchmark": "backoffice",
            "engine": "sqlite",
            "budget_seconds": BUDGET_SECONDS,
            "members": dataset.members,
            "merchants": dataset.merchants,
            "sales": dataset.sales,
            "period": dataset.period,
            "build_seconds": dataset.build_seconds,
            "measurements": {},
        }
        for name, measure in measurements().items():
            figures = measure(dataset, runs=args.runs)
            results["measurements"][name] = figures
            verdict = "OK" if figures.get("under_budget") else "OVER BUDGET"
            print(f"{name}: {figures['seconds']} s (median of {args.runs}) {verdict}")
            for key, value in figures.items():
                if key not in ("seconds", "under_budget"):
                    print(f"  {key}: {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backoffice.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
