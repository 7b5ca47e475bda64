"""`flask ssa ...`: the group of the association's commands, and `send-mail`
(which also empties the bodies of mails sent over 30 days ago).

Each domain adds its commands to `ssa` in its own `cli.py`; `create_app` imports them by name.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

ssa = AppGroup("ssa", help="SSA PATIAS: demo data, mail, ledger, allocation, events.")


@ssa.command("send-mail")
@click.option("--limit", default=200, show_default=True, help="At most this many messages.")
def send_mail_command(limit: int) -> None:
    """Send the messages waiting in the outbox, then empty the bodies of mails sent more than
    30 days ago (the cron line runs it every 5 minutes: no other job to schedule)."""
    from app.core.extensions import db
    from app.core.mail import SENT_BODY_DAYS, purge_sent_bodies, send_pending

    sent, failed = send_pending(limit)
    purged = purge_sent_bodies()
    db.session.commit()
    click.echo(f"{sent} sent, {failed} failed.")
    if purged:
        click.echo(f"{purged} body(ies) of mails sent over {SENT_BODY_DAYS} days ago emptied.")
    if failed:
        raise SystemExit(1)
