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
    UniqueConstraint,
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
        back_populates="merchant", cascade="all, delete-orphan", order_by="MarketStall.id"
    )
    cashiers = relationship("User", back_populates="merchant")

    @property
    def is_conventioned(self) -> bool:
        return self.status == "active" and self.conventioned_since is not None

    @property
    def active_stalls(self) -> list[MarketStall]:
        """Its stalls at the markets still held, by day of the week, then hour and place."""
        return sorted(
            (stall for stall in self.stalls if stall.market.active),
            key=lambda stall: (stall.weekday, stall.opens, stall.place),
        )


class Market(db.Model):
    """A market the association knows: where, which day of the week (0 = Monday), from when to
    when. Defined once; merchants are linked to it by their stalls. A market no longer held is
    made inactive (its stalls are kept, no longer shown)."""

    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place: Mapped[str] = mapped_column(String(160))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("commune.id"), nullable=True)
    weekday: Mapped[int] = mapped_column()
    opens: Mapped[time] = mapped_column()
    closes: Mapped[time] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)

    commune = relationship("Commune")
    stalls: Mapped[list[MarketStall]] = relationship(
        back_populates="market", cascade="all, delete-orphan", order_by="MarketStall.id"
    )


class MarketStall(db.Model):
    """A merchant at a market: the market says where, which day and from when to when."""

    __table_args__ = (UniqueConstraint("merchant_id", "market_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchant.id", ondelete="CASCADE"), index=True
    )
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id", ondelete="CASCADE"), index=True)

    merchant: Mapped[Merchant] = relationship(back_populates="stalls")
    market: Mapped[Market] = relationship(back_populates="stalls")

    # The readers of a stall (public pages, map) read its market's place, day and hours.
    @property
    def place(self) -> str:
        return self.market.place

    @property
    def weekday(self) -> int:
        return self.market.weekday

    @property
    def opens(self) -> time:
        return self.market.opens

    @property
    def closes(self) -> time:
        return self.market.closes


class Category(Localized, db.Model):
    """Product categories (fruit and vegetables, dairy, ...), chosen by the association."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_fr: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
