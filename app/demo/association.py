"""The association's own data (communes, categories, pickup points, rules), then its content:
loaded as `flask ssa init` does (`app.setup.install`)."""

from __future__ import annotations

from collections.abc import Iterator

from app.setup.install import load_content, load_reference_data


def seed() -> Iterator[str]:
    load_reference_data()
    yield "Association data: communes, categories, pickup points."
    added_faq, added_pages = load_content()
    yield f"Content: {added_faq} FAQ entries and {added_pages} pages added."
