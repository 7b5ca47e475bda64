"""`/caisse/releves`: the merchant's monthly statements, as the treasurer sees them (printable,
CSV). A cashier sees only the statements of the merchant their account is bound to."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask_login import current_user

from app.blueprints.merchant import bp
from app.htmx import render
from app.security import CASHIER, access
from app.services import ledger, register, settlement
from app.services.errors import InvalidPeriod

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
    if period > ledger.current_period():
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
        current=ledger.current_period(),
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
    from app.blueprints.admin.views_settlements import statement_csv_response

    merchant = _own_merchant()
    return statement_csv_response(
        settlement.statement(merchant, _period_or_404(period), with_lines=True)
    )
