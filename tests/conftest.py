"""Fixtures shared by the whole suite.

Every test that asks for `app` runs once per database engine: a file SQLite (always) and
PostgreSQL (when `TEST_DATABASE_URL` is set; each run gets a database of its own, dropped at the
end). Tests that need PostgreSQL or Chromium skip with the reason when they are missing, and fail
instead when `CI=true`.
"""

from __future__ import annotations

import os
import re
import uuid

import psycopg
import pytest
from sqlalchemy import make_url, text

from app import create_app
from app.core.extensions import db as _db

IN_CI = os.environ.get("CI", "").lower() == "true"
ENGINES = ("sqlite", "postgresql")


def require(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing; in CI that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(
            f"{reason} (CI=true: missing requirements fail instead of skipping)", pytrace=False
        )
    pytest.skip(reason)


def _libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    url = make_url(base)
    name = f"patias_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def make_app(database_url: str, **overrides):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, **overrides)


@pytest.fixture(scope="session")
def _session_app(database_url):
    app = make_app(database_url)
    with app.app_context():
        _db.create_all()
    # Tests hold an app context, and Flask reuses it for the test client's requests, so `g` would
    # carry one request's locale (Flask-Babel), signed-in user (Flask-Login) and cached settings
    # into the next. In production every request has a `g` of its own: give each one here too.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    app.teardown_request(lambda _exc: _fresh_g())
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _fresh_g() -> None:
    from flask import g

    for name in list(vars(g)):
        delattr(g, name)


def truncate_all() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if conn.execute(
                text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            ).first():
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def app(_session_app):
    """The app, in an app context, with the association's reference data; emptied afterwards."""
    from app.demo.association import load_reference_data

    with _session_app.app_context():
        load_reference_data()
        _db.session.commit()
        yield _session_app
        _db.session.rollback()
        _db.session.remove()
        truncate_all()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def engine_name(app) -> str:
    return _db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form of a page (tests post like a browser does)."""
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def unused_totp_code(email: str, secret: str) -> str:
    """A code of `secret` valid now and for a later time step than the admin's last accepted one."""
    import time

    import pyotp

    from app.members.models import TotpCredential, User

    last = _db.session.scalar(
        _db.select(TotpCredential.last_step)
        .join(User, User.id == TotpCredential.user_id)
        .where(User.email == email)
    )
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = now if last is None or last < now else last + 1
        if step <= now + 1:  # the server accepts one step either side of its clock
            return totp.generate_otp(step)
        time.sleep(1)


class Auth:
    """Sign a user in through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, login: str, password: str = "patias-demo", follow: bool = False):
        page = self.client.get("/connexion")
        return self.client.post(
            "/connexion",
            data={
                "login": login,
                "password": password,
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
            follow_redirects=follow,
        )

    def login_admin(self, email: str, secret: str | None = None, password: str = "patias-demo"):
        """Sign an admin in: password, then the TOTP code of `secret` (default: the test secret)
        for a time step not used yet (a code is accepted once). Returns the 2FA step's response."""
        from tests.factories import TEST_TOTP_SECRET

        self.login(email, password)
        page = self.client.get("/admin/securite/verification")
        return self.client.post(
            "/admin/securite/verification",
            data={
                "code": unused_totp_code(email, secret or TEST_TOTP_SECRET),
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )

    def logout(self):
        page = self.client.get("/")
        return self.client.post(
            "/deconnexion", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
        )


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def post_form(client):
    """GET a page, then POST to it (or to `action`) with its CSRF token added."""

    def post(
        url: str, data: dict, action: str | None = None, headers: dict | None = None, **kwargs
    ):
        page = client.get(url)
        payload = {"csrf_token": csrf_from(page.get_data(as_text=True)), **data}
        return client.post(action or url, data=payload, headers=headers or {}, **kwargs)

    return post
