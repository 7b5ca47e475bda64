"""Conventioned producers and shops, and where they stand at markets."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import Localized, Timestamped
from app.core.extensions import db

merchant_category = Table(
    "merchant_category",
    db.metadata,
    Column("merchant_id", ForeignKey("merchant.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("category.id", ondelete="CASCADE"), primary_key=True),
)


class Merchant(Localized, Timestamped, db.Model):
    __table_args__ = (
        CheckConstraint("kind IN ('producer', 'shop')", name="kind"),
        CheckConstraint("status IN ('pending', 'active', 'suspended')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default="producer")
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id"))
    address: Mapped[str] = mapped_column(String(300), default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    conventioned_since: Mapped[date | None] = mapped_column(nullable=True)
    iban: Mapped[str] = mapped_column(String(34), default="")

    commune = relationship("Commune")
    categories = relationship("Category", secondary=merchant_category, order_by="Category.position")
    stalls: Mapped[list[MarketStall]] = relationship(
        back_populates="merchant", cascade="all, delete-orphan", order_by="MarketStall.weekday"
    )
    cashiers = relationship("User", back_populates="merchant")

    @property
    def is_conventioned(self) -> bool:
        return self.status == "active" and self.conventioned_since is not None


class MarketStall(db.Model):
    """A merchant at a market: where, which day of the week (0 = Monday), from when to when."""

    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchant.id", ondelete="CASCADE"), index=True
    )
    place: Mapped[str] = mapped_column(String(160))
    weekday: Mapped[int] = mapped_column()
    opens: Mapped[time] = mapped_column()
    closes: Mapped[time] = mapped_column()

    merchant: Mapped[Merchant] = relationship(back_populates="stalls")


class Category(Localized, db.Model):
    """Product categories (fruit and vegetables, dairy, ...), chosen by the association."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_fr: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
