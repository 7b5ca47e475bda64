"""Mail goes through the outbox: written in the same transaction as what it reports, sent after
the commit by `flask ssa send-mail` (in development it is printed to the console)."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import Integer, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import Timestamped, UTCDateTime, utcnow
from app.core.extensions import db


def queue_mail(recipient: str, template: str, language: str = "fr", **context) -> OutboxMessage:
    """Render `mail/<template>.txt` in the recipient's language and add it to the outbox.

    The template's first line is the subject; the rest is the body.
    """
    with force_locale(language):
        text = render_template(f"mail/{template}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    message = OutboxMessage(recipient=recipient, subject=subject.strip(), body=body.strip() + "\n")
    db.session.add(message)
    db.session.flush()
    return message


def send_pending(limit: int = 200) -> tuple[int, int]:
    """Send what the outbox holds; returns (sent, failed). Commits after each message."""
    sent = failed = 0
    pending = db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 5)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    for message in pending:
        message.attempts += 1
        try:
            _deliver(message)
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = str(exc)[:500]
            failed += 1
        else:
            message.sent_at = utcnow()
            sent += 1
        db.session.commit()
    return sent, failed


# A sent mail's body (activation and password links, names, amounts) is kept this long, for
# "did you get my mail?"; the row (recipient, subject, dates) stays.
SENT_BODY_DAYS = 30
PURGED_BODY = ""


def purge_sent_bodies(now: datetime | None = None, days: int = SENT_BODY_DAYS) -> int:
    """Empty the body of every mail sent more than `days` before `now` (the row stays).
    Returns how many were emptied. Flushes, never commits."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_not(None),
            OutboxMessage.sent_at < cutoff,
            OutboxMessage.body != PURGED_BODY,
        )
        .values(body=PURGED_BODY)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount


def _deliver(message: OutboxMessage) -> None:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    if config["MAIL_BACKEND"] == "console":
        print(
            f"--- mail to {message.recipient}\nSubject: {message.subject}\n\n{message.body}",
            flush=True,
        )
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


class OutboxMessage(Timestamped, db.Model):
    """Mail written in the same transaction as what it reports; `flask ssa send-mail` sends it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
