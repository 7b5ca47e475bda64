"""`/caisse/releves`: the merchant's monthly statements, as the treasurer sees them (printable,
CSV). A cashier sees only the statements of the merchant their account is bound to."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask_login import current_user

from app.blueprints.merchant import bp
from app.core.calendar import Month
from app.core.errors import InvalidPeriod
from app.core.htmx import render
from app.core.i18n import current_language
from app.core.security import CASHIER, access
from app.core.spreadsheet import download
from app.payouts import settlement
from app.register import sales as register

MONTHS_SHOWN = 12


def _own_merchant():
    merchant = register.merchant_of(current_user)
    if merchant is None:
        abort(403)
    return merchant


def _period_or_404(text: str) -> str:
    try:
        period = settlement.parse_period(text)
    except InvalidPeriod:
        abort(404)
    if period > str(Month.current()):
        abort(404)
    return period


@bp.get("/releves")
@access(CASHIER)
def statements():
    merchant = _own_merchant()
    months = settlement.merchant_months(merchant, MONTHS_SHOWN)
    return render(
        "merchant/statements.html",
        merchant=merchant,
        months=months,
        label=settlement.period_label,
        current=str(Month.current()),
    )


@bp.get("/releves/<period>")
@access(CASHIER)
def statement(period: str):
    merchant = _own_merchant()
    result = settlement.statement(merchant, _period_or_404(period))
    return render(
        "merchant/statements_month.html",
        merchant=merchant,
        statement=result,
        label=settlement.period_label,
        now=datetime.now(UTC),
    )


@bp.get("/releves/<period>.csv")
@access(CASHIER)
def statement_csv(period: str):
    result = settlement.statement(_own_merchant(), _period_or_404(period), with_lines=True)
    return download(
        settlement.statement_csv(result, current_language()), settlement.statement_file_name(result)
    )
