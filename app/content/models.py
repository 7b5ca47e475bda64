"""Public content: FAQ entries, editable pages, "was this page useful?" votes, and the
subscribers to the association's news.
"""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import Localized, Timestamped
from app.core.extensions import db


class FaqEntry(Localized, Timestamped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    question_fr: Mapped[str] = mapped_column(String(300))
    question_en: Mapped[str] = mapped_column(String(300))
    answer_fr: Mapped[str] = mapped_column(Text)
    answer_en: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=True)


class Page(Localized, Timestamped, db.Model):
    """Editable static pages (privacy notice, ...), in both languages."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_fr: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)


class FeedbackVote(Timestamped, db.Model):
    """ "Was this page useful?": one vote per visitor and page (the visitor is a random cookie id)."""

    __table_args__ = (UniqueConstraint("page", "visitor", name="uq_feedback_vote_page_visitor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page: Mapped[str] = mapped_column(String(80), index=True)
    visitor: Mapped[str] = mapped_column(String(64))
    useful: Mapped[bool] = mapped_column()


class Subscriber(Timestamped, db.Model):
    """People outside the area (or not ready yet) who asked to be kept informed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    commune: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(2), default="fr")
