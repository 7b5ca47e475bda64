"""Static files: content-hashed names in the pages, a one-year immutable cache, gzip and brotli
by Accept-Encoding, the plain names still served (short cache), a new name for a changed file;
and the pages themselves compressed (app/core/static.py, Flask-Compress)."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from pathlib import Path

import brotli
import pytest

from app import create_app
from app.core import static
from app.core.extensions import db as _db
from tests.support.factories import make_user
from tests.support.http import assert_security_headers

SOURCE = Path(static.__file__).resolve().parents[1] / "static"
HASHED = re.compile(r'/static/([\w./-]+)\.([0-9a-f]{12})\.(css|js|svg)"')
ONE_YEAR = 365 * 24 * 3600


def source_bytes(relative: str) -> bytes:
    return (SOURCE / relative).read_bytes()


def hashed_url(app, relative: str) -> str:
    return "/static/" + app.extensions[static.MANIFEST_KEY][relative]


def get(client, url: str, encoding: str | None = None):
    headers = {"Accept-Encoding": encoding} if encoding is not None else {}
    with client.get(url, headers=headers) as response:
        response.body = response.get_data()  # read whole, then the file is closed
    return response


# --- the names in the pages ------------------------------------------------------------------


def test_pages_name_the_hashed_files_and_the_hash_is_the_content(client):
    html = client.get("/").get_data(as_text=True)
    found = {f"{stem}.{ext}": digest for stem, digest, ext in HASHED.findall(html)}
    for relative in ("css/main.css", "css/public.css", "js/app.js", "vendor/htmx-2.0.11.min.js"):
        assert relative in found, relative
        assert found[relative] == hashlib.sha256(source_bytes(relative)).hexdigest()[:12]
        assert f'/static/{relative}"' not in html  # never the plain name


def test_the_register_names_the_scanner_by_its_hashed_name_too(app):
    # Loaded on demand from a data- attribute: url_for gives the hashed name there as well.
    with app.test_request_context():
        from flask import url_for

        scanner = url_for("static", filename="vendor/qr-scanner/qr-scanner.min.js")
        unknown = url_for("static", filename="css/not-a-file.css")
    assert re.fullmatch(r"/static/vendor/qr-scanner/qr-scanner\.min\.[0-9a-f]{12}\.js", scanner)
    assert unknown == "/static/css/not-a-file.css"  # not in the manifest: left as it is


# --- the hashed files ------------------------------------------------------------------------


def test_hashed_files_are_cached_a_year_immutable(client, app):
    for relative in ("css/main.css", "js/register.js", "img/logo.svg"):
        response = get(client, hashed_url(app, relative))
        assert response.status_code == 200, relative
        cache = response.cache_control
        assert cache.max_age == ONE_YEAR and cache.immutable and cache.public, cache
        assert not cache.no_store and not cache.no_cache and not cache.private
        assert response.body == source_bytes(relative)  # no Accept-Encoding: as it is
        assert "Content-Encoding" not in response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert (
            response.headers["Content-Security-Policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )


def test_hashed_files_stay_public_when_signed_in(client, app):
    user = make_user("cashier")
    _db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert "no-store" in client.get("/caisse").headers["Cache-Control"]  # the page is private
    response = get(client, hashed_url(app, "css/register.css"))
    assert response.status_code == 200
    assert response.cache_control.immutable and response.cache_control.max_age == ONE_YEAR
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("br", "br", brotli.decompress),
        ("gzip, deflate", "gzip", gzip.decompress),
        ("identity", None, bytes),
    ],
)
def test_brotli_or_gzip_as_the_browser_accepts(client, app, accept, encoding, decode):
    relative = "vendor/htmx-2.0.11.min.js"
    response = get(client, hashed_url(app, relative), accept)
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) == len(response.body)
    assert decode(response.body) == source_bytes(relative)
    if encoding:
        assert len(response.body) < len(source_bytes(relative)) / 2
    assert response.headers["Content-Type"].startswith("text/javascript")


def test_a_revalidation_answers_not_modified(client, app):
    url = hashed_url(app, "css/main.css")
    etag = get(client, url).headers["ETag"]
    again = get(client, url)
    with client.get(url, headers={"If-None-Match": etag}) as response:
        assert response.status_code == 304 and response.get_data() == b""
    assert again.headers["ETag"] == etag


# --- the plain names and the rest ------------------------------------------------------------


def test_the_plain_name_still_works_with_a_short_cache(client):
    for relative in ("css/main.css", "vendor/qr-scanner/qr-scanner-worker.min.js"):
        response = get(client, f"/static/{relative}")
        assert response.status_code == 200, relative
        assert response.body == source_bytes(relative)
        cache = response.cache_control
        assert cache.max_age == 300 and not cache.immutable, cache
        assert_security_headers(response, relative)


@pytest.mark.parametrize(
    "url",
    [
        "/static/css/main.000000000000.css",
        "/static/css/nope.css",
        "/static/../app/__init__.py",
        "/static/%2e%2e/wsgi.py",
        "/static/css/main.css.br",
    ],
)
def test_what_is_not_a_static_file_is_not_found(client, url):
    response = get(client, url, "br, gzip")
    assert response.status_code == 404, url


def test_a_post_to_a_static_file_is_refused(client, app):
    with client.post(hashed_url(app, "css/main.css")) as response:
        assert response.status_code == 405


# --- the build -------------------------------------------------------------------------------


def make_source(root: Path) -> Path:
    source = root / "source"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: #123; }\n" * 200)
    (source / "js").mkdir()
    (source / "js" / "app.js").write_text("console.log('one');\n" * 100)
    (source / "img").mkdir()
    (source / "img" / "photo.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 4)
    (source / ".hidden").write_text("not served")
    return source


def test_a_changed_file_gets_a_new_name_and_the_others_keep_theirs(tmp_path):
    source, target = make_source(tmp_path), tmp_path / "build"
    first = static.build(source, target)
    assert set(first) == {"css/site.css", "js/app.js", "img/photo.png"}  # no hidden file
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", first["css/site.css"])
    for name in first.values():
        assert (target / name).read_bytes() == (source / _plain(name)).read_bytes()
    css = target / first["css/site.css"]
    assert gzip.decompress((css.parent / (css.name + ".gz")).read_bytes()) == css.read_bytes()
    assert brotli.decompress((css.parent / (css.name + ".br")).read_bytes()) == css.read_bytes()
    png = target / first["img/photo.png"]
    assert not (png.parent / (png.name + ".br")).exists()  # images are not compressed again

    (source / "css" / "site.css").write_text("body { color: #456; }\n" * 200)
    second = static.build(source, target)
    assert second["css/site.css"] != first["css/site.css"]
    assert (target / second["css/site.css"]).read_text().startswith("body { color: #456; }")
    assert (target / first["css/site.css"]).exists()  # a page still open names the old one
    assert second["js/app.js"] == first["js/app.js"]


def _plain(hashed: str) -> str:
    return re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", hashed)


def test_a_second_build_writes_nothing(tmp_path):
    source, target = make_source(tmp_path), tmp_path / "build"
    manifest = static.build(source, target)
    files = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    assert static.build(source, target) == manifest
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()} == files
    assert not list(target.rglob(".tmp-*"))


def test_workers_building_at_once_each_get_whole_files(tmp_path):
    source, target = make_source(tmp_path), tmp_path / "build"
    manifests, errors = [], []

    def worker():
        try:
            manifests.append(static.build(source, target))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(manifests) == 6 and all(m == manifests[0] for m in manifests)
    for name in manifests[0].values():
        assert (target / name).read_bytes() == (source / _plain(name)).read_bytes()
    assert not list(target.rglob(".tmp-*"))


def test_an_app_serves_its_own_build_directory(tmp_path):
    target = tmp_path / "static-build"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", STATIC_BUILD_DIR=str(target))
    url = hashed_url(app, "css/main.css")
    assert (target / url.removeprefix("/static/")).is_file()
    response = get(app.test_client(), url, "br")
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.body) == source_bytes("css/main.css")


def test_an_unwritable_build_directory_falls_back_to_the_plain_names(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI="sqlite://", STATIC_BUILD_DIR=str(blocker / "build")
    )
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/main.css") == "/static/css/main.css"
    response = get(app.test_client(), "/static/css/main.css")
    assert response.status_code == 200 and response.body == source_bytes("css/main.css")


# --- the pages -------------------------------------------------------------------------------


def test_pages_are_compressed_when_the_browser_accepts_it(client):
    plain = client.get("/").get_data()
    assert "Content-Encoding" not in client.get("/").headers  # the test client asks for nothing
    for accept, encoding, decode in (
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
    ):
        response = client.get("/", headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert_security_headers(response, "/")
        body = decode(response.get_data()).decode()
        assert "<html" in body and len(response.get_data()) < len(plain) / 2
        # The page itself, not another one: the same text as uncompressed (the CSRF token aside).
        assert re.sub(r'value="[^"]{40,}"', "", body) == re.sub(
            r'value="[^"]{40,}"', "", plain.decode()
        )


def test_small_answers_are_not_compressed(client):
    response = client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "Content-Encoding" not in response.headers
