"""Page weight: what a first visit downloads, gzip-compressed (level 6), against the budget.

The issue's budget: `/` first load, HTML + CSS + JS, at most 60 KB compressed (counted here as
60,000 bytes). The cashier's `/caisse` is measured too when that route exists: it is loaded on a
market stall over 4G. Images and icons, and scripts loaded later on demand (named in `data-*` attributes, such as the
register's QR scanner), are listed but not counted (the budget is about text of the first load).

Run: `python -m bench page_weight` (or `make bench`). Prints JSON; also writes
bench/results/page_weight.json.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

BUDGET_BYTES = 60_000
RESULTS = Path(__file__).resolve().parent / "results"
CASHIER = "caisse1@patias.test"
PASSWORD = "patias-demo"


class Assets(HTMLParser):
    """Same-origin stylesheets, scripts and images referenced by a page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").lower().split()
        if tag == "link" and "stylesheet" in rel and a.get("href"):
            self.found.append(("css", a["href"]))
        elif tag == "link" and ("icon" in rel or "preload" in rel) and a.get("href"):
            self.found.append(
                (
                    "css"
                    if a.get("as") == "style"
                    else "js"
                    if a.get("as") == "script"
                    else "image",
                    a["href"],
                )
            )
        elif tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))
        elif tag == "img" and a.get("src"):
            self.found.append(("image", a["src"]))
        # Scripts a page loads later, on demand (the register's QR scanner): listed, not counted.
        for name, value in attrs:
            if name.startswith("data-") and value and value.split("?")[0].endswith(".js"):
                self.found.append(("js-on-demand", value))


_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""")


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def fetch(client, url: str) -> bytes:
    with client.get(url) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return response.get_data()


def measure(client, path: str) -> dict:
    """The page and every same-origin CSS/JS it loads (CSS @imports followed), gzip sizes."""
    base = f"http://localhost{path}"
    html = fetch(client, path)
    parts = [
        {
            "url": path,
            "type": "html",
            "raw_bytes": len(html),
            "gzip_bytes": gz(html),
            "counted": True,
        }
    ]
    parser = Assets()
    parser.feed(html.decode("utf-8"))
    queue, seen = list(parser.found), {path}
    while queue:
        kind, ref = queue.pop(0)
        absolute = urlsplit(urljoin(base, ref))
        if absolute.netloc != "localhost":
            parts.append(
                {
                    "url": ref,
                    "type": kind,
                    "note": "other origin: not loaded by this site",
                    "counted": False,
                }
            )
            continue
        url = absolute.path + (f"?{absolute.query}" if absolute.query else "")
        if url in seen:
            continue
        seen.add(url)
        data = fetch(client, url)
        counted = kind in ("css", "js")
        parts.append(
            {
                "url": url,
                "type": kind,
                "raw_bytes": len(data),
                "gzip_bytes": gz(data),
                "counted": counted,
            }
        )
        if kind == "css":
            queue.extend(
                ("css", urljoin(f"http://localhost{url}", imp))
                for imp in _CSS_IMPORT.findall(data.decode("utf-8", "replace"))
            )
    total = sum(p["gzip_bytes"] for p in parts if p["counted"])
    return {
        "page": path,
        "total_gzip_bytes": total,
        "budget_bytes": BUDGET_BYTES,
        "within_budget": total <= BUDGET_BYTES,
        "parts": parts,
    }


def sign_in(client, login: str) -> bool:
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not token:
        return False
    response = client.post(
        "/connexion", data={"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    return response.status_code in (302, 303)


def build_app(directory: str):
    from app import create_app
    from app.core.extensions import db
    from app.demo import seed_demo

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{directory}/bench.sqlite3")
    with app.app_context():
        db.create_all()
        for _ in seed_demo():
            pass
        db.session.commit()
        db.session.remove()
    return app


def main(argv: list[str] | None = None) -> dict:
    results = {"benchmark": "page_weight", "compression": "gzip level 6", "pages": [], "notes": []}
    with tempfile.TemporaryDirectory() as directory:
        app = build_app(directory)
        # No app context held around the clients: each request must get its own (its own `g`).
        results["pages"].append(measure(app.test_client(), "/"))
        if "merchant.register" not in app.view_functions:
            results["notes"].append(
                "/caisse not measured: the cash register route does not exist yet."
            )
        else:
            client = app.test_client()
            if sign_in(client, CASHIER):
                results["pages"].append(measure(client, "/caisse"))
            else:
                results["notes"].append(
                    f"/caisse not measured: could not sign in as {CASHIER} (demo data missing?)."
                )
        with app.app_context():
            from app.core.extensions import db

            db.engine.dispose()
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    (RESULTS / "page_weight.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    for page in results["pages"]:
        verdict = "within" if page["within_budget"] else "OVER"
        print(
            f"{page['page']}: {page['total_gzip_bytes']:,} bytes gzip, {verdict} the {BUDGET_BYTES:,}-byte budget",
            file=sys.stderr,
        )
    for note in results["notes"]:
        print(note, file=sys.stderr)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
