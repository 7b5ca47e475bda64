"""`flask ssa reset-2fa EMAIL`: remove an admin's second factor (lost phone)."""

from __future__ import annotations

import click

from app.cli import ssa


@ssa.command("reset-2fa")
@click.argument("email")
def reset_second_factor_command(email: str) -> None:
    """Remove the second factor of admin EMAIL: they set up a new one at their next sign-in."""
    from app.extensions import db
    from app.models import User
    from app.services import twofactor

    user = db.session.scalar(
        db.select(User).where(User.email == email.strip().lower(), User.role == "admin")
    )
    if user is None:
        raise click.BadParameter(f"no admin signs in with {email}", param_hint="EMAIL")
    removed = twofactor.reset(user)
    db.session.commit()
    if removed:
        click.echo(
            f"Second factor of {user.email} removed; their sessions are ended. They enrol again at the next sign-in."
        )
    else:
        click.echo(f"{user.email} had no second factor: they enrol at the next sign-in.")
