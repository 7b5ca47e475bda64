"""Security headers on every response, and pages the CSP can serve as they are.

The routes are not listed by hand: every GET route without arguments is walked, anonymous and
signed in as each role, so a page added later is checked too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from app.core.extensions import db as _db
from app.members.models import User
from tests.support.factories import make_user
from tests.support.http import assert_security_headers
from tests.support.sessions import open_sign_in

# Pages that need a query string to show their interesting state, and an unknown URL.
EXTRA_URLS = (
    "/?lang=en",
    "/communes?commune=boen",
    "/communes?commune=Paris",
    "/faq?lang=en",
    "/pas-une-page",
)
DEMO_LOGINS = {
    "member": "membre1@patias.test",
    "cashier": "caisse1@patias.test",
    "admin": "admin@patias.test",
}


def get_routes(app) -> list[str]:
    """Every GET URL of the app that takes no argument (static files aside)."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.arguments or "GET" not in rule.methods:
            continue
        urls.add(rule.rule)
    return sorted(urls)


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            if "src" not in names:
                self._in_script = True
                if names.get("type") not in (None, "", "text/javascript", "module"):
                    self._in_script = False  # data blocks (JSON) are not executed
            elif not names["src"] or names["src"].startswith(("http:", "https:", "//")):
                self.problems.append(f"script not from this site: {names['src']!r}")
        if tag == "style":
            self.problems.append("<style> element")
        if (
            tag == "link"
            and names.get("rel") == "stylesheet"
            and (names.get("href") or "").startswith(("http:", "https:", "//"))
        ):
            self.problems.append(f"stylesheet not from this site: {names['href']!r}")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>: {value!r}")
            elif name.startswith("on"):
                self.problems.append(f"event handler attribute {name} on <{tag}>")
            elif name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{name} on <{tag}> (needs eval)")
            elif name in ("href", "action", "src", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:80]!r}")


def inline_code(html: str) -> list[str]:
    """Also reports attributes rendered as the text "None" (WTForms does that with a None value)."""
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    nones = re.findall(r'<[a-z]+[^>]*\s[\w:-]+="None"[^>]*>', html)
    return parser.problems + [f"attribute with the value None: {tag[:160]}" for tag in nones]


def sign_in_as(client, role: str) -> User:
    """Put a demo user of that role in the session (a second factor, if any, is not the point here)."""
    user = _db.session.scalar(_db.select(User).where(User.email == DEMO_LOGINS[role]))
    if user is None:
        user = make_user(role, email=DEMO_LOGINS[role])
        _db.session.commit()
    from app.members import twofactor

    marker = twofactor.session_marker(user) if role == "admin" else None
    signed_in = open_sign_in(user)
    with client.session_transaction() as session:
        session["_user_id"] = signed_in["_user_id"]
        session["_fresh"] = True
        if marker:  # the demo admin's second factor, as if typed: the back office is walked too
            session[twofactor.SESSION_KEY] = marker
    return user


@pytest.fixture
def demo(app):
    from app.demo import seed_demo

    for _ in seed_demo():
        pass
    _db.session.commit()
    return app


# --------------------------------------------------------------------------------------------


def test_the_parser_finds_inline_code():
    html = (
        '<script>alert(1)</script><script src="/static/a.js"></script><p style="color:red" onclick="x()">'
        '<a href="javascript:x()">x</a><button hx-on:click="x">b</button><style>p{}</style>'
        '<script src="https://cdn.example/x.js"></script><script type="application/json">{"a": 1}</script>'
        '<input aria-invalid="None" name="x">'
    )
    problems = inline_code(html)
    assert len(problems) == 8, problems


def test_routes_are_walked(app):
    routes = get_routes(app)
    assert {"/", "/connexion", "/adherer", "/confidentialite"} <= set(routes)


def test_every_anonymous_response_has_the_headers_and_no_inline_code(client, app):
    for url in [*get_routes(app), *EXTRA_URLS]:
        response = client.get(url)
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        assert_security_headers(response, url)
        if response.mimetype == "text/html":
            assert inline_code(response.get_data(as_text=True)) == [], url
            assert "no-store" not in response.headers.get("Cache-Control", ""), (
                f"{url}: anonymous pages may be cached"
            )


@pytest.mark.parametrize("role", ["member", "cashier", "admin"])
def test_every_signed_in_response_has_the_headers_no_store_and_no_inline_code(demo, role):
    client = demo.test_client()
    sign_in_as(client, role)
    for url in [*get_routes(demo), *EXTRA_URLS]:
        response = client.get(url)
        assert response.status_code < 500, f"{role} {url} answered {response.status_code}"
        assert_security_headers(response, url)
        assert "no-store" in response.headers.get("Cache-Control", ""), (
            f"{role} {url}: no Cache-Control: no-store"
        )
        if response.mimetype == "text/html":
            assert inline_code(response.get_data(as_text=True)) == [], f"{role} {url}"


@pytest.mark.parametrize("role", [None, "cashier"])
def test_healthz_touches_no_database_signed_in_or_not(client, app, role):
    # The load balancer's check, and the floor the register's benchmark compares a sale with.
    from sqlalchemy import event

    if role:
        sign_in_as(client, role)
    _db.session.remove()  # start from no connection, as a server's request does
    statements = []

    def checkout(*_args):
        statements.append("a connection was taken from the pool")

    event.listen(_db.engine, "checkout", checkout)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(_db.engine, "checkout", checkout)
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert statements == []
    assert_security_headers(response, "/healthz")
    assert ("no-store" in response.headers.get("Cache-Control", "")) == bool(role)


def test_static_files_have_the_headers_and_stay_cacheable_when_signed_in(client, app):
    sign_in_as(client, "member")
    for path in ("/static/css/main.css", "/static/js/app.js", "/static/vendor/htmx-2.0.11.min.js"):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert_security_headers(response, path)
            # The cashier's tablet is on 4G: its CSS and JS must not be fetched again on every page.
            assert "no-store" not in response.headers.get("Cache-Control", ""), path


def test_errors_and_redirects_have_the_headers(client, app):
    for method, url in (
        ("get", "/pas-une-page"),
        ("post", "/"),
        ("get", "/compte"),
        ("post", "/connexion"),
    ):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 303, 400, 404, 405), (
            f"{method} {url}: {response.status_code}"
        )
        assert_security_headers(response, url)


def test_pages_that_differ_for_htmx_vary_on_hx_request(demo):
    """A cache must not serve a fragment to a full page load, nor the reverse."""
    checked = set()
    for role in (None, "member", "cashier", "admin"):
        client = demo.test_client()
        if role:
            sign_in_as(client, role)
        for url in [*get_routes(demo), *EXTRA_URLS]:
            full = client.get(url)
            fragment = client.get(url, headers={"HX-Request": "true"})
            if full.mimetype != "text/html" or full.status_code != 200:
                continue
            # Compared by shape, not bytes: the CSRF token in each page carries a timestamp.
            is_fragment = b"<html" in full.get_data() and b"<html" not in fragment.get_data()
            if is_fragment and fragment.status_code == 200:
                checked.add(url.split("?")[0])
                for response in (full, fragment):
                    vary = [v.strip() for v in response.headers.get("Vary", "").split(",")]
                    assert "HX-Request" in vary, (
                        f"{role} {url} returns a fragment to htmx without Vary: HX-Request"
                    )
    # The eligibility checker of /communes answers htmx with a fragment (issue 2, point 7).
    assert "/communes" in checked, checked


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "page.html"),
        ({"HX-Request": "true"}, "_partial.html"),
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, "page.html"),
    ],
)
def test_htmx_render_chooses_page_or_partial_and_varies(app, monkeypatch, headers, expected):
    from app.core import htmx

    monkeypatch.setattr(htmx, "render_template", lambda name, **ctx: name)
    with app.test_request_context("/", headers=headers):
        response = htmx.render("page.html", "_partial.html")
        assert response.get_data(as_text=True) == expected
        assert response.headers["Vary"] == "HX-Request"


def test_cookies_are_httponly_and_samesite(client, app):
    response = client.get("/?lang=en")
    cookies = response.headers.getlist("Set-Cookie")
    lang = [c for c in cookies if c.startswith("lang=")]
    assert lang, cookies
    assert "HttpOnly" in lang[0] and "SameSite=Lax" in lang[0]
    # Every page carries a CSRF token for htmx, kept in the session cookie.
    session = [c for c in cookies if c.startswith("session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=Lax" in session[0]


def test_no_web_fonts():
    """The site uses the system's fonts: nothing to download before the text shows."""
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "app" / "static"
    fonts = [
        p.name
        for p in static.rglob("*")
        if p.suffix.lower() in {".woff", ".woff2", ".ttf", ".otf", ".eot"}
    ]
    assert fonts == []
    faces = [p.name for p in static.rglob("*.css") if "@font-face" in p.read_text(encoding="utf-8")]
    assert faces == []
