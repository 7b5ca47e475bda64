"""`flask db upgrade` from empty gives exactly the models' schema, on SQLite and PostgreSQL, and the
migrations go down to nothing and up again."""

from __future__ import annotations

import logging
import os
import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url

from app.core.extensions import db as _db
from tests.support.apps import libpq_url, make_app, require


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """Two empty databases of the engine: one for the migrations, one for `create_all()`."""
    if request.param == "sqlite":
        yield tmp_path / "migrated.sqlite3", tmp_path / "created.sqlite3"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    require(bool(base), "TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    url = make_url(base)
    names = [f"patias_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}_{n}" for n in ("a", "b")]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield tuple(url.set(database=name).render_as_string(hide_password=False) for name in names)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def as_url(value) -> str:
    return f"sqlite:///{value}" if not isinstance(value, str) else value


def differences(app) -> list:
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, _db.metadata)


def schema(url: str) -> dict:
    """What the database itself says: columns, keys, indexes, unique and check constraints."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = {}
        for table in sorted(t for t in inspector.get_table_names() if t != "alembic_version"):
            tables[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted(
                    (
                        f["name"],
                        tuple(f["constrained_columns"]),
                        f["referred_table"],
                        tuple(f["referred_columns"]),
                        str(f.get("options", {}).get("ondelete")),
                    )
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(
                    (c["name"], " ".join(c["sqltext"].split()))
                    for c in inspector.get_check_constraints(table)
                ),
            }
        return tables
    finally:
        engine.dispose()


def storage_options(url: str) -> dict:
    """PostgreSQL's per-table storage parameters (`WITH (fillfactor = ...)`); SQLite has none."""
    if not url.startswith("postgresql"):
        return {}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reloptions IS NOT NULL"
            ).all()
        return {name: sorted(options) for name, options in rows}
    finally:
        engine.dispose()


@pytest.fixture
def keep_app_loggers():
    """Alembic's logging set-up must not silence the application's loggers."""
    yield
    assert not logging.getLogger("app").disabled, "migrations/env.py disabled the app's loggers"


def test_upgrade_from_empty_equals_the_models(empty_url, keep_app_loggers):
    migrated, created = (as_url(u) for u in empty_url)
    app = make_app(migrated)
    with app.app_context():
        upgrade()
        assert differences(app) == [], (
            "the migration does not match the models: run tools/regen_migration.sh"
        )
        _db.engine.dispose()
    # And constraint by constraint, the same schema as create_all() (compare_metadata skips CHECKs).
    reference = make_app(created)
    with reference.app_context():
        _db.create_all()
        _db.engine.dispose()
    assert schema(migrated) == schema(created)
    assert storage_options(migrated) == storage_options(created)
    if migrated.startswith("postgresql"):
        # Balances are rewritten in place (HOT updates) by the sales and the monthly credit.
        assert storage_options(migrated)["account"] == ["fillfactor=50"]


def test_downgrade_to_base_then_upgrade_again(empty_url, keep_app_loggers):
    url = as_url(empty_url[0])
    app = make_app(url)
    with app.app_context():
        upgrade()
        tables = set(inspect(_db.engine).get_table_names())
        assert {"user", "member", "commune", "setting"} <= tables
        downgrade(revision="base")
        assert set(inspect(_db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(_db.engine).get_table_names()) == tables
        assert differences(app) == []
        _db.engine.dispose()


def test_the_demo_data_loads_on_the_migrated_schema(empty_url):
    """`make run` seeds a migrated database, not a create_all() one."""
    from app.demo import seed_demo

    app = make_app(as_url(empty_url[0]))
    with app.app_context():
        upgrade()
        for _ in seed_demo():
            pass
        _db.session.commit()
        from app.members.models import Commune

        assert _db.session.scalar(_db.select(_db.func.count()).select_from(Commune)) == 21
        _db.session.remove()
        _db.engine.dispose()


def test_0002_moves_the_stalls_places_and_hours_into_markets(empty_url, keep_app_loggers):
    """Stalls of 0001 at the same place, day and hours become one market shared by their
    merchants; a merchant's duplicate stall disappears; going down puts them back on the stalls."""
    from sqlalchemy import text

    url = as_url(empty_url[0])
    app = make_app(url)
    with app.app_context():
        upgrade(revision="0001")
        with _db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO commune (id, name, slug, postcode, aliases, eligible)"
                    " VALUES (1, 'Sauvain', 'sauvain', '42990', '[]', :yes)"
                ),
                {"yes": True},
            )
            for merchant_id in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO merchant (id, name, kind, commune_id, address, description_fr,"
                        " description_en, status, iban, created_at) VALUES (:id, :name, 'producer',"
                        " 1, '', '', '', 'active', '', :at)"
                    ),
                    {
                        "id": merchant_id,
                        "name": f"Ferme {merchant_id}",
                        "at": "2026-01-01 00:00:00",
                    },
                )
            stalls = [
                (1, "Marché de Boën", 3, "08:00:00", "12:30:00"),
                (2, "Marché de Boën", 3, "08:00:00", "12:30:00"),
                (1, "Marché de Boën", 3, "08:00:00", "12:30:00"),  # a duplicate of the first
                (2, "Vente à la ferme", 4, "16:00:00", "19:00:00"),
            ]
            for merchant_id, place, weekday, opens, closes in stalls:
                conn.execute(
                    text(
                        "INSERT INTO market_stall (merchant_id, place, weekday, opens, closes)"
                        " VALUES (:m, :p, :w, :o, :c)"
                    ),
                    {"m": merchant_id, "p": place, "w": weekday, "o": opens, "c": closes},
                )
        upgrade(revision="0002")
        with _db.engine.connect() as conn:
            markets = conn.execute(
                text("SELECT id, place, weekday, active FROM market ORDER BY id")
            ).all()
            links = conn.execute(
                text(
                    "SELECT merchant_id, market_id FROM market_stall ORDER BY merchant_id, market_id"
                )
            ).all()
        assert [(m.place, m.weekday, bool(m.active)) for m in markets] == [
            ("Marché de Boën", 3, True),
            ("Vente à la ferme", 4, True),
        ]
        boen, farm = markets[0].id, markets[1].id
        assert [tuple(row) for row in links] == [(1, boen), (2, boen), (2, farm)]
        downgrade(revision="0001")
        with _db.engine.connect() as conn:
            back = conn.execute(
                text("SELECT merchant_id, place, weekday FROM market_stall ORDER BY id")
            ).all()
        assert [tuple(row) for row in back] == [
            (1, "Marché de Boën", 3),
            (2, "Marché de Boën", 3),
            (2, "Vente à la ferme", 4),
        ]
        _db.engine.dispose()
