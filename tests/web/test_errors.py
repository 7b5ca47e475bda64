"""Error pages: in the visitor's language, inside the site's layout, never a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.core.extensions import db as _db
from app.core.security import PUBLIC, access
from tests.support.http import assert_security_headers

SECRET = "s" * 20 + "0123456789ab"
PEPPER = "p" * 20 + "ba9876543210"
TEXTS = {
    "fr": {
        "404": "Page introuvable",
        "500": "Une erreur est survenue",
        "home": "Retour à l’accueil",
    },
    "en": {"404": "Page not found", "500": "Something went wrong", "home": "Back to the home page"},
}


class Boom(Exception):
    """Raised by the test-only route; its message must never reach the visitor."""


@access(PUBLIC)
def boom():
    raise Boom("secret-detail-in-the-traceback")


@access(PUBLIC)
def broken_sql():
    # A failed statement leaves a PostgreSQL transaction aborted: the 500 page must still render.
    _db.session.execute(text("SELECT no_such_column FROM no_such_table"))
    return "unreachable"


@pytest.fixture(params=["testing", "production"])
def failing_app(request, app, database_url):
    """An app of that config with routes that fail (PROPAGATE_EXCEPTIONS off, as in production)."""
    overrides = {"SQLALCHEMY_DATABASE_URI": database_url, "PROPAGATE_EXCEPTIONS": False}
    if request.param == "production":
        overrides.update(SECRET_KEY=SECRET, PIN_PEPPER=PEPPER, SESSION_COOKIE_SECURE=False)
    failing = create_app(request.param, **overrides)
    failing.add_url_rule("/test-boom", view_func=boom)
    failing.add_url_rule("/test-broken-sql", view_func=broken_sql)
    yield failing
    with failing.app_context():
        _db.engine.dispose()


def page_text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_404_in_each_language(client, lang):
    response = client.get(f"/pas-une-page?lang={lang}")
    html = page_text(response)
    assert response.status_code == 404
    assert f'<html lang="{lang}">' in html
    assert TEXTS[lang]["404"] in html
    assert TEXTS[lang]["home"] in html
    assert 'class="skip-link"' in html  # the full layout, not a bare error
    assert_security_headers(response, "/pas-une-page")


def test_404_follows_accept_language_on_a_first_visit(client):
    response = client.get("/nowhere", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 404
    assert TEXTS["en"]["404"] in page_text(response)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_500_in_each_language_without_a_traceback(failing_app, lang, caplog):
    client = failing_app.test_client()
    response = client.get(f"/test-boom?lang={lang}")
    html = page_text(response)
    assert response.status_code == 500
    assert f'<html lang="{lang}">' in html
    assert TEXTS[lang]["500"] in html
    assert "secret-detail-in-the-traceback" not in html
    assert "Traceback" not in html and "Boom" not in html
    assert_security_headers(response, "/test-boom")
    # The people who run the site see what happened, in the log.
    assert "secret-detail-in-the-traceback" in caplog.text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_500_after_a_database_error_still_renders(failing_app, lang):
    client = failing_app.test_client()
    response = client.get(f"/test-broken-sql?lang={lang}")
    html = page_text(response)
    assert response.status_code == 500
    assert TEXTS[lang]["500"] in html
    assert "no_such_table" not in html
    assert_security_headers(response, "/test-broken-sql")
    # The next request on the same app works: the failed transaction was not left behind.
    assert client.get("/").status_code == 200


def test_405_and_csrf_errors_are_pages_of_the_site(client):
    response = client.post("/")
    assert response.status_code == 405
    assert '<html lang="fr">' in page_text(response)
    response = client.post("/connexion", data={"login": "x", "password": "y"})
    assert response.status_code == 400
    assert "Formulaire expiré" in page_text(response)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_500_when_the_database_is_unreachable(tmp_path, lang):
    down = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}",
        PROPAGATE_EXCEPTIONS=False,
    )
    try:
        response = down.test_client().get(f"/?lang={lang}")
        html = page_text(response)
        assert response.status_code == 500
        assert f'<html lang="{lang}">' in html
        assert TEXTS[lang]["500"] in html and TEXTS[lang]["home"] in html
        assert "sqlite" not in html.lower()
        assert_security_headers(response, "/")
    finally:
        with down.app_context():
            _db.engine.dispose()
