"""The association's own data (communes, categories, pickup points, rules), then its content."""

from __future__ import annotations

from collections.abc import Iterator

from app.content.models import FaqEntry, Page
from app.core.extensions import db
from app.core.i18n import fold
from app.core.settings import load_data
from app.events.models import PickupPoint
from app.members.models import Commune
from app.merchants.models import Category


def load_reference_data() -> None:
    """Communes, categories and pickup points from `app/data/` (insert what is missing)."""
    communes = {c.name: c for c in db.session.scalars(db.select(Commune))}
    for row in load_data("communes"):
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
    for position, row in enumerate(load_data("categories")):
        if row["slug"] not in existing:
            db.session.add(Category(position=position, **row))
    db.session.flush()
    points = set(db.session.scalars(db.select(PickupPoint.name)))
    for position, row in enumerate(load_data("pickup_points")):
        if row["name"] not in points:
            db.session.add(
                PickupPoint(name=row["name"], commune=communes[row["commune"]], position=position)
            )
    db.session.flush()


def load_content() -> tuple[int, int]:
    """The FAQ and the static pages from `app/data/` (insert what is missing, by slug).

    Entries already in the database are left alone: an admin may have edited them.
    Returns how many FAQ entries and pages were added.
    """
    known = set(db.session.scalars(db.select(FaqEntry.slug)))
    added_faq = 0
    for position, row in enumerate(load_data("faq")):
        if row["slug"] not in known:
            db.session.add(FaqEntry(position=position, **row))
            added_faq += 1
    known_pages = set(db.session.scalars(db.select(Page.slug)))
    added_pages = 0
    for row in load_data("pages"):
        if row["slug"] not in known_pages:
            db.session.add(Page(**row))
            added_pages += 1
    db.session.flush()
    return added_faq, added_pages


def seed() -> Iterator[str]:
    load_reference_data()
    yield "Association data: communes, categories, pickup points."
    added_faq, added_pages = load_content()
    yield f"Content: {added_faq} FAQ entries and {added_pages} pages added."
