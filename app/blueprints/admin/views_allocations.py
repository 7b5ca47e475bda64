"""Allocations: each month's run from the ledger; preview, then run the current month."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import AllocationRunForm
from app.core.calendar import Month
from app.core.htmx import render
from app.core.i18n import money
from app.core.security import ADMIN, access
from app.core.web import perform
from app.ledger import admin as ledger_admin


@bp.get("/allocations")
@access(ADMIN)
def allocations():
    period = str(Month.current())
    return render(
        "admin/allocations.html",
        preview=ledger_admin.allocation_preview(period),
        runs=ledger_admin.allocation_runs(),
        form=AllocationRunForm(formdata=None, period=period),
    )


@bp.post("/allocations")
@access(ADMIN)
def allocation_run():
    form = AllocationRunForm()
    if not form.validate_on_submit():
        abort(400)
    # Only the current month is run from here: a past month is the command line's business
    # (`flask ssa allocate --month`), where it cannot be clicked by mistake.
    if form.period.data != str(Month.current()):
        flash(
            _("The month has changed since the page was shown: check the preview and run again."),
            "error",
        )
        return redirect(url_for("admin.allocations"))
    run = perform(lambda: ledger_admin.run_allocation(form.period.data, current_user.id))
    if run.error:
        flash(run.message, "error")
        return redirect(url_for("admin.allocations"))
    result = run.value
    if result.members_credited:
        message = ngettext(
            "%(num)d member credited, %(amount)s in all.",
            "%(num)d members credited, %(amount)s in all.",
            result.members_credited,
            amount=money(result.total_cents),
        )
        if result.expired_members:
            message += " " + ngettext(
                "%(num)d balance capped: %(amount)s back to the caisse.",
                "%(num)d balances capped: %(amount)s back to the caisse.",
                result.expired_members,
                amount=money(result.expired_cents),
            )
        flash(message, "success")
    else:
        flash(
            _(
                "Every active member had already received this month’s allocation: nobody was credited twice."
            ),
            "success",
        )
    return redirect(url_for("admin.allocations"))
