"""`flask ssa allocate`, `flask ssa verify-ledger`, `flask ssa record-contribution`."""

from __future__ import annotations

import sys
from datetime import date

import click

from app.core import calendar
from app.core.cli import ssa
from app.core.i18n import euros_plain


def _euros(cents: int) -> str:
    return f"{euros_plain(cents, '.', ' ')} EUR"


def _check_month(_ctx, _param, value):
    from app.core.calendar import Month
    from app.core.errors import InvalidPeriod

    if value is None:
        return None
    try:
        return str(Month.parse(value))
    except InvalidPeriod:
        raise click.BadParameter(
            "a month is written YYYY-MM, for example 2026-03,"
            f" from {calendar.FIRST_YEAR}-01 to {calendar.LAST_YEAR}-12"
        ) from None


@ssa.command("allocate")
@click.option(
    "--month",
    callback=_check_month,
    metavar="YYYY-MM",
    help="Month to allocate (default: the current month).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Credit a past month that was never allocated (the preview is printed first).",
)
def allocate_command(month: str | None, force: bool) -> None:
    """Credit the month's allocation to every active member not yet credited.

    Refused: a month after the current one, a month before the association's first
    allocation; a past month never allocated needs --force."""
    from app.core.calendar import Month
    from app.core.extensions import db
    from app.ledger.admin import allocation_preview
    from app.ledger.allocation import allocate_month, check_month
    from app.ledger.errors import EarlierMonthNeedsForce, MonthBeforeFirstAllocation, MonthInFuture

    asked = Month.parse(month) if month else Month.current()
    try:
        check_month(asked, force=force)
    except MonthInFuture:
        raise click.UsageError(
            f"{asked} has not begun (the current month is {Month.current()}): nothing allocated."
        ) from None
    except MonthBeforeFirstAllocation as exc:
        raise click.UsageError(
            f"{asked} is before the association's first allocation ({exc.first}): nothing allocated."
        ) from None
    except EarlierMonthNeedsForce:
        _print_preview(allocation_preview(str(asked)))
        raise click.UsageError(
            f"{asked} is a past month that was never allocated: run again with --force to credit it."
        ) from None
    if force:
        _print_preview(allocation_preview(str(asked)))
    month = str(asked)
    if sys.stdout.isatty():
        with click.progressbar(length=1, label="Allocating", show_pos=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            result = allocate_month(month, progress=progress)
    else:
        result = allocate_month(month)
    # The monthly run (usually from cron) appears in the back office's journal, by "the system".
    from app.audit import log as audit

    audit.record(
        None,
        "allocation.run",
        "period",
        None,
        {
            "period": result.period,
            "members_credited": result.members_credited,
            "total_cents": result.total_cents,
            "expired_members": result.expired_members,
            "expired_cents": result.expired_cents,
        },
    )
    db.session.commit()
    click.echo(
        f"{result.period}: {result.members_credited} member(s) credited, total {_euros(result.total_cents)};"
        f" {result.expired_members} balance(s) capped, {_euros(result.expired_cents)} returned to the caisse."
    )


def _print_preview(preview) -> None:
    click.echo(
        f"{preview.period} would credit {preview.to_credit} member(s)"
        f" ({preview.already_credited} of {preview.active_members} active already credited),"
        f" {_euros(preview.amount_cents)} each, total {_euros(preview.total_cents)};"
        f" {preview.expected_expiries} balance(s) capped,"
        f" {_euros(preview.expected_expired_cents)} returned to the caisse."
    )


@ssa.command("verify-ledger")
def verify_ledger_command() -> None:
    """Check the ledger's five invariants; exit 1 naming each breach."""
    from app.ledger.transfers import verify

    report = verify()
    summary = report.summary
    accounts = (
        ", ".join(f"{kind} {count}" for kind, count in sorted(summary["accounts"].items()))
        or "none"
    )
    click.echo(f"Accounts: {accounts}.")
    for kind, figures in sorted(summary["transfers"].items()):
        click.echo(f"Transfers {kind}: {figures['count']}, {_euros(figures['total_cents'])}.")
    for code, cents in sorted(summary["system_balances_cents"].items()):
        click.echo(f"Balance of {code}: {_euros(cents)}.")
    for kind, cents in sorted(summary["held_cents"].items()):
        click.echo(f"Held on {kind} accounts: {_euros(cents)}.")
    click.echo(f"Sum of all balances: {_euros(summary['sum_of_balances_cents'])}.")
    if report:
        for breach in report:
            click.echo(f"BREACH {breach}", err=True)
        raise SystemExit(1)
    click.echo("Ledger OK: the five invariants hold.")


# Unknown options become arguments, so that a negative AMOUNT ("-5") gets the amount's message.
@ssa.command("record-contribution", context_settings={"ignore_unknown_options": True})
@click.argument("number")
@click.argument("amount")
@click.option(
    "--date", "paid_on", metavar="YYYY-MM-DD", help="Date of the payment (default: today)."
)
@click.option(
    "--method",
    type=click.Choice(["transfer", "cash", "cheque", "direct_debit"]),
    default="transfer",
    show_default=True,
)
@click.option(
    "--reference", default="", help="The payment's own reference (cheque number, bank label)."
)
def record_contribution_command(
    number: str, amount: str, paid_on: str | None, method: str, reference: str
) -> None:
    """Record a contribution paid by member NUMBER: AMOUNT in euros (12,50 or 12.50)."""
    from app.core.errors import DomainError
    from app.core.extensions import db
    from app.core.i18n import AmountError, parse_amount
    from app.ledger.contributions import record_contribution
    from app.members.cards import check_member_number
    from app.members.models import Member

    try:
        number = check_member_number(number)
    except DomainError as exc:
        raise click.BadParameter(str(exc.message), param_hint="NUMBER") from None
    try:
        cents = parse_amount(amount)
    except AmountError as exc:
        raise click.BadParameter(str(exc.message), param_hint="AMOUNT") from None
    try:
        day = date.fromisoformat(paid_on) if paid_on else calendar.today()
    except ValueError:
        raise click.BadParameter("write the date as YYYY-MM-DD", param_hint="--date") from None
    member = db.session.scalars(db.select(Member).filter_by(number=number)).first()
    if member is None:
        raise click.BadParameter(f"no member has the number {number}", param_hint="NUMBER")
    try:
        row = record_contribution(member, cents, day, method, reference=reference)
    except DomainError as exc:
        raise click.BadParameter(str(exc.message)) from None
    db.session.commit()
    click.echo(
        f"Contribution {row.reference}: {_euros(cents)} from member {number} on {day.isoformat()} ({method})."
    )
