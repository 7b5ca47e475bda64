"""The factory builds each configuration; production refuses to start with weak secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.core.config import CONFIGS, DEFAULT_SECRET, DevelopmentConfig, ProductionConfig, TestConfig

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 16 + "3f9a0c1d2e4b5a6c"  # 32 characters, not a known default
GOOD_PEPPER = "p" * 16 + "0e1d2c3b4a596877"


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'config.sqlite3'}"


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.mark.parametrize(
    ("name", "config_class"),
    [("development", DevelopmentConfig), ("testing", TestConfig), ("production", ProductionConfig)],
)
def test_create_app_for_each_config(name, config_class, sqlite_url):
    overrides = (
        {"SECRET_KEY": GOOD_SECRET, "PIN_PEPPER": GOOD_PEPPER} if name == "production" else {}
    )
    app = create_app(name, SQLALCHEMY_DATABASE_URI=sqlite_url, **overrides)
    assert CONFIGS[name] is config_class
    assert app.config["TESTING"] is (name == "testing")
    assert app.debug is False
    assert app.config["SQLALCHEMY_DATABASE_URI"] == sqlite_url
    assert app.config["BABEL_DEFAULT_LOCALE"] == "fr"
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    # The blueprints of the foundation are registered, and the CLI group is there.
    assert {"public", "auth"} <= set(app.blueprints)
    assert "ssa" in app.cli.commands


def test_production_cookies_are_secure(sqlite_url):
    app = create_app(
        "production",
        SQLALCHEMY_DATABASE_URI=sqlite_url,
        SECRET_KEY=GOOD_SECRET,
        PIN_PEPPER=GOOD_PEPPER,
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["MAIL_BACKEND"] == "smtp"


def test_testing_keeps_csrf_and_a_high_public_form_limit(sqlite_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=sqlite_url)
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config["PUBLIC_FORM_LIMIT"] == 1000


@pytest.mark.parametrize(
    "secret",
    [None, "", DEFAULT_SECRET, TestConfig.SECRET_KEY, "short-but-random-9f8e7d", "x" * 31],
    ids=["missing", "empty", "default", "test-secret", "short", "31-chars"],
)
def test_production_refuses_a_weak_secret_key(secret, sqlite_url):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(
            "production",
            SQLALCHEMY_DATABASE_URI=sqlite_url,
            SECRET_KEY=secret,
            PIN_PEPPER=GOOD_PEPPER,
        )


@pytest.mark.parametrize(
    "pepper",
    [None, "", "dev-only-pin-pepper", TestConfig.PIN_PEPPER, "y" * 31],
    ids=["missing", "empty", "default", "test-pepper", "31-chars"],
)
def test_production_refuses_a_weak_pin_pepper(pepper, sqlite_url):
    with pytest.raises(RuntimeError, match="PIN_PEPPER"):
        create_app(
            "production",
            SQLALCHEMY_DATABASE_URI=sqlite_url,
            SECRET_KEY=GOOD_SECRET,
            PIN_PEPPER=pepper,
        )


def test_a_subclass_of_production_is_checked_too(sqlite_url):
    class Site(ProductionConfig):
        SECRET_KEY = DEFAULT_SECRET

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Site, SQLALCHEMY_DATABASE_URI=sqlite_url, PIN_PEPPER=GOOD_PEPPER)


def test_database_url_from_the_environment(monkeypatch, sqlite_url):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert create_app("testing").config["SQLALCHEMY_DATABASE_URI"] == sqlite_url


def _app_in_subprocess(env: dict, code: str) -> subprocess.CompletedProcess:
    """A new interpreter: the Config classes read the environment when they are imported."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "SECRET_KEY",
                "PIN_PEPPER",
                "FLASK_",
                "MAIL_",
                "DATABASE_URL",
                "BASE_URL",
                "SESSION_COOKIE",
                "PUBLIC_FORM",
            )
        )
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wsgi_refuses_to_start_in_production_without_secrets(tmp_path):
    result = _app_in_subprocess(
        {"FLASK_CONFIG": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"},
        "import wsgi",
    )
    assert result.returncode != 0
    assert "RuntimeError: ProductionConfig: set SECRET_KEY" in result.stderr


def test_settings_are_read_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    env = {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": GOOD_SECRET,
        "PIN_PEPPER": GOOD_PEPPER,
        "DATABASE_URL": url,
        "MAIL_BACKEND": "console",
        "MAIL_SERVER": "smtp.example.test",
        "MAIL_PORT": "587",
        "MAIL_USE_TLS": "true",
        "MAIL_FROM": "PATIAS <bonjour@example.test>",
        "BASE_URL": "https://caisse.example.test",
        "SESSION_COOKIE_SECURE": "false",
        "PUBLIC_FORM_LIMIT": "7",
    }
    keys = [
        "SECRET_KEY",
        "PIN_PEPPER",
        "SQLALCHEMY_DATABASE_URI",
        "MAIL_BACKEND",
        "MAIL_SERVER",
        "MAIL_PORT",
        "MAIL_USE_TLS",
        "MAIL_FROM",
        "BASE_URL",
        "SESSION_COOKIE_SECURE",
        "PUBLIC_FORM_LIMIT",
    ]
    code = f"import json, wsgi; print(json.dumps({{k: wsgi.app.config[k] for k in {keys!r}}}))"
    result = _app_in_subprocess(env, code)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])
    assert config == {
        "SECRET_KEY": GOOD_SECRET,
        "PIN_PEPPER": GOOD_PEPPER,
        "SQLALCHEMY_DATABASE_URI": url,
        "MAIL_BACKEND": "console",
        "MAIL_SERVER": "smtp.example.test",
        "MAIL_PORT": 587,
        "MAIL_USE_TLS": True,
        "MAIL_FROM": "PATIAS <bonjour@example.test>",
        "BASE_URL": "https://caisse.example.test",
        "SESSION_COOKIE_SECURE": False,
        "PUBLIC_FORM_LIMIT": 7,
    }


def test_unknown_config_name_is_refused():
    with pytest.raises(ValueError, match="development, testing, production"):
        create_app("staging")


def test_proxy_count_trusts_forwarded_addresses_only_when_set(tmp_path):
    from flask import request

    from app import create_app
    from app.core.security import PUBLIC, access

    def address_app(**overrides):
        app = create_app(
            "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite3'}", **overrides
        )

        @app.get("/_address")
        @access(PUBLIC)
        def _address():
            return request.remote_addr or ""

        return app

    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert address_app().test_client().get("/_address", headers=forwarded).text == "127.0.0.1"
    assert (
        address_app(PROXY_COUNT=1).test_client().get("/_address", headers=forwarded).text
        == "203.0.113.7"
    )
