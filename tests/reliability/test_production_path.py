"""The README's Production section, step by step, on a fresh PostgreSQL database: the migrations,
`flask ssa init`, gunicorn with the production settings, and the administrator signing in with the
password and the second factor printed by `init`."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pyotp
import pytest

from tests.support.apps import require
from tests.support.http import csrf_from
from tests.support.register_server import (
    ROOT,
    create_postgres_database,
    production_env,
    start_server,
)

pytestmark = pytest.mark.slow

EMAIL = "coordination@asso.test"
PASSWORD = "the first admin's long password"


def flask(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`flask --app wsgi ...` as an operator types it, in the production environment."""
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Browser:
    """urllib with a cookie jar, following redirects like a browser."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body))

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()


@pytest.fixture
def fresh_postgres():
    base = os.environ.get("TEST_DATABASE_URL", "")
    require(base.startswith("postgresql"), "TEST_DATABASE_URL is not PostgreSQL: skipped")
    url, drop = create_postgres_database(base)
    yield url
    drop()


def test_readme_production_path_ends_with_the_admin_signed_in(fresh_postgres, tmp_path):
    env = {**production_env(), "DATABASE_URL": fresh_postgres}

    upgrade = flask(env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr

    init = flask(env, "ssa", "init", "--admin-email", EMAIL, stdin=PASSWORD + "\n")
    assert init.returncode == 0, init.stdout + init.stderr
    secret = re.search(r"^TOTP secret: ([A-Z2-7]+)$", init.stdout, re.M).group(1)
    assert "otpauth://totp/" in init.stdout

    again = flask(env, "ssa", "init", "--admin-email", EMAIL, stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "already initialised" in again.stderr
    demo = flask(env, "ssa", "seed-demo")
    assert demo.returncode != 0 and "production" in demo.stderr

    server = start_server(
        fresh_postgres,
        env,
        workers=1,
        threads=2,
        module="wsgi",
        factory="app",
        log_path=tmp_path / "gunicorn.log",
    )
    try:
        browser = Browser(server.base_url)
        status, _, page = browser.get("/connexion")
        assert status == 200
        status, url, page = browser.post(
            "/connexion", {"login": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(page)}
        )
        assert status == 200, page
        path = url.removeprefix(server.base_url)
        assert path.startswith("/admin/securite/inscription"), url  # the pending second factor
        status, url, page = browser.post(
            path,
            {"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)},
        )
        assert status == 200, page
        status, url, page = browser.get("/admin/")
        assert status == 200 and url.endswith("/admin/"), url
        assert "<h1>Tableau de bord</h1>" in page
    finally:
        server.stop()
    assert "Traceback" not in server.log()
