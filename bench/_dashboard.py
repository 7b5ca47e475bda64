"""The dashboard's measurement for bench/backoffice.py (issue 6: under 1 s with 1,000,000 sales and
10,000 members on SQLite). Kept apart so that each back-office engineer edits a file of their own.

Two figures, because the dataset puts its million sales in the last closed month:
- `seconds`: the dashboard as it opens (the current month's breakdowns, 12 months of flows,
  members, caisse, merchants owed, events): what an admin waits for on /admin;
- `heaviest_month_seconds`: the same page for the month that holds the million sales (`?month=`),
  the worst case: every breakdown aggregates a million rows, read from the covering index
  `ix_transfer_kind_day` alone (about 0.5 µs a sale on SQLite).
Both are computed in a request context, as the view does, and include drawing the chart's data.
"""

from __future__ import annotations


def measure_dashboard(dataset, runs: int = 5) -> dict:
    from app.core.extensions import db
    from app.core.i18n import money
    from app.reports import dashboard
    from bench.backoffice import BUDGET_SECONDS, _app, _timed

    app = _app(dataset)
    with app.test_request_context("/admin/"):

        def draw(period=None):
            board = dashboard.compute(period)
            dashboard.chart(board.months, money, lambda m: m.period)
            return board

        median, times, board = _timed(runs, draw)
        heavy_median, heavy_times, heavy = _timed(runs, lambda: draw(dataset.period))
        figures = {
            "seconds": round(median, 3),
            "runs_seconds": [round(t, 3) for t in times],
            "under_budget": median < BUDGET_SECONDS,
            "active_members": board.active_members,
            "sales_this_month": board.sales_count,
            "heaviest_month": dataset.period,
            "heaviest_month_seconds": round(heavy_median, 3),
            "heaviest_month_runs_seconds": [round(t, 3) for t in heavy_times],
            "heaviest_month_under_budget": heavy_median < BUDGET_SECONDS,
            "heaviest_month_sales": heavy.sales_count,
            "heaviest_month_net_sales_cents": heavy.sales_total_cents,
            "categories": len(heavy.by_category),
            "merchants": len(heavy.by_merchant),
            "communes": len(heavy.by_commune),
        }
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    return figures
