"""The live server of the browser tests: the app on a file SQLite with the demo data, served by a
threaded werkzeug server in a thread of the test process; and data made in it for a test."""

from __future__ import annotations

import threading
from datetime import timedelta

from werkzeug.serving import make_server

from app.core.calendar import Month
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.merchants.models import Merchant
from tests.support.apps import make_app
from tests.support.factories import make_member


def make_live_app(path):
    """The app on a new file SQLite at `path`, with the demo data (CSRF on)."""
    from app.demo import seed_demo

    # As in production, an exception gives the site's 500 page (and the log), not a bare error.
    app = make_app(f"sqlite:///{path}", PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        # create_all, not the migration: the lead regenerates the migration from time to time,
        # and tests/unit/test_migrations.py checks that it matches the models.
        db.create_all()
        for _ in seed_demo():
            pass
        db.session.commit()
        db.session.remove()
    return app


def buffered(wsgi_app):
    """Read each response whole and close it at once, in the server's thread.

    A static file is otherwise streamed from an open file that is only closed once the browser has
    read it; when a test navigates away first, the file is left to the garbage collector, and its
    ResourceWarning (an error under `filterwarnings = error`) lands on whichever test runs then.
    """

    def app(environ, start_response):
        iterable = wsgi_app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return app


class ServerThread(threading.Thread):
    """`app` served on 127.0.0.1 at a free port (`port`) until `server.shutdown()`."""

    def __init__(self, app):
        super().__init__(daemon=True, name="live-server")
        self.server = make_server("127.0.0.1", 0, buffered(app.wsgi_app), threaded=True)
        self.port = self.server.server_port

    def run(self):
        self.server.serve_forever(poll_interval=0.1)


def last_month_sales(live_app) -> dict[int, int]:
    """Sales of last month at every demo merchant, made once per live server: merchant id -> amount."""
    if "e2e_last_month_sales" in live_app.extensions:
        return live_app.extensions["e2e_last_month_sales"]
    period = str(Month.last_closed())
    day = Month.parse(period).first_day + timedelta(days=9)
    with live_app.app_context():
        member = make_member(first_name="Margot", last_name="Achats")
        account = ledger.member_account(member)
        ledger.transfer(
            source=ledger.system_account("caisse"),
            destination=account,
            amount_cents=500_00,
            kind="grant",
        )
        sold = {}
        for n, merchant in enumerate(db.session.scalars(db.select(Merchant).order_by(Merchant.id))):
            amount = 12_30 + n * 1_05
            ledger.transfer(
                source=account,
                destination=ledger.merchant_account(merchant),
                amount_cents=amount,
                kind="purchase",
                occurred_on=day,
                idempotency_key=f"e2e-last-month:{period}:{merchant.id}",
            )
            sold[merchant.id] = amount
        db.session.commit()
        db.session.remove()
    live_app.extensions["e2e_last_month_sales"] = sold
    return sold
