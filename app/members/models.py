"""People: sign-in identities (users), applications to join, members."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import Timestamped, UTCDateTime
from app.core.extensions import db


class User(UserMixin, Timestamped, db.Model):
    """Someone who signs in: a member, a merchant's cashier or an admin."""

    __table_args__ = (CheckConstraint("role IN ('member', 'cashier', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(10), default="member")
    display_name: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(2), default="fr")
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Bumped to end every session of the user (logout everywhere, erasure, password change).
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    login_blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchant.id"), nullable=True, index=True
    )

    merchant = relationship("Merchant", back_populates="cashiers")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot sign in
        return self.is_enabled

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is signed in: the user loader already refused disabled ones. (Flask-Login's
        default reads `is_active`, which after the request's commit would reload the row in a
        new transaction: on SQLite a POST would take the write lock a second time.)"""
        return True

    # The sign-in this request runs under (set by the user loader, or at sign-in): not a column.
    current_session = None  # a UserSession
    session_token = None
    cookie_id = None  # set at sign-in: get_id() then needs no reload after the commit

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookie: "user id:session version:session token"."""
        return self.cookie_id or f"{self.id}:{self.session_version}:{self.session_token or ''}"


class UserSession(db.Model):
    """One sign-in on one device, ended on the server (`app/members/sessions.py`).

    The cookie holds the random token; the table keeps only its SHA-256, so that a copy of the
    database opens no session. `expires_at` is absolute; `idle_seconds` (None: no idle limit)
    ends a session not used for that long; `last_seen_at` is written at most every few minutes.
    """

    __tablename__ = "user_session"
    __table_args__ = (
        CheckConstraint("kind IN ('member', 'cashier', 'admin')", name="kind"),
        CheckConstraint("idle_seconds IS NULL OR idle_seconds > 0", name="idle_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    idle_seconds: Mapped[int | None] = mapped_column(nullable=True)
    remember: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    device: Mapped[str] = mapped_column(String(60), default="")


class Application(Timestamped, db.Model):
    """A request to join, made on /adherer, waiting for a coordinator's decision."""

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("contribution_cents >= 0", name="contribution_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    commune_id: Mapped[int] = mapped_column(ForeignKey("commune.id"))
    address: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contribution_cents: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    commune = relationship("Commune")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def short_name(first_name: str, last_name: str | None) -> str:
    """First name and last-name initial: "Claire M."."""
    initial = f" {last_name[:1]}." if last_name else ""
    return f"{first_name}{initial}"


class Member(Timestamped, db.Model):
    """A member of the association: holds an allocation account, a card and a PIN.

    The member number is 5 digits plus a Luhn check digit. The card's QR code carries
    `card_token`, a random secret, never the number. `pin_hash` is an HMAC-SHA256 keyed with the
    server's pepper. After erasure the personal fields are blanked and `pseudonym` remains, so
    that the ledger keeps its amounts.
    """

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'erased')", name="status"),
        CheckConstraint("pledge_cents >= 0", name="pledge_not_negative"),
        CheckConstraint("pin_failures >= 0", name="pin_failures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(6), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True, nullable=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), nullable=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    commune_id: Mapped[int | None] = mapped_column(
        ForeignKey("commune.id"), nullable=True, index=True
    )
    address: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    pledge_cents: Mapped[int] = mapped_column(default=0)
    card_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    pin_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pin_failures: Mapped[int] = mapped_column(default=0)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User", backref="member", uselist=False)
    commune = relationship("Commune")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def short_name(self) -> str:
        """What a cashier may see: first name and last-name initial."""
        return short_name(self.first_name, self.last_name)


class ActivationCode(Timestamped, db.Model):
    """A one-time code printed on the activation letter of a member without e-mail.

    Only a keyed hash of the code is stored (HMAC with the secret key): the letter is the one
    place the code exists in clear. A code serves once and expires.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RetiredCardToken(Timestamped, db.Model):
    """The token of a card declared lost: kept so that the register can say "lost card"
    rather than "unknown card" when the old QR code is shown."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)


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


class Commune(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    postcode: Mapped[str] = mapped_column(String(5), default="")
    # Former communes merged into this one (Solore-en-Forez's delegated communes): also eligible.
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Commune {self.name}>"
