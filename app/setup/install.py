"""Installing a caisse: the association's base data and the first administrator.

The base data comes from `app/data/` (one JSON file per kind); a data file given to
`flask ssa init --data FILE` may replace any kind, as a JSON object:

    {"association": {...}, "communes": [...], "categories": [...], "pickup_points": [...],
     "faq": [...], "pages": [...]}

"association" holds rules stored as settings over `app/data/association.json`'s defaults; every
other key replaces the file of the same name.
"""

from __future__ import annotations

import json
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from app.content.models import FaqEntry, Page
from app.core.extensions import db
from app.core.i18n import fold
from app.core.settings import Setting, load_data, set_setting
from app.events.models import PickupPoint
from app.members import twofactor
from app.members.auth import check_password_strength, hash_password
from app.members.errors import WeakPassword
from app.members.models import Commune, TotpCredential, User
from app.merchants.models import Category
from app.setup.errors import SetupError

KINDS = ("communes", "categories", "pickup_points", "faq", "pages")
# The keys each row of a kind must have (text), and those it may have besides.
REQUIRED = {
    "communes": ("name",),
    "categories": ("slug", "name_fr", "name_en"),
    "pickup_points": ("name", "commune"),
    "faq": ("slug", "question_fr", "question_en", "answer_fr", "answer_en"),
    "pages": ("slug", "title_fr", "title_en", "body_fr", "body_en"),
}
OPTIONAL = {"communes": ("postcode", "aliases")}


def _rows(kind: str, data: dict | None) -> list:
    if data is not None and kind in data:
        return data[kind]
    return load_data(kind)


def load_reference_data(data: dict | None = None) -> None:
    """Communes, categories and pickup points from `app/data/` or `data` (insert what is missing)."""
    communes = {c.name: c for c in db.session.scalars(db.select(Commune))}
    for row in _rows("communes", data):
        if row["name"] not in communes:
            commune = Commune(
                name=row["name"],
                slug=fold(row["name"]).replace(" ", "-"),
                postcode=row.get("postcode", ""),
                aliases=row.get("aliases", []),
            )
            db.session.add(commune)
            communes[row["name"]] = commune
    existing = set(db.session.scalars(db.select(Category.slug)))
    for position, row in enumerate(_rows("categories", data)):
        if row["slug"] not in existing:
            db.session.add(Category(position=position, **row))
    db.session.flush()
    points = set(db.session.scalars(db.select(PickupPoint.name)))
    for position, row in enumerate(_rows("pickup_points", data)):
        if row["name"] not in points:
            db.session.add(
                PickupPoint(name=row["name"], commune=communes[row["commune"]], position=position)
            )
    db.session.flush()


def load_content(data: dict | None = None) -> tuple[int, int]:
    """The FAQ and the static pages from `app/data/` or `data` (insert what is missing, by slug).

    Entries already in the database are left alone: an admin may have edited them.
    Returns how many FAQ entries and pages were added.
    """
    known = set(db.session.scalars(db.select(FaqEntry.slug)))
    added_faq = 0
    for position, row in enumerate(_rows("faq", data)):
        if row["slug"] not in known:
            db.session.add(FaqEntry(position=position, **row))
            added_faq += 1
    known_pages = set(db.session.scalars(db.select(Page.slug)))
    added_pages = 0
    for row in _rows("pages", data):
        if row["slug"] not in known_pages:
            db.session.add(Page(**row))
            added_pages += 1
    db.session.flush()
    return added_faq, added_pages


def read_data_file(path: str | Path) -> dict:
    """The data file of `--data`, checked: a JSON object of known keys with well-formed rows."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError as exc:
        raise SetupError(f"{path}: no such file.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path}: cannot be read ({exc}).") from exc
    except json.JSONDecodeError as exc:
        raise SetupError(f"{path}: not valid JSON ({exc}).") from exc
    check_data(data, str(path))
    return data


def check_data(data, source: str = "data") -> None:
    if not isinstance(data, dict):
        raise SetupError(f"{source}: a JSON object is expected.")
    unknown = set(data) - {*KINDS, "association"}
    if unknown:
        raise SetupError(f"{source}: unknown keys {', '.join(sorted(unknown))}.")
    if not data:
        raise SetupError(f"{source}: give at least one of association, {', '.join(KINDS)}.")
    if "association" in data and not isinstance(data["association"], dict):
        raise SetupError(f"{source}: 'association' must be an object.")
    unknown = set(data.get("association", {})) - set(load_data("association"))
    if unknown:
        raise SetupError(f"{source}: unknown association keys {', '.join(sorted(unknown))}.")
    for kind in KINDS:
        if kind not in data:
            continue
        rows = data[kind]
        if not isinstance(rows, list):
            raise SetupError(f"{source}: '{kind}' must be a list.")
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise SetupError(f"{source}: {kind} row {number} is not an object.")
            missing = [key for key in REQUIRED[kind] if not isinstance(row.get(key), str)]
            if missing:
                raise SetupError(
                    f"{source}: {kind} row {number} lacks {', '.join(missing)} (text)."
                )
            extra = set(row) - {*REQUIRED[kind], *OPTIONAL.get(kind, ())}
            if extra:
                raise SetupError(
                    f"{source}: {kind} row {number} has unknown keys {', '.join(sorted(extra))}."
                )
    names = {row["name"] for row in _rows("communes", data)}
    for number, row in enumerate(_rows("pickup_points", data), start=1):
        if row["commune"] not in names:
            raise SetupError(
                f"{source}: pickup_points row {number}: unknown commune {row['commune']!r}."
            )


def is_initialised() -> bool:
    """Any base data, user or setting: `init` then refuses, to change nothing."""
    for model in (User, Commune, Category, PickupPoint, FaqEntry, Page, Setting):
        if db.session.scalar(db.select(db.func.count()).select_from(model)):
            return True
    return False


def check_admin(email: str, password: str | None) -> tuple[str, str]:
    """The admin's normalised e-mail and checked password; `SetupError` otherwise."""
    try:
        email = validate_email(
            email or "", check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError as exc:
        raise SetupError(f"Invalid administrator e-mail {email!r}: {exc}") from exc
    if not password:
        raise SetupError("No password given for the administrator.")
    try:
        check_password_strength(password)
    except WeakPassword as exc:
        raise SetupError(f"Password refused: {exc}") from exc
    return email, password


def install(email: str, password: str, data: dict | None = None) -> tuple[User, TotpCredential]:
    """Load the base data and create the first admin with a pending second factor.

    The caller has checked the input (`check_admin`, `read_data_file`) and commits.
    """
    if is_initialised():
        raise SetupError("The database is already initialised: nothing was changed.")
    if data is not None:
        check_data(data)
        for key, value in data.get("association", {}).items():
            set_setting(key, value)
    load_reference_data(data)
    load_content(data)
    admin = User(
        email=email,
        password_hash=hash_password(password),
        role="admin",
        display_name="Administrator",
    )
    db.session.add(admin)
    db.session.flush()
    credential = twofactor.start_enrolment(admin)
    return admin, credential
