"""`flask ssa send-reminders`: the e-mails of the day before each event."""

from datetime import date

import click

from app.core.cli import ssa


@ssa.command("send-reminders")
@click.option(
    "--date",
    "today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Send as if today were this date (YYYY-MM-DD): events of the next day are reminded.",
)
def send_reminders_command(today) -> None:
    """Queue reminders for tomorrow's events (registrants and drivers); `send-mail` sends them.

    Safe to run several times a day: nobody is reminded twice for the same event.
    """
    from app.core.extensions import db
    from app.events.registrations import send_reminders

    day: date | None = today.date() if today else None
    queued = send_reminders(day)
    db.session.commit()
    click.echo(f"{queued} reminder(s) queued.")
