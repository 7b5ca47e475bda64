"""tests/support/floor_app.py (served by bench/register.py) is the floor the register's ratio is
compared with: it must really do what it claims to (a signed-in cashier, the CSRF check, a
conditional debit that never goes below zero, an idempotency key), or its figure would flatter
the floor."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.support import floor_app


@pytest.fixture
def floor(tmp_path, monkeypatch):
    path = str(tmp_path / "floor.sqlite3")
    floor_app.create_database(path, accounts=2, balance=1_000)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("FLOOR_DATABASE", path)
    app = floor_app.create_app()
    app.config["TESTING"] = False  # keep the CSRF check on, as gunicorn serves it

    def balances() -> dict[int, int]:
        with sqlite3.connect(path) as db:
            return dict(db.execute("SELECT id, balance FROM account").fetchall())

    return app, balances


def signed_in(app):
    client = app.test_client()
    token = client.get("/login/7").get_data(as_text=True)
    return client, token


def test_a_sale_debits_the_member_credits_the_shop_and_shows_the_balance_left(floor):
    app, balances = floor
    client, token = signed_in(app)
    answer = client.post(
        "/sale", data={"csrf_token": token, "account": 1, "amount": 250, "key": "k" * 16}
    )
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert "data-sale-done" in body
    assert re.search(r"2,50 € payés, reste 7,50 €", body)
    assert balances() == {0: 250, 1: 750, 2: 1_000}


def test_the_same_key_twice_moves_money_once(floor):
    app, balances = floor
    client, token = signed_in(app)
    form = {"csrf_token": token, "account": 1, "amount": 300, "key": "same-key-123"}
    first = client.post("/sale", data=form).get_data(as_text=True)
    second = client.post("/sale", data=form).get_data(as_text=True)
    assert first == second
    assert balances()[1] == 700


def test_no_sale_beyond_the_balance(floor):
    app, balances = floor
    client, token = signed_in(app)
    answer = client.post(
        "/sale", data={"csrf_token": token, "account": 2, "amount": 1_001, "key": "k" * 16}
    )
    assert answer.status_code == 409
    assert balances() == {0: 0, 1: 1_000, 2: 1_000}


@pytest.mark.parametrize(
    "case", ["no token", "another session's token", "bad amount", "signed out"]
)
def test_what_is_refused_moves_nothing(floor, case):
    app, balances = floor
    client, token = signed_in(app)
    form = {"csrf_token": token, "account": 1, "amount": 100, "key": "k" * 16}
    expected = 400
    if case == "no token":
        del form["csrf_token"]
    elif case == "another session's token":
        form["csrf_token"] = signed_in(app)[1]
        client = app.test_client()
    elif case == "bad amount":
        form["amount"] = "-5"
        expected = 422
    else:  # the CSRF check comes first; without it, login_required still refuses
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        expected = 401
    assert client.post("/sale", data=form).status_code == expected
    assert balances() == {0: 0, 1: 1_000, 2: 1_000}
