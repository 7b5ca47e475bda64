"""The audit log: who did what in the back office, and when. Append-only.

Rows are written by `app.audit.log.record` and never changed: the ORM refuses to update or
delete them (see the listeners below) and no route edits them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.columns import UTCDateTime, utcnow
from app.core.extensions import db


class AuditEntry(db.Model):
    """One action: `actor` (None for the system) did `action` on `target_type` #`target_id`.

    `details` holds what the action needs to be understood later (amounts in cents, reasons,
    references), never a password, PIN, token or TOTP secret.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_action_created_at", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None] = mapped_column(nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.target_type}:{self.target_id}>"


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be deleted")
