"""`flask ssa init`: install a caisse on an empty database (base data and the first admin)."""

from __future__ import annotations

import io
import sys

import click
import segno
from sqlalchemy.exc import SQLAlchemyError

from app.core.cli import ssa


def _read_password() -> str:
    """Asked twice on a terminal; otherwise the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt("Administrator password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@ssa.command("init")
@click.option("--admin-email", required=True, help="The first administrator's e-mail.")
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False),
    help="A JSON file replacing some of app/data/ (see the README).",
)
def init_command(admin_email: str, data_file: str | None) -> None:
    """Load the association's base data and create the first administrator (no demo data)."""
    from app.core.extensions import db
    from app.core.settings import association
    from app.members import twofactor
    from app.setup.errors import SetupError
    from app.setup.install import check_admin, install, is_initialised, read_data_file

    try:
        try:
            initialised = is_initialised()
        except SQLAlchemyError as exc:
            raise SetupError(
                "The database has no tables: run `flask --app wsgi db upgrade` first."
            ) from exc
        if initialised:
            raise SetupError("The database is already initialised: nothing was changed.")
        data = read_data_file(data_file) if data_file else None
        email, password = check_admin(admin_email, _read_password())
        admin, credential = install(email, password, data)
    except SetupError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    uri = twofactor.provisioning_uri(credential, admin, association()["name"])
    db.session.commit()
    click.echo(f"Administrator: {email}")
    click.echo("Second factor: add this secret to an authenticator app, then sign in at")
    click.echo("/connexion: the first code you type confirms it.")
    click.echo(f"TOTP secret: {credential.secret}")
    click.echo(f"URI: {uri}")
    drawing = io.StringIO()
    segno.make(uri, error="m").terminal(out=drawing, compact=True)
    click.echo(drawing.getvalue(), nl=False)
