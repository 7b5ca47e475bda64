"""Private links (`/inscription/<token>`, `/activation/<token>`, `/mot-de-passe/<token>`) never
reach the access log in full: gunicorn's (the real logger class, as gunicorn.conf.py names it)
and the development server's."""

from __future__ import annotations

import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.util import load_class

from app.core.accesslog import PrivateLinkLogger, mask_private_links

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-T0ken_abcdefghijklmnop.XYZ"
PRIVATE = [
    f"/inscription/{TOKEN}",
    f"/inscription/{TOKEN}/trajets/3/reserver",
    f"/activation/{TOKEN}",
    f"/mot-de-passe/{TOKEN}",
    f"/mot-de-passe/{TOKEN}?lang=en",
    f"https://caisse.example.org/activation/{TOKEN}",
    f"/activation%2F{TOKEN}",
]


@pytest.mark.parametrize("text", PRIVATE)
def test_the_token_is_masked(text):
    masked = mask_private_links(text)
    assert TOKEN not in masked and "[hidden]" in masked


@pytest.mark.parametrize("text", ["/evenements/fete", "/activation", "/compte/historique?page=2"])
def test_other_paths_are_left_alone(text):
    assert mask_private_links(text) == text


def _gunicorn_line(tmp_path, path: str, query: str = "", referer: str = "-") -> str:
    log = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log))
    cfg.set(
        "logger_class", load_class(runpy.run_path(str(ROOT / "gunicorn.conf.py"))["logger_class"])
    )
    logger = cfg.logger_class(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + (f"?{query}" if query else ""),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=123, headers=[])
    request = SimpleNamespace(headers=[("Referer", referer)])
    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in [*logger.access_log.handlers, *logger.error_log.handlers]:
        handler.close()
    return log.read_text()


def test_gunicorn_conf_names_the_masking_logger():
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert load_class(conf["logger_class"]) is PrivateLinkLogger


@pytest.mark.parametrize("path", [p for p in PRIVATE if p.startswith("/") and "?" not in p])
def test_gunicorn_access_log_masks_the_request_line(tmp_path, path):
    line = _gunicorn_line(tmp_path, path)
    assert "203.0.113.7" in line and "GET /" in line  # the line is written
    assert TOKEN not in line


def test_gunicorn_access_log_masks_the_referrer(tmp_path):
    line = _gunicorn_line(
        tmp_path, "/static/css/main.css", referer=f"https://caisse.example.org/inscription/{TOKEN}"
    )
    assert "/static/css/main.css" in line and TOKEN not in line


def test_the_development_server_log_is_masked(app, caplog):
    # The factory (run by the `app` fixture) installs the filter on werkzeug's logger.
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info(
            "%s - - [%s] %s",
            "127.0.0.1",
            "20/May/2026 12:00:00",
            f'"GET /activation/{TOKEN} HTTP/1.1" 200 -',
        )
    assert caplog.records and TOKEN not in caplog.text and "/activation/[hidden]" in caplog.text
