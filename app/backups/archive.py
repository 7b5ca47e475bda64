"""Taking, checking, pruning and restoring backups.

SQLite: the online backup API copies the live database into a temporary file, which is
checked (`PRAGMA integrity_check`) and gzipped (`.sqlite3.gz`). PostgreSQL: `pg_dump` in its
custom format (already compressed), checked with `pg_restore --list`. File names carry a UTC
timestamp and the engine: `patias-20261204T013000Z-sqlite.sqlite3.gz`, `...-postgresql.dump`.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text

from app.backups.errors import BackupError
from app.core.extensions import db

NAME = re.compile(
    r"^patias-(?P<stamp>\d{8}T\d{6}Z)-(?P<engine>sqlite|postgresql)\.(?:sqlite3\.gz|dump)$"
)
SUFFIX = {"sqlite": ".sqlite3.gz", "postgresql": ".dump"}
GZIP_MAGIC = b"\x1f\x8b"
PGDUMP_MAGIC = b"PGDMP"


def default_dir() -> Path:
    from app.core.settings import association

    configured = association().get("backup_dir") or ""
    return Path(configured) if configured else Path(current_app.instance_path) / "backups"


def _engine() -> str:
    return db.engine.dialect.name


def _url():
    return db.engine.url


def _libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (needed for PostgreSQL backups).")
    return path


def _writable_dir(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"cannot create the backup directory {directory}: {exc.strerror}."
        ) from None
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"the backup directory {directory} is not writable.")
    return directory


def check_directory(directory: Path | str) -> Path:
    """The directory backups would be written to, created if missing; `BackupError` when it
    cannot be created or written (the settings page checks a new directory with this)."""
    return _writable_dir(Path(directory))


def backup(to_dir: Path | str | None = None, now: datetime | None = None) -> Path:
    """Write and check one copy of the database into `to_dir`; return its path."""
    directory = _writable_dir(Path(to_dir) if to_dir else default_dir())
    engine = _engine()
    if engine not in SUFFIX:
        raise BackupError(f"backups of {engine} databases are not supported.")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"patias-{stamp}-{engine}{SUFFIX[engine]}"
    # Written under a name the retention ignores, renamed only once checked.
    partial = directory / f".{final.name}.partial"
    try:
        if engine == "sqlite":
            _backup_sqlite(partial)
        else:
            _backup_postgresql(partial)
        check(partial, engine)
        os.replace(partial, final)
    except OSError as exc:
        raise BackupError(f"could not write the backup into {directory}: {exc.strerror}.") from None
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy the database: {exc}.") from None
    finally:
        partial.unlink(missing_ok=True)
    return final


def _sqlite_path(url=None) -> str:
    database = (url or _url()).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up.")
    return database


def _backup_sqlite(target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        source = sqlite3.connect(_sqlite_path())
        try:
            dest = sqlite3.connect(copy)
            try:
                # In one step, inside one read transaction: in WAL mode the writers go on
                # meanwhile (a copy in several steps restarts whenever another connection
                # writes, and might never end while the register is busy).
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
        with open(copy, "rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
            shutil.copyfileobj(raw, packed, 1 << 20)


def _backup_postgresql(target: Path) -> None:
    result = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), _libpq(_url())],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def _engine_of(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(5)
    if head.startswith(GZIP_MAGIC):
        return "sqlite"
    if head == PGDUMP_MAGIC:
        return "postgresql"
    raise BackupError(f"{path.name} is not a backup of this application.")


def check(path: Path, engine: str | None = None) -> None:
    """Refuse a file that is not a whole, readable backup (truncated, corrupt, foreign)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    found = _engine_of(path)
    if engine and found != engine:
        raise BackupError(f"{path.name} is a {found} backup, not a {engine} one.")
    if found == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            _check_sqlite(_gunzip(path, Path(tmp) / "check.sqlite3"))
    else:
        listing = subprocess.run(
            [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
        )
        if listing.returncode != 0 or "TABLE DATA" not in listing.stdout:
            raise BackupError(f"{path.name} is truncated or corrupt: pg_restore cannot list it.")
        # The listing reads only the table of contents: reading every table's data as well
        # finds a copy cut short.
        whole = subprocess.run(
            [_tool("pg_restore"), "--file", os.devnull, str(path)], capture_output=True, text=True
        )
        if whole.returncode != 0:
            raise BackupError(f"{path.name} is truncated or corrupt.")


def _gunzip(path: Path, target: Path) -> Path:
    try:
        with gzip.open(path, "rb") as packed, open(target, "wb") as raw:
            shutil.copyfileobj(packed, raw, 1 << 20)
    except (OSError, EOFError, zlib.error):
        raise BackupError(f"{path.name} is truncated or corrupt.") from None
    return target


def _check_sqlite(path: Path) -> Path:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise BackupError(f"{path.name} does not hold a SQLite database.") from None
    if result != "ok":
        raise BackupError(f"the copy fails SQLite's integrity check: {result}.")
    if "transfer" not in tables or "account" not in tables:
        raise BackupError("the copy does not hold this application's tables.")
    return path


def _is_empty() -> bool:
    """No table, or only empty ones (a database made by `flask db upgrade` and nothing else)."""
    names = inspect(db.engine).get_table_names()
    for name in names:
        if name == "alembic_version":
            continue
        quoted = db.engine.dialect.identifier_preparer.quote(name)
        with db.engine.connect() as conn:
            if conn.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first() is not None:
                return False
    return True


@dataclass
class Restored:
    path: Path
    engine: str
    report: object  # the ledger's VerifyReport


def restore(path: Path | str) -> Restored:
    """Put the backup `path` into the (empty) database of DATABASE_URL, then verify the ledger."""
    from app.ledger.transfers import verify

    path = Path(path)
    engine = _engine()
    db.session.remove()
    check(path)
    if _engine_of(path) != engine:
        raise BackupError(f"{path.name} is not a {engine} backup.")
    if not _is_empty():
        raise BackupError("the target database is not empty: restore only into an empty one.")
    if engine == "sqlite":
        try:
            _restore_sqlite(path)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not restore the copy: {exc}.") from None
    else:
        _restore_postgresql(path)
    db.engine.dispose()
    return Restored(path, engine, verify())


def _restore_sqlite(path: Path) -> None:
    target = _sqlite_path()
    with tempfile.TemporaryDirectory() as tmp:
        copy = _check_sqlite(_gunzip(path, Path(tmp) / "restore.sqlite3"))
        db.engine.dispose()
        source = sqlite3.connect(copy)
        try:
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()


def _restore_postgresql(path: Path) -> None:
    db.engine.dispose()
    url = _url()
    # Tables made empty by `flask db upgrade` go first, so that the copy's own schema fits.
    with db.engine.begin() as conn:
        for name in inspect(conn).get_table_names():
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    result = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            _libpq(url),
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


def prune(
    directory: Path | str,
    keep_daily: int,
    keep_monthly: int,
    now: datetime | None = None,
) -> list[Path]:
    """Keep the newest copy of each of the last `keep_daily` days and `keep_monthly` months
    (counted back from `now`); delete the other files of this naming; return those deleted."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    copies = []
    for entry in Path(directory).iterdir():
        match = NAME.match(entry.name)
        if match and entry.is_file():
            when = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            copies.append((when, entry))
    copies.sort(reverse=True)
    days = {(now.date().toordinal() - n) for n in range(keep_daily)}
    months = set()
    year, month = now.year, now.month
    for _ in range(keep_monthly):
        months.add((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keep: set[Path] = set()
    seen_days: set[int] = set()
    seen_months: set[tuple[int, int]] = set()
    for when, entry in copies:
        day, ym = when.date().toordinal(), (when.year, when.month)
        if day in days and day not in seen_days:
            seen_days.add(day)
            keep.add(entry)
        if ym in months and ym not in seen_months:
            seen_months.add(ym)
            keep.add(entry)
    deleted = []
    for _, entry in copies:
        if entry not in keep:
            entry.unlink()
            deleted.append(entry)
    return deleted
