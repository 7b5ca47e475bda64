"""Long lists shown a page at a time (`Pagination`, with what the `pagination` template macro
needs; `paginate` for a query) and the text search such lists offer (`contains_pattern`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request
from sqlalchemy import func, select

from app.core.extensions import db

# Beyond it a page number is only a way to overflow the database's integers (OFFSET).
MAX_PAGE = 10**6
LARGEST_PAGE = 2**63 - 1


def requested_page(name: str = "page") -> int:
    """The page asked in the query string: 1 when it is missing or not a whole number, capped
    at `MAX_PAGE` (a bigger one gives the last page, like any page past the end). A number past
    a 64-bit integer names no page of anything: 404, as an id past the largest one."""
    value = request.args.get(name, "1")
    if not value.isascii() or not value.isdigit():
        return 1
    if len(value.lstrip("0")) > 19 or int(value) > LARGEST_PAGE:
        abort(404)
    return max(1, min(int(value), MAX_PAGE))


def last_page(total: int, per_page: int) -> int:
    """The number of pages of `total` items (an empty list still has one, empty, page)."""
    return max(1, -(-total // per_page))


def page_in_range(page: int, total: int, per_page: int) -> int:
    """`page` brought into 1..last page: a number out of range gives the nearest page."""
    return min(max(1, page), last_page(total, per_page))


@dataclass(frozen=True)
class Pagination:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return last_page(self.total, self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(query, order_by: tuple, page: int, per_page: int) -> Pagination:
    """One page of the rows of `query` in the order `order_by` (counted first, so that a page
    number out of range gives the nearest page)."""
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = page_in_range(page, total, per_page)
    items = list(
        db.session.scalars(query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page))
    )
    return Pagination(items, page, per_page, total)


def contains_pattern(text: str) -> str:
    """A LIKE pattern for "contains `text`", with `%`, `_` and `\\` as plain characters: use it
    with `escape="\\\\"`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
