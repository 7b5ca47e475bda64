"""`flask ssa seed-demo`: demo data for development (never for a real association)."""

from __future__ import annotations

import click

from app.core.cli import ssa


@ssa.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the association's data and the demo data (idempotent)."""
    from flask import current_app

    from app.core.extensions import db
    from app.demo import database_is_empty, seed_demo

    if current_app.config.get("CONFIG_NAME") == "production":
        raise click.ClickException(
            "seed-demo refuses to run under the production configuration: "
            "use `flask ssa init` to install a caisse."
        )

    if if_empty and not database_is_empty():
        click.echo("The database already has data: demo data not loaded.")
        return
    for line in seed_demo():
        click.echo(line)
    db.session.commit()
