"""The audit log page: filters, and no way to change an entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.audit import log as audit
from app.audit.models import AuditEntry, AuditLogIsAppendOnly
from app.core.extensions import db as _db
from tests.support.factories import make_admin


@pytest.fixture
def admin(db, auth):
    user = make_admin(display_name="Trésorière")
    db.session.commit()
    assert auth.login_admin(user.email).status_code == 302
    return user


def test_entries_are_listed_and_filtered(client, admin, db):
    other = make_admin(display_name="Coordinateur")
    audit.record(
        admin.id, "allocation.run", "period", None, {"period": "2026-03", "total_cents": 12_300}
    )
    audit.record(other.id, "member.suspended", "member", 7, {"number": "000018"})
    old = audit.record(other.id, "member.reactivated", "member", 7, {"number": "000018"})
    _db.session.execute(
        _db.update(AuditEntry)
        .where(AuditEntry.id == old.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=40))
    )
    db.session.commit()
    html = client.get("/admin/journal?lang=en").get_data(as_text=True)
    assert (
        html.count("<tr data-action=") == 3
        and "€123.00" in html
        and "Member number: 000018" in html
    )
    html = client.get("/admin/journal?action=member.suspended").get_data(as_text=True)
    assert html.count("<tr data-action=") == 1 and 'data-action="member.suspended"' in html
    html = client.get(f"/admin/journal?actor={other.id}").get_data(as_text=True)
    assert html.count("<tr data-action=") == 2
    since = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    html = client.get(f"/admin/journal?since={since}").get_data(as_text=True)
    assert html.count("<tr data-action=") == 2
    until = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    html = client.get(f"/admin/journal?until={until}").get_data(as_text=True)
    assert html.count("<tr data-action=") == 1 and 'data-action="member.reactivated"' in html


@pytest.mark.parametrize(
    "query",
    [
        "action=not-an-action",
        "actor=abc",
        "since=2026-02-31",
        "since=2026-03-02&until=2026-03-01",
        "page=-1",
        "since=" + "9" * 5000,
    ],
)
def test_bad_filters_are_answered(client, admin, db, query):
    response = client.get("/admin/journal?" + query)
    assert response.status_code in (200, 400)


def test_the_journal_cannot_be_changed(client, admin, db):
    entry = audit.record(admin.id, "allocation.run", "period", None, {"period": "2026-03"})
    db.session.commit()
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/admin/journal").status_code in (400, 405)
    entry.action = "member.suspended"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.delete(db.session.get(AuditEntry, entry.id))
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "query", ["until=9999-12-31", "since=0001-01-01", "since=0001-01-01&until=9999-12-31"]
)
def test_out_of_range_dates_are_refused_with_a_message(client, admin, db, query):
    response = client.get("/admin/journal?lang=en&" + query)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter a date between 2000 and 2099." in html
    assert ('value="9999-12-31"' in html) or ('value="0001-01-01"' in html)


def test_the_journal_service_takes_the_extreme_days(app, db):
    from datetime import date

    assert audit.journal(since=date.min, until=date.max).total == 0


def test_an_unreadable_date_is_shown_back_as_typed(client, admin, db):
    html = client.get("/admin/journal?since=31/02/2026&until=05/03/2026").get_data(as_text=True)
    assert (
        '<input aria-describedby="since-error" aria-invalid="true" id="since" name="since" type="text" value="31/02/2026">'
        in html
    )
    assert '<input id="until" name="until" type="date" value="2026-03-05">' in html
