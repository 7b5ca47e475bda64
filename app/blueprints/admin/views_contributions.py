"""Contributions: record or cancel a payment, pledged against paid per month, bank statement import."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    ContributionCancelForm,
    ContributionForm,
    MonthForm,
    StatementConfirmForm,
    StatementUploadForm,
)
from app.core import calendar
from app.core.calendar import Month
from app.core.extensions import db
from app.core.htmx import render
from app.core.pagination import requested_page
from app.core.security import ADMIN, access
from app.core.web import Result, submit
from app.ledger import admin as ledger_admin
from app.ledger import bank_import
from app.ledger.contributions import cancel_contribution, cancellations_of
from app.ledger.errors import IdempotencyConflict, InvalidContribution
from app.ledger.models import Transfer
from app.members import payment
from app.members.errors import UnknownMember
from app.members.models import Member


def _contributions_page(form: ContributionForm, status: int = 200, error=None):
    month_form = MonthForm(request.args)
    period = (
        month_form.month.data
        if month_form.validate() and month_form.month.data
        else str(Month.current())
    )
    behind = request.args.get("behind") == "1"
    table = ledger_admin.pledges_against_payments(period, only_behind=behind, page=requested_page())
    recent = ledger_admin.recent_contributions()
    return render(
        "admin/contributions/index.html",
        form=form,
        month_form=month_form,
        table=table,
        behind=behind,
        recent=recent,
        cancellations=cancellations_of([t for t, _m in recent]),
        error=error,
    ), (400 if month_form.errors and status == 200 else status)


@bp.get("/cotisations")
@access(ADMIN)
def contributions():
    form = ContributionForm(
        formdata=None,
        number=request.args.get("number", "")[:20],
        paid_on=calendar.today(),
        amount=request.args.get("amount", "")[:30],
        reference=request.args.get("reference", "")[:200],
    )
    day = request.args.get("paid_on", "")
    if day:
        parsed = bank_import.parse_day(day[:20])
        if parsed:
            form.paid_on.data = parsed
    return _contributions_page(form)


@bp.post("/cotisations")
@access(ADMIN)
def contribution_record():
    form = ContributionForm()

    def record() -> tuple[Member, Transfer]:
        member = db.session.scalar(db.select(Member).where(Member.number == form.number.data))
        if member is None or member.status == "erased":
            raise UnknownMember()
        row = ledger_admin.record_contribution(
            member,
            form.amount.cents,
            form.paid_on.data,
            form.method.data,
            current_user.id,
            idempotency_key=f"admin-contribution:{form.key.data}",
            reference=form.reference.data or "",
        )
        return member, row

    result = submit(form, record, {InvalidContribution: "paid_on", UnknownMember: "number"})
    if not result.ok:
        return _contributions_page(form, _status(result), error=result.message)
    member, row = result.value
    flash(
        _(
            "Contribution of %(amount)s recorded for %(name)s (no. %(number)s), receipt %(reference)s.",
            amount=_money(row.amount_cents),
            name=member.full_name,
            number=member.number,
            reference=row.reference,
        ),
        "success",
    )
    return redirect(url_for("admin.contributions"))


def _status(result: Result) -> int:
    """A form that did not validate, or a refusal shown on its field, answers 400 here."""
    return 400 if not result.valid or result.placed else result.status


def _money(cents: int) -> str:
    from app.core.i18n import money

    return money(cents)


@bp.route("/cotisations/<int:transfer_id>/annulation", methods=["GET", "POST"])
@access(ADMIN)
def contribution_cancel(transfer_id: int):
    """The confirmation page (GET) and the cancellation (POST): a reason is required."""
    contribution = db.session.get(Transfer, transfer_id)
    if contribution is None or contribution.kind != "contribution":
        abort(404)
    member = db.session.get(Member, contribution.member_id) if contribution.member_id else None
    form = ContributionCancelForm()
    result = submit(
        form,
        lambda: cancel_contribution(
            contribution,
            form.reason.data,
            current_user.id,
            idempotency_key=f"admin-contribution-cancel:{form.key.data}",
        ),
        {InvalidContribution: "reason"},
    )
    if result.ok:
        flash(
            _(
                "Contribution %(reference)s cancelled: %(amount)s taken back out of the caisse (correction %(correction)s).",
                reference=contribution.reference,
                amount=_money(contribution.amount_cents),
                correction=result.value.reference,
            ),
            "success",
        )
        return redirect(url_for("admin.contributions"))
    status = _status(result)
    if result.error and not result.placed and not isinstance(result.error, IdempotencyConflict):
        status = 409  # AlreadyReversed (cancelled meanwhile), or the ledger's own refusal
    cancellation = cancellations_of([contribution]).get(contribution.id)
    return render(
        "admin/contributions/cancel.html",
        contribution=contribution,
        member=member,
        cancellation=cancellation,
        form=form,
        error=result.message,
    ), status


@bp.get("/cotisations/import")
@access(ADMIN)
def contributions_import():
    return render(
        "admin/contributions/import.html",
        form=StatementUploadForm(),
        prefix=payment.reference_prefix(),
    )


@bp.post("/cotisations/import")
@access(ADMIN)
def contributions_preview():
    form = StatementUploadForm()

    def read():
        upload = form.statement.data
        data = upload.stream.read(bank_import.MAX_BYTES + 1)
        return bank_import.read_statement(data, upload.filename or "")

    result = submit(form, read, "statement")
    if not result.ok:
        return render(
            "admin/contributions/import.html",
            form=form,
            prefix=payment.reference_prefix(),
            status=_status(result),
        )
    statement = result.value
    confirm = StatementConfirmForm(
        formdata=None, batch=bank_import.batch_token(statement) if statement.matched else ""
    )
    return render("admin/contributions/preview.html", statement=statement, confirm=confirm)


@bp.post("/cotisations/import/enregistrer")
@access(ADMIN)
def contributions_import_confirm():
    form = StatementConfirmForm()
    recorded = submit(form, lambda: bank_import.record_batch(form.batch.data, current_user.id))
    if not recorded.ok:
        flash(recorded.message or _("This preview has expired: import the file again."), "error")
        return redirect(url_for("admin.contributions_import"))
    result = recorded.value
    message = ngettext(
        "%(num)d contribution recorded (%(amount)s).",
        "%(num)d contributions recorded (%(amount)s).",
        result.recorded,
        amount=_money(result.recorded_cents),
    )
    if result.already:
        message += " " + ngettext(
            "%(num)d row was already recorded: nothing was recorded twice.",
            "%(num)d rows were already recorded: nothing was recorded twice.",
            result.already,
        )
    flash(message, "success")
    return redirect(url_for("admin.contributions"))
