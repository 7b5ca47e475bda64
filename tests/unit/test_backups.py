"""`flask ssa backup` and `flask ssa restore`: a checked, compressed, timestamped copy; the
retention of daily and monthly copies; a restore into an empty database only, verified; bad
input refused with a message and exit 1, nothing changed. On each engine of the suite."""

from __future__ import annotations

import gzip
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from app.backups.archive import NAME, prune
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.allocation import allocate_month
from app.ledger.models import Transfer
from tests.support.apps import libpq_url, make_app
from tests.support.factories import make_member


@pytest.fixture
def books(app):
    first, second = make_member(), make_member()
    allocate_month("2030-01")
    ledger.transfer(
        source=ledger.member_account(first),
        destination=ledger.member_account(second),
        amount_cents=700,
        kind="correction",
        idempotency_key="backup-key-1",
    )
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Transfer))


@pytest.fixture
def empty_url(app, tmp_path):
    """The URL of a new, empty database of the same engine as `app`'s."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"patias_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backup(runner, directory: Path) -> Path:
    result = runner.invoke(args=["ssa", "backup", "--to", str(directory)])
    assert result.exit_code == 0, result.output
    (path,) = [p for p in directory.iterdir() if NAME.match(p.name)]
    return path


def _restore_into(url: str, path: Path):
    """`flask ssa restore` run by an app on `url` (the CLI runner would reuse the test's app
    context, so the target app's context is pushed first)."""
    target = make_app(url)
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["ssa", "restore", str(path)])
        db.session.remove()
        db.engine.dispose()
    return result


def test_backup_writes_a_checked_compressed_timestamped_file(app, runner, books, tmp_path):
    path = _backup(runner, tmp_path / "copies")
    engine = db.engine.dialect.name
    match = NAME.match(path.name)
    assert match["engine"] == engine
    stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    head = path.read_bytes()[:5]
    if engine == "sqlite":
        assert path.name.endswith(".sqlite3.gz")
        assert gzip.decompress(path.read_bytes())[:16] == b"SQLite format 3\x00"
    else:
        assert path.name.endswith(".dump") and head == b"PGDMP"
    assert "checked" in runner.invoke(args=["ssa", "backup", "--to", str(tmp_path / "x")]).output
    assert not [p for p in (tmp_path / "copies").iterdir() if p.name.startswith(".")]


def test_retention_keeps_newest_of_each_recent_day_and_month(tmp_path):
    now = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)

    def copy(when: datetime) -> Path:
        path = tmp_path / f"patias-{when:%Y%m%dT%H%M%SZ}-sqlite.sqlite3.gz"
        path.write_bytes(b"x")
        return path

    today_early, today_late = copy(now - timedelta(hours=10)), copy(now - timedelta(hours=1))
    daily = [copy(now - timedelta(days=n)) for n in range(1, 20)]
    may_early, may_late = (
        copy(datetime(2029, 5, 2, tzinfo=UTC)),
        copy(datetime(2029, 5, 20, tzinfo=UTC)),
    )
    too_old = copy(datetime(2029, 6, 10, tzinfo=UTC))
    foreign = tmp_path / "notes.txt"
    foreign.write_text("mine")
    deleted = set(prune(tmp_path, keep_daily=14, keep_monthly=12, now=now))
    assert today_late.exists() and not today_early.exists()
    assert all(p.exists() for p in daily[:13])  # yesterday .. 13 days ago
    # 14 to 19 days ago: days out of the window; the newest of May 2030 is kept as monthly.
    assert daily[13] in deleted and daily[17] in deleted
    may_2030 = [p for p in daily if "203005" in p.name]
    assert may_2030[0].exists() and all(not p.exists() for p in may_2030[1:])
    # June 2029 is the 13th month back: out; May 2029 too.
    assert too_old in deleted and may_late in deleted and may_early in deleted
    assert foreign.exists()


def test_restore_into_empty_database_and_verify(app, runner, books, tmp_path, empty_url):
    path = _backup(runner, tmp_path / "copies")
    result = _restore_into(empty_url, path)
    assert result.exit_code == 0, result.output
    assert "Ledger OK" in result.output
    with make_app(empty_url).app_context():
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == books
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_non_empty_database(app, runner, books, tmp_path):
    path = _backup(runner, tmp_path / "copies")
    result = runner.invoke(args=["ssa", "restore", str(path)])
    assert result.exit_code == 1
    assert "not empty" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == books


@pytest.mark.parametrize("damage", ["foreign", "truncated"])
def test_restore_refuses_a_file_that_is_not_a_whole_backup(
    app, runner, books, tmp_path, empty_url, damage
):
    path = _backup(runner, tmp_path / "copies")
    bad = tmp_path / ("bad-" + path.name)
    if damage == "foreign":
        bad.write_text("hello, this is not a backup\n")
    else:
        data = path.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    result = _restore_into(empty_url, bad)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    expected = "not a backup" if damage == "foreign" else "truncated or corrupt"
    assert expected in result.output, result.output
    with make_app(empty_url).app_context():
        from sqlalchemy import inspect

        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_backup_refuses_an_unwritable_directory(app, runner, books, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into any directory")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner.invoke(args=["ssa", "backup", "--to", str(locked)])
        assert result.exit_code == 1
        assert "not writable" in result.output and "Traceback" not in result.output
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_backup_refuses_a_directory_that_is_a_file(app, runner, books, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(args=["ssa", "backup", "--to", str(blocker / "sub")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
