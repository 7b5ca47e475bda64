"""The audit log: entries are appended with their details, never changed, never hold secrets."""

from __future__ import annotations

from datetime import date

import pytest

from app.audit import log as audit
from app.audit.models import AuditEntry, AuditLogIsAppendOnly
from app.core.extensions import db as _db
from tests.support.factories import make_admin


def test_record_and_read_back(app, db):
    admin = make_admin()
    entry = audit.record(
        admin.id,
        "contribution.recorded",
        "member",
        3,
        {"amount_cents": 1500, "paid_on": date(2026, 3, 5), "method": "cash"},
    )
    db.session.commit()
    stored = _db.session.get(AuditEntry, entry.id)
    assert stored.details == {"amount_cents": 1500, "paid_on": "2026-03-05", "method": "cash"}
    assert stored.actor_id == admin.id and stored.created_at is not None
    page = audit.journal(target_type="member", target_id=3)
    assert [e.id for e in page.items] == [entry.id]
    assert audit.actors() == [admin]


@pytest.mark.parametrize(
    "key", ["password", "pin", "new_pin", "card_token", "totp_secret", "activation_code", "iban"]
)
def test_secrets_never_reach_the_log(app, db, key):
    with pytest.raises(ValueError):
        audit.record(None, "member.card_unlocked", "member", 1, {key: "x"})


def test_harmless_keys_with_similar_words_are_allowed(app, db):
    audit.record(
        None,
        "merchant.updated",
        "merchant",
        1,
        {"iban_last4": "0185", "postcode": "42130", "pinned": True},
    )


def test_unknown_actions_are_refused(app, db):
    with pytest.raises(ValueError):
        audit.record(None, "anything.goes", "", None, {})


def test_entries_cannot_be_updated_or_deleted(app, db):
    entry = audit.record(None, "allocation.run", "period", None, {"period": "2026-03"})
    db.session.commit()
    entry.details = {"period": "2026-04"}
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert _db.session.get(AuditEntry, entry.id).details == {"period": "2026-03"}


def test_the_services_write_the_log_whoever_calls_them(app, db, runner):
    """The command line approves, suspends and records contributions too: the journal has them."""
    from app.ledger import contributions
    from app.ledger import transfers as ledger
    from app.members import membership
    from app.members.models import Application, Commune

    commune = _db.session.scalar(_db.select(Commune).where(Commune.name == "Leigneux"))
    application = Application(
        first_name="Élodie",
        last_name="Chambon",
        commune_id=commune.id,
        address="x",
        email="e@example.test",
        contribution_cents=500,
        status="pending",
    )
    _db.session.add(application)
    _db.session.flush()
    member = membership.approve(application).member
    membership.suspend(member)
    membership.reactivate(member)
    row = contributions.record_contribution(
        member, 500, ledger.today(), "cash", idempotency_key="k"
    )
    again = contributions.record_contribution(
        member, 500, ledger.today(), "cash", idempotency_key="k"
    )
    db.session.commit()
    assert again.id == row.id
    actions = [
        (e.action, e.actor_id, e.target_id)
        for e in _db.session.scalars(_db.select(AuditEntry).order_by(AuditEntry.id))
    ]
    assert actions == [
        ("application.approved", None, member.id),
        ("member.suspended", None, member.id),
        ("member.reactivated", None, member.id),
        ("contribution.recorded", None, member.id),
    ]


def test_the_allocate_command_is_in_the_journal(app, db, runner):
    from tests.support.factories import make_member

    make_member()
    db.session.commit()
    result = runner.invoke(args=["ssa", "allocate", "--month", "2025-06"])
    assert result.exit_code == 0, result.output
    [entry] = _db.session.scalars(
        _db.select(AuditEntry).where(AuditEntry.action == "allocation.run")
    )
    assert (
        entry.actor_id is None
        and entry.details["period"] == "2025-06"
        and entry.details["members_credited"] == 1
    )
