"""Static files: content-hashed names, gzip and brotli copies, a one-year immutable cache.

At start-up (`install(app)`, from the factory, the same under `flask run`, gunicorn and the tests)
every file of `app/static/` gets a name carrying a hash of its content
(`css/main.css` -> `css/main.1a2b3c4d5e6f.css`). The hashed copies and their `.gz` and `.br`
siblings are written once into a build directory (`instance/static-build/` by default,
`STATIC_BUILD_DIR`), never committed: a file whose hashed name is already there is not built
again, so a second start costs one hash of each file. A change of content is a new name, so the
build is never stale. Concurrent workers build under a file lock, and each file is written to a
temporary name and then renamed: a worker never sees half a file.

WhiteNoise serves the hashed names, with `Cache-Control: public, max-age=31536000, immutable`,
the compressed sibling the browser accepts (`Content-Encoding`, `Vary: Accept-Encoding`), and the
security headers of a file that is no page (`STATIC_SECURITY_HEADERS`). `url_for('static',
filename=...)` gives the hashed name (a `url_defaults` hook), so templates keep their ordinary
`url_for`. The plain names still work: they fall through to Flask's own static route, with a
short cache (`SEND_FILE_MAX_AGE_DEFAULT`) and uncompressed; the QR scanner's worker, imported by
the scanner under its plain name, is one of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

ONE_YEAR = 365 * 24 * 3600
HASH_LENGTH = 12
MANIFEST_KEY = "static_manifest"


class StaticFiles(WhiteNoise):
    """WhiteNoise with the issue's one year (its own default is ten)."""

    FOREVER = ONE_YEAR


def hashed_name(relative: str, data: bytes) -> str:
    """`js/register.js` -> `js/register.<12 hex digits of its SHA-256>.js`."""
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    directory, filename = posixpath.split(relative)
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:  # no extension, or a dot file: the hash goes last
        named = f"{filename}.{digest}"
    else:
        named = f"{stem}.{digest}.{extension}"
    return posixpath.join(directory, named) if directory else named


def source_files(source: Path) -> Iterator[tuple[str, Path]]:
    """(relative URL path, file) of every file under `source`, in a stable order."""
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue  # editors' and the OS's hidden files are no static files
        yield relative, path


def build(source: Path, target: Path) -> dict[str, str]:
    """Write the hashed copies of `source`'s files, with their compressed siblings, into `target`;
    return the manifest (plain name -> hashed name). Only missing files are written."""
    manifest: dict[str, str] = {}
    missing: list[tuple[str, bytes]] = []
    for relative, path in source_files(source):
        data = path.read_bytes()
        name = hashed_name(relative, data)
        manifest[relative] = name
        if not (target / name).is_file():
            missing.append((name, data))
    if missing:
        target.mkdir(parents=True, exist_ok=True)
        with _locked(target / ".lock"):
            compressor = Compressor(quiet=True)
            for name, data in missing:
                if not (target / name).is_file():  # another worker may have built it meanwhile
                    _write_with_siblings(compressor, target / name, data)
    return manifest


def _write_with_siblings(compressor: Compressor, path: Path, data: bytes) -> None:
    # The siblings first, the file last: a file that exists is complete with its siblings.
    path.parent.mkdir(parents=True, exist_ok=True)
    if compressor.should_compress(path.name) and data:
        for suffix, compressed in (
            (".br", compressor.compress_brotli(data)),
            (".gz", compressor.compress_gzip(data)),
        ):
            if len(compressed) <= 0.95 * len(data):  # WhiteNoise's own threshold
                _write_atomically(path.with_name(path.name + suffix), compressed)
    _write_atomically(path, data)


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: the atomic renames alone keep the files whole
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install(app: Flask) -> None:
    """Build the hashed files, serve them with WhiteNoise, and make `url_for` name them."""
    from app.core.security import STATIC_SECURITY_HEADERS

    source = Path(app.static_folder)
    target = Path(app.config.get("STATIC_BUILD_DIR") or Path(app.instance_path) / "static-build")
    try:
        manifest = build(source, target)
    except OSError:
        # A read-only disk must not stop the caisse: the plain names, served by Flask, still work.
        app.logger.exception("static files: could not build %s; serving the plain names", target)
        manifest = {}
    app.extensions[MANIFEST_KEY] = manifest
    if not manifest:
        return
    hashed_urls = {f"/static/{name}" for name in manifest.values()}

    def add_headers(headers, path, url):
        for name, value in STATIC_SECURITY_HEADERS.items():
            headers[name] = value

    files = StaticFiles(
        app.wsgi_app,
        max_age=app.config.get("SEND_FILE_MAX_AGE_DEFAULT") or 0,
        allow_all_origins=False,
        add_headers_function=add_headers,
        immutable_file_test=lambda path, url: url in hashed_urls,
    )
    # Only the current hashed names: older builds' files stay on disk but are not served, and a
    # plain name is Flask's (it reads the source, so an edited file is seen at once).
    for name in manifest.values():
        files.add_file_to_dictionary(f"/static/{name}", str(target / name))
    app.wsgi_app = files

    @app.url_defaults
    def hashed_static_name(endpoint: str, values: dict) -> None:
        if endpoint == "static":
            name = manifest.get(values.get("filename"))
            if name is not None:
                values["filename"] = name
