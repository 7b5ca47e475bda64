"""Settlements `/admin/reglements`: what the caisse owes each merchant for a month, their
statements (printable, CSV), the SEPA transfer file, and "mark paid" (recorded once)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import PayAllForm, PayForm, SettlementMonthForm
from app.core.calendar import Month
from app.core.errors import InvalidPeriod
from app.core.extensions import db
from app.core.htmx import render
from app.core.i18n import current_language, money
from app.core.security import ADMIN, access
from app.core.spreadsheet import download
from app.core.web import perform
from app.merchants.models import Merchant
from app.payouts import bank_details, sepa, settlement
from app.payouts.errors import BankDetailsMissing, NothingToPay, PeriodNotClosed

PAGE = "admin/settlements/month.html"
ALL_KEY = "settle:{period}:all"


def _period_or_404(text: str) -> str:
    try:
        return settlement.parse_period(text)
    except InvalidPeriod:
        abort(404)


def _merchant_or_404(merchant_id: int) -> Merchant:
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


def _month_page(
    period: str,
    status: int = 200,
    error: str | None = None,
    form: SettlementMonthForm | None = None,
):
    month = settlement.month_settlement(period)
    pay_forms = {
        line.merchant.id: PayForm(
            formdata=None,
            data={
                "key": settlement.settlement_key(period, line.merchant.id),
                "amount": line.payable_cents,
            },
        )
        for line in month.payable
    }
    pay_all = PayAllForm(
        formdata=None,
        data={"key": ALL_KEY.format(period=period), "total": month.transfer_file_cents},
    )
    periods = settlement.recent_periods(24)
    if period not in periods and period <= str(Month.last_closed()):
        periods.append(period)
    form = form or SettlementMonthForm(formdata=None, data={"mois": period})
    return render(
        PAGE,
        status=status,
        month=month,
        period=period,
        closed=settlement.is_closed(period),
        error=error,
        pay_forms=pay_forms,
        pay_all=pay_all,
        form=form,
        periods=periods,
        previous=str(Month.of(period).shift(-1)),
        following=str(Month.of(period).shift(1)),
        label=settlement.period_label,
        current=str(Month.current()),
    )


@bp.get("/reglements")
@access(ADMIN)
def settlements():
    if "mois" not in request.args:
        return _month_page(str(Month.last_closed()))
    form = SettlementMonthForm(request.args)
    try:
        period = settlement.parse_period(form.mois.data if form.validate() else None)
    except InvalidPeriod as exc:
        form.mois.errors = list(form.mois.errors) or [exc.message]
        return _month_page(str(Month.last_closed()), 400, form=form)
    return _month_page(period)


def _back_to(period: str, anchor: str = ""):
    return redirect(url_for("admin.settlements", mois=period) + anchor, 303)


@bp.post("/reglements/<period>/commercants/<int:merchant_id>/payer")
@access(ADMIN)
def settlement_pay(period: str, merchant_id: int):
    period = _period_or_404(period)
    merchant = _merchant_or_404(merchant_id)
    form = PayForm()
    if not form.validate_on_submit():
        return _month_page(
            period, 422, _("This form has expired: reload the page and confirm again.")
        )
    if form.key.data != settlement.settlement_key(period, merchant.id):
        return _month_page(
            period, 422, _("This form does not belong to this payment: reload the page.")
        )
    result = perform(
        lambda: settlement.settle(
            merchant, period, actor_id=current_user.id, expected_cents=form.amount.data
        )
    )
    if result.error:  # PeriodNotClosed, NothingToPay, SettlementChanged: 409
        return _month_page(period, result.status, result.message)
    row = result.value
    if row.replayed:
        flash(
            _(
                "%(merchant)s was already marked paid for this month (%(amount)s, receipt %(reference)s): nothing was recorded twice.",
                merchant=merchant.name,
                amount=money(row.amount_cents),
                reference=row.reference,
            ),
            "success",
        )
    else:
        flash(
            _(
                "%(amount)s paid to %(merchant)s is recorded (receipt %(reference)s).",
                merchant=merchant.name,
                amount=money(row.amount_cents),
                reference=row.reference,
            ),
            "success",
        )
    return _back_to(period, f"#merchant-{merchant.id}")


@bp.post("/reglements/<period>/payer")
@access(ADMIN)
def settlement_pay_all(period: str):
    period = _period_or_404(period)
    form = PayAllForm()
    if not form.validate_on_submit():
        return _month_page(
            period, 422, _("This form has expired: reload the page and confirm again.")
        )
    if form.key.data != ALL_KEY.format(period=period):
        return _month_page(
            period, 422, _("This form does not belong to this month: reload the page.")
        )
    result = perform(
        lambda: settlement.settle_month(
            period, actor_id=current_user.id, expected_total_cents=form.total.data
        )
    )
    if result.error:
        return _month_page(period, result.status, result.message)
    rows = result.value
    new = [row for row in rows if not row.replayed]
    flash(
        ngettext(
            "Payment recorded: %(num)d merchant, %(amount)s.",
            "Payments recorded: %(num)d merchants, %(amount)s in total.",
            len(new),
            amount=money(sum(row.amount_cents for row in new)),
        ),
        "success",
    )
    return _back_to(period)


@bp.get("/reglements/<period>/sepa.xml")
@access(ADMIN)
def settlement_sepa(period: str):
    period = _period_or_404(period)
    # A download that writes nothing: no transaction to commit, so no perform().
    try:
        result = sepa.transfer_file(period)
    except (PeriodNotClosed, NothingToPay, BankDetailsMissing) as exc:
        return _month_page(period, 409, exc.message)
    return download(result.xml, result.filename, "application/xml; charset=utf-8")


@bp.get("/reglements/<period>/commercants/<int:merchant_id>")
@access(ADMIN)
def settlement_statement(period: str, merchant_id: int):
    period = _period_or_404(period)
    merchant = _merchant_or_404(merchant_id)
    result = settlement.statement(merchant, period)
    return render(
        "admin/settlements/statement.html",
        statement=result,
        label=settlement.period_label,
        iban_ok=bank_details.iban_is_valid(merchant.iban),
        now=datetime.now(UTC),
    )


@bp.get("/reglements/<period>/commercants/<int:merchant_id>.csv")
@access(ADMIN)
def settlement_statement_csv(period: str, merchant_id: int):
    period = _period_or_404(period)
    merchant = _merchant_or_404(merchant_id)
    return statement_csv_response(settlement.statement(merchant, period, with_lines=True))


def statement_csv_response(result: settlement.Statement):
    """The statement as a CSV download (the merchant's own space serves the same file)."""
    return download(
        settlement.statement_csv(result, current_language()), settlement.statement_file_name(result)
    )
