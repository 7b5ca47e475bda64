import click

from app.cli import ssa


@ssa.command("send-mail")
@click.option("--limit", default=200, show_default=True, help="At most this many messages.")
def send_mail_command(limit: int) -> None:
    """Send the messages waiting in the outbox."""
    from app.services.mail import send_pending

    sent, failed = send_pending(limit)
    click.echo(f"{sent} sent, {failed} failed.")
    if failed:
        raise SystemExit(1)
