"""`flask ssa backup` and `flask ssa restore`."""

from __future__ import annotations

from pathlib import Path

import click

from app.core.cli import ssa


@ssa.command("backup")
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the copies (default: the backup_dir setting, else instance/backups/).",
)
def backup_command(to_dir: Path | None) -> None:
    """Write a checked, compressed, timestamped copy of the database; prune the old copies."""
    from app.backups.archive import backup, default_dir, prune
    from app.backups.errors import BackupError
    from app.core.extensions import db
    from app.core.settings import association

    settings = association()
    directory = to_dir or default_dir()
    # No transaction of this command's own stays open during the copy (on SQLite it would hold
    # the write lock, and the register would wait).
    db.session.remove()
    try:
        path = backup(directory)
        deleted = prune(
            directory,
            int(settings.get("backup_keep_daily", 14)),
            int(settings.get("backup_keep_monthly", 12)),
        )
    except BackupError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Backup written and checked: {path} ({path.stat().st_size} bytes).")
    if deleted:
        click.echo(f"{len(deleted)} old cop{'y' if len(deleted) == 1 else 'ies'} deleted.")


@ssa.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore the backup FILE into the empty database of DATABASE_URL, then verify the ledger."""
    from app.backups.archive import restore
    from app.backups.errors import BackupError

    try:
        restored = restore(file)
    except BackupError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Restored {restored.path.name} into the {restored.engine} database.")
    if restored.report:
        for breach in restored.report:
            click.echo(f"BREACH {breach}", err=True)
        raise SystemExit(1)
    click.echo("Ledger OK: the five invariants hold.")
