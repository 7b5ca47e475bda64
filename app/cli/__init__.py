"""`flask ssa ...`: the association's commands. Each domain adds its own in a module here."""

from __future__ import annotations

import importlib
import pkgutil

import click
from flask.cli import AppGroup

ssa = AppGroup("ssa", help="SSA PATIAS: demo data, mail, ledger, allocation, events.")


@ssa.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the association's data and the demo data (idempotent)."""
    from app.demo import database_is_empty, seed_demo
    from app.extensions import db

    if if_empty and not database_is_empty():
        click.echo("The database already has data: demo data not loaded.")
        return
    for line in seed_demo():
        click.echo(line)
    db.session.commit()


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
