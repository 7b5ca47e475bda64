"""The association's data and public content: communes, categories, pickup points, FAQ, pages,
settings (association rules), feedback votes, the mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import Localized, Timestamped, UTCDateTime


class Commune(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    postcode: Mapped[str] = mapped_column(String(5), default="")
    # Former communes merged into this one (Solore-en-Forez's delegated communes): also eligible.
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible: Mapped[bool] = mapped_column(default=True)

    pickup_points: Mapped[list[PickupPoint]] = relationship(back_populates="commune")

    def __repr__(self) -> str:
        return f"<Commune {self.name}>"


class Category(Localized, db.Model):
    """Product categories (fruit and vegetables, dairy, ...), chosen by the association."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_fr: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)


class PickupPoint(db.Model):
    """Carpool departure points: the town-hall squares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id"))
    position: Mapped[int] = mapped_column(default=0)

    commune: Mapped[Commune] = relationship(back_populates="pickup_points")


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


class Setting(db.Model):
    """Association rules as data (allocation amount, roll-over rule, minimum contribution, ...)."""

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSON)


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


class OutboxMessage(Timestamped, db.Model):
    """Mail written in the same transaction as what it reports; `flask ssa send-mail` sends it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class RateLimitHit(db.Model):
    """Counters for public forms and lookups (per address or per user, per window)."""

    __table_args__ = (
        UniqueConstraint("scope", "key", "window", name="uq_rate_limit_hit_scope_key_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    window: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
