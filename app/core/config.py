"""Configuration read from the environment.

`create_app()` picks the class from `FLASK_CONFIG` (development, testing, production); every
setting can be overridden by the environment variable of the same name.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET = "dev-only-not-secret"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    CONFIG_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    # Keyed hash of the 4-digit PINs: 10,000 possibilities need a secret pepper, not a slow hash.
    PIN_PEPPER = os.environ.get("PIN_PEPPER", "dev-only-pin-pepper")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'patias.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = ("fr", "en")

    # Each sign-in has its own end, kept on the server (app/members/sessions.py) and written in
    # the cookie's Expires (app/core/session_cookie.py): a member's browser session (idle 2 h),
    # a remembered member's 30 days, a cashier's market day (14 h). This is only the signed
    # cookie's maximum age: the longest of them.
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    # The session cookie is not re-sent on every response (a sale's round trips stay small on
    # 4G); its Expires is the sign-in's end, fixed at sign-in.
    SESSION_REFRESH_EACH_REQUEST = False
    # The age of a page's CSRF token (a form left open): a market day on the cashier's tablet.
    # The token's secret lives in the session and is replaced at each sign-in and sign-out, so
    # no token outlives its sign-in.
    WTF_CSRF_TIME_LIMIT = 14 * 3600
    WTF_CSRF_SSL_STRICT = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")  # console | smtp
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_FROM = os.environ.get("MAIL_FROM", "SSA PATIAS <contact@patias.test>")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    # Public forms: how many submissions one address may make in ten minutes.
    PUBLIC_FORM_LIMIT = int(os.environ.get("PUBLIC_FORM_LIMIT", "20"))
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # Number of reverse proxies in front of the app (their X-Forwarded-* headers are trusted):
    # rate limits key on the client address, which is the proxy's unless this is set.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Strict-Transport-Security: empty, no header (development serves plain http).
    HSTS = ""

    # Static files (app/core/static.py): hashed copies, gzip and brotli, built at start-up into
    # this directory (default: instance/static-build). Hashed names are cached for a year; the
    # plain names, still served, for this many seconds.
    STATIC_BUILD_DIR = os.environ.get("STATIC_BUILD_DIR") or None
    SEND_FILE_MAX_AGE_DEFAULT = 300
    # Pages, fragments and downloads (Flask-Compress): brotli or gzip, as the browser accepts,
    # from 500 bytes on. On slow 3G the HTML of /caisse is most of a reload. Streamed responses
    # (the plain static names) are left alone. BREACH: a page compressed with a secret (the CSRF
    # token) and reflected input leaks by its length only to an observer of the traffic who also
    # makes the browser send many signed-in requests; the session cookie is SameSite=Lax, so
    # another site's subresources arrive signed out.
    COMPRESS_ALGORITHM: ClassVar[list[str]] = ["br", "gzip"]
    COMPRESS_MIMETYPES: ClassVar[list[str]] = [
        "text/html",
        "text/plain",
        "text/csv",
        "text/calendar",
        "application/json",
        "application/xml",
    ]
    COMPRESS_MIN_SIZE = 500
    # Brotli 5: /caisse's 8 KB in 2.2 KB for under a millisecond (4: 2.35 KB; 11: 2.0 KB, 15 ms).
    COMPRESS_BR_LEVEL = 5
    COMPRESS_STREAMS = False


class DevelopmentConfig(Config):
    CONFIG_NAME = "development"
    DEBUG = False


class TestConfig(Config):
    CONFIG_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret"
    PIN_PEPPER = "test-pepper"
    WTF_CSRF_ENABLED = True
    SERVER_NAME = None
    PUBLIC_FORM_LIMIT = 1000


class ProductionConfig(Config):
    CONFIG_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    # One year, on every response: production is served over HTTPS only (README), behind a proxy
    # whose scheme the app may not see, and browsers ignore the header over plain http.
    # No includeSubDomains: the caisse's host may sit beside other sites of the association.
    HSTS = "max-age=31536000"

    @classmethod
    def check(cls, config: dict) -> None:
        """Refuse to start with a missing or default secret."""
        secret = config.get("SECRET_KEY") or ""
        if secret in ("", DEFAULT_SECRET, TestConfig.SECRET_KEY) or len(secret) < 32:
            raise RuntimeError(
                "ProductionConfig: set SECRET_KEY to a random value of 32+ characters."
            )
        if len(config.get("PIN_PEPPER") or "") < 32:
            raise RuntimeError(
                "ProductionConfig: set PIN_PEPPER to a random value of 32+ characters."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}
