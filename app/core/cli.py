"""`flask ssa ...`: the group of the association's commands, and `send-mail`.

Each domain adds its commands to `ssa` in its own `cli.py`; `create_app` imports them by name.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

ssa = AppGroup("ssa", help="SSA PATIAS: demo data, mail, ledger, allocation, events.")


@ssa.command("send-mail")
@click.option("--limit", default=200, show_default=True, help="At most this many messages.")
def send_mail_command(limit: int) -> None:
    """Send the messages waiting in the outbox."""
    from app.core.mail import send_pending

    sent, failed = send_pending(limit)
    click.echo(f"{sent} sent, {failed} failed.")
    if failed:
        raise SystemExit(1)
