""" "Was this page useful?": one vote per visitor and page.

A visitor who answers again (another tab, a double click) changes their answer: the row is
unique per (page, visitor), so the counts never hold two votes of the same visitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.content.models import FeedbackVote
from app.core.extensions import db

PAGE_KEY = re.compile(r"^[a-z0-9][a-z0-9_/-]{0,79}$")


@dataclass(frozen=True)
class Counts:
    useful: int
    not_useful: int

    @property
    def total(self) -> int:
        return self.useful + self.not_useful


def is_page_key(page: str | None) -> bool:
    return bool(PAGE_KEY.match(page or ""))


def vote(page: str, visitor: str, useful: bool) -> FeedbackVote:
    """Record (or change) `visitor`'s answer for `page`."""
    if not is_page_key(page):
        raise ValueError(f"bad page key: {page!r}")
    existing = _find(page, visitor)
    if existing is None:
        try:
            with db.session.begin_nested():
                existing = FeedbackVote(page=page, visitor=visitor, useful=useful)
                db.session.add(existing)
        except IntegrityError:  # the same visitor's second click won the race
            existing = _find(page, visitor)
    existing.useful = useful
    db.session.flush()
    return existing


def has_voted(page: str, visitor: str | None) -> bool:
    return bool(visitor) and _find(page, visitor) is not None


def counts(page: str) -> Counts:
    rows = db.session.execute(
        db.select(FeedbackVote.useful, db.func.count())
        .where(FeedbackVote.page == page)
        .group_by(FeedbackVote.useful)
    ).all()
    by_answer = {bool(useful): number for useful, number in rows}
    return Counts(useful=by_answer.get(True, 0), not_useful=by_answer.get(False, 0))


def _find(page: str, visitor: str) -> FeedbackVote | None:
    return db.session.scalar(
        db.select(FeedbackVote).where(FeedbackVote.page == page, FeedbackVote.visitor == visitor)
    )
