"""`flask ssa approve|reject|activation-letter`: deciding applications from the command line
(the admin pages come with the back office)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app

from app.core.cli import ssa


def _letter_path(member) -> Path:
    folder = Path(current_app.instance_path) / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"activation-{member.number}.html"


def write_letter(member, issued) -> Path:
    """Write the printable letter next to the database; readable by its owner only (it holds a code)."""
    from app.members import membership

    # Our own stylesheets, inlined: the file is opened from disk, away from the site.
    css = "\n".join(
        (Path(current_app.static_folder) / "css" / name).read_text(encoding="utf-8")
        for name in ("main.css", "account.css")
    )
    path = _letter_path(member)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(membership.render_activation_letter(member, issued, inline_css=css))
    return path


def _application(application_id: int):
    from app.core.extensions import db
    from app.members.models import Application

    application = db.session.get(Application, application_id)
    if application is None:
        raise click.ClickException(f"no application {application_id}")
    return application


def _report_activation(member, letter) -> None:
    if letter is None:
        click.echo(
            f"Activation link mailed to {member.user.email} (sent by `flask ssa send-mail`)."
        )
        return
    path = write_letter(member, letter)
    click.echo("No e-mail: print the activation letter and post it.")
    click.echo(
        f"  activation code: {letter.code} (valid until {letter.expires_at:%Y-%m-%d}, shown once)"
    )
    click.echo(f"  letter: {path}")


@ssa.command("approve")
@click.argument("application_id", type=int)
def approve_command(application_id: int) -> None:
    """Approve a pending application: the member, the card, the activation path."""
    from app.core.errors import DomainError
    from app.core.extensions import db
    from app.members import membership

    try:
        approval = membership.approve(_application(application_id))
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    member = approval.member
    click.echo(f"Approved: {member.full_name}, member number {member.number}.")
    _report_activation(member, approval.letter)


@ssa.command("reject")
@click.argument("application_id", type=int)
@click.option(
    "--reason", required=True, help="Why (sent to the applicant when they gave an e-mail)."
)
def reject_command(application_id: int, reason: str) -> None:
    """Reject a pending application, with the reason."""
    from app.core.errors import DomainError
    from app.core.extensions import db
    from app.members import membership

    application = _application(application_id)
    try:
        membership.reject(application, reason)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    mailed = " (mailed)" if application.email else ""
    click.echo(f"Rejected: application {application_id}{mailed}.")


@ssa.command("activation-letter")
@click.argument("number")
def activation_letter_command(number: str) -> None:
    """A new activation letter for a member (earlier codes stop working): a lost letter, or a
    member without e-mail who forgot the password."""
    from app.core.errors import DomainError
    from app.core.extensions import db
    from app.members import auth, membership

    try:
        member = membership.find_by_number(number)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    issued = auth.issue_activation_code(member.user)
    db.session.commit()
    click.echo(f"{member.full_name}, member number {member.number}:")
    _report_activation(member, issued)


@ssa.command("reset-2fa")
@click.argument("email")
def reset_second_factor_command(email: str) -> None:
    """Remove the second factor of admin EMAIL: they set up a new one at their next sign-in."""
    from app.core.extensions import db
    from app.members import twofactor
    from app.members.models import User

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
