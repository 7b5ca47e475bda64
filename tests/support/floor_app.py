"""The least a sale can cost in this stack (bench/register.py serves it with gunicorn, and
compares the register with it; tests/unit/test_bench_floor.py checks that it does its job).

Flask with the same extensions the register's sale goes through, each at its cheapest: a signed
session cookie, Flask-Login with a user made from the session alone (no database), Flask-WTF's
CSRF check, the form parsed, one SQLite transaction (WAL, synchronous=FULL, as the app runs it)
holding the idempotency-key read, the conditional debit, the credit and the insert, and a
three-line template for the receipt. No ORM, no PIN, no member lookup, no audit, no logging.
/healthz answers "ok" from the same server.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, abort, request
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
)
from flask_wtf.csrf import CSRFProtect, generate_csrf

RECEIPT = """<div class="receipt" data-sale-done>
<p>{{ amount }} payés, reste {{ balance }}</p>
<p>{{ time }} · {{ reference }}</p></div>"""


class Cashier(UserMixin):
    def __init__(self, user_id: str):
        self.id = user_id


def cents(value: int) -> str:
    return f"{value // 100},{value % 100:02d} €"


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=os.environ["SECRET_KEY"], SESSION_COOKIE_SAMESITE="Lax")
    CSRFProtect(app)
    logins = LoginManager(app)
    logins.user_loader(Cashier)
    receipt = app.jinja_env.from_string(RECEIPT)  # compiled once, as render_template's cache does
    path = os.environ["FLOOR_DATABASE"]
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                local.connection.execute(f"PRAGMA {pragma}")
        return local.connection

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/login/<int:user_id>")
    def login(user_id: int):
        login_user(Cashier(str(user_id)))
        return generate_csrf()

    @app.post("/sale")
    @login_required
    def sale():
        try:
            account = int(request.form["account"])
            amount = int(request.form["amount"])
            key = request.form["key"]
        except (KeyError, ValueError):
            abort(422)
        if amount <= 0 or not 8 <= len(key) <= 64:
            abort(422)
        db = connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            done = db.execute("SELECT id, amount FROM sale WHERE key = ?", (key,)).fetchone()
            if done is None:
                debited = db.execute(
                    "UPDATE account SET balance = balance - ? WHERE id = ? AND balance >= ?",
                    (amount, account, amount),
                ).rowcount
                if debited != 1:
                    db.execute("ROLLBACK")
                    abort(409)
                db.execute("UPDATE account SET balance = balance + ? WHERE id = 0", (amount,))
                sale_id = db.execute(
                    "INSERT INTO sale (key, account_id, cashier, amount) VALUES (?, ?, ?, ?)",
                    (key, account, int(current_user.id), amount),
                ).lastrowid
            else:
                sale_id, amount = done
            balance = db.execute("SELECT balance FROM account WHERE id = ?", (account,)).fetchone()[
                0
            ]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return receipt.render(
            amount=cents(amount), balance=cents(balance), time="10:42", reference=f"V{sale_id:06d}"
        )

    return app


def create_database(path: str, accounts: int, balance: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript("""
        CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
        CREATE TABLE sale (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, account_id INTEGER NOT NULL
            REFERENCES account (id), cashier INTEGER NOT NULL, amount INTEGER NOT NULL);
    """)
    db.executemany(
        "INSERT INTO account (id, balance) VALUES (?, ?)",
        [(n, balance if n else 0) for n in range(accounts + 1)],
    )
    db.close()
