"""Admins' second factor: a TOTP secret per admin (RFC 6238, 30-second steps, 6 digits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import Timestamped, UTCDateTime


class TotpCredential(Timestamped, db.Model):
    """The admin's authenticator secret (base32), usable once `confirmed_at` is set.

    `last_step` is the time step of the last accepted code: a code is accepted only for a later
    step, so a code seen over someone's shoulder cannot be replayed within its window.
    The secret must be readable to check codes, so it is stored as is; the database is as
    sensitive as the application's secret key.
    """

    __tablename__ = "totp_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_step: Mapped[int | None] = mapped_column(nullable=True)
    # Wrong codes in a row, and the end of the block they caused.
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User")

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
