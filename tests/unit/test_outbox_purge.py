"""Sent mails' bodies leave the outbox 30 days after sending (the row stays); an event's private
registration links stop working 30 days after the event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.extensions import db
from app.core.mail import OutboxMessage, purge_sent_bodies
from app.events.errors import PrivateLinkExpired
from app.events.rules import registration_by_token
from tests.support.factories import make_event, make_registration

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def _mail(sent_at: datetime | None, body: str = "Votre lien : https://x/activation/secret\n"):
    message = OutboxMessage(recipient="a@example.test", subject="Sujet", body=body)
    message.sent_at = sent_at
    db.session.add(message)
    db.session.flush()
    return message


def _bodies() -> dict[int, str]:
    db.session.expire_all()
    return {m.id: m.body for m in db.session.scalars(db.select(OutboxMessage))}


def test_bodies_of_mails_sent_over_30_days_ago_are_emptied(app):
    old = _mail(NOW - timedelta(days=30, seconds=1))
    edge = _mail(NOW - timedelta(days=30) + timedelta(seconds=1))
    recent = _mail(NOW - timedelta(days=2))
    unsent = _mail(None)
    db.session.commit()
    assert purge_sent_bodies(now=NOW) == 1
    bodies = _bodies()
    assert bodies[old.id] == ""
    assert "secret" in bodies[edge.id] and "secret" in bodies[recent.id]
    assert "secret" in bodies[unsent.id]  # not sent yet: still to send
    kept = db.session.get(OutboxMessage, old.id)
    assert kept.recipient == "a@example.test" and kept.subject == "Sujet" and kept.sent_at
    assert purge_sent_bodies(now=NOW) == 0  # nothing twice


def test_send_mail_empties_old_bodies(app, runner):
    old = _mail(datetime.now(UTC) - timedelta(days=45))
    recent = _mail(datetime.now(UTC) - timedelta(days=1))
    db.session.commit()
    result = runner.invoke(args=["ssa", "send-mail"])
    assert result.exit_code == 0, result.output
    assert "1 body(ies)" in result.output
    bodies = _bodies()
    assert bodies[old.id] == "" and "secret" in bodies[recent.id]


@pytest.fixture
def past_registration(app):
    event = make_event()
    registration = make_registration(event)
    event.starts_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    event.ends_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    db.session.commit()
    return registration


def test_a_private_link_works_until_30_days_after_the_event(past_registration):
    token = past_registration.token
    end = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert registration_by_token(token, now=end + timedelta(days=30)) == past_registration
    with pytest.raises(PrivateLinkExpired):
        registration_by_token(token, now=end + timedelta(days=30, seconds=1))


def test_an_unknown_link_is_none(app):
    assert registration_by_token("x" * 30, now=NOW) is None
