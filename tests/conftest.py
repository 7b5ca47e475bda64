"""Fixtures shared by the whole suite.

Every test that asks for `app` runs once per database engine: a file SQLite (always) and
PostgreSQL (when `TEST_DATABASE_URL` is set; each run gets a database of its own, dropped at the
end). Tests that need PostgreSQL or Chromium skip with the reason when they are missing, and fail
instead when `CI=true`. The functions behind these fixtures are in tests/support/.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from sqlalchemy import make_url

from app.core.extensions import db as _db
from tests.support.apps import ENGINES, fresh_g, libpq_url, make_app, require, truncate_all
from tests.support.http import Auth, csrf_from


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    url = make_url(base)
    name = f"patias_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def _session_app(database_url):
    app = make_app(database_url)
    with app.app_context():
        _db.create_all()
    # Tests hold an app context, and Flask reuses it for the test client's requests, so `g` would
    # carry one request's locale (Flask-Babel), signed-in user (Flask-Login) and cached settings
    # into the next. In production every request has a `g` of its own: give each one here too.
    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    app.teardown_request(lambda _exc: fresh_g())
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def app(_session_app):
    """The app, in an app context, with the association's reference data; emptied afterwards."""
    from app.setup.install import load_reference_data

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
