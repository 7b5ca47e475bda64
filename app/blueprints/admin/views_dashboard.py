"""The dashboard: members, the caisse, coverage, 12 months of contributions and allocations,
sales breakdowns, upcoming events and what needs attention."""

from __future__ import annotations

from flask import request
from flask_babel import format_currency

from app.blueprints.admin import bp
from app.blueprints.admin.forms import MonthForm
from app.core.calendar import Month
from app.core.htmx import render
from app.core.i18n import money
from app.core.security import ADMIN, access
from app.reports import dashboard as dashboard_service


def month_label(month, fmt: str = "MMM yy") -> str:
    return Month.of(month.period).label(fmt)


def whole_euros(cents: int) -> str:
    """The chart's scale: euros without cents (1 000 €)."""
    return format_currency(cents // 100, "EUR", format="#,##0\u00a0¤", currency_digits=False)


@bp.get("/")
@access(ADMIN)
def dashboard():
    form = MonthForm(request.args)
    period = form.month.data if form.validate() and form.month.data else None
    board = dashboard_service.compute(period)
    chart = dashboard_service.chart(
        board.months, money, month_label, whole_euros, lambda m: month_label(m, "MMM")
    )
    status = 400 if form.errors else 200
    return render(
        "admin/dashboard.html",
        board=board,
        chart=chart,
        form=form,
        month_label=month_label,
        status=status,
    )
