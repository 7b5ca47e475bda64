"""`direct_sql()`: one `DirectSQL` per transaction of the session, shared by the sale's user load,
settings and operation; a new one after a commit or a rollback, and the session still flushed
before each use."""

from __future__ import annotations

from app.core.database import DirectSQL, direct_sql
from app.core.extensions import db
from app.members.models import Member
from tests.support.factories import make_member


def test_one_direct_sql_per_transaction(app):
    with app.test_request_context("/"):
        first = direct_sql(db.session)
        assert isinstance(first, DirectSQL)
        assert direct_sql(db.session) is first
        db.session.commit()
        second = direct_sql(db.session)
        assert second is not first
        assert direct_sql(db.session) is second
        db.session.rollback()
        assert direct_sql(db.session) is not second


def test_the_session_is_flushed_before_each_use(app):
    with app.test_request_context("/"):
        sql = direct_sql(db.session)
        member = make_member(first_name="Flushée")  # added to the session
        member.first_name = "Changée"  # pending in the session, not yet in the database
        assert direct_sql(db.session) is sql
        row = sql.one("SELECT first_name FROM member WHERE id = ?", (member.id,))
        assert row == ("Changée",)
        db.session.rollback()
        assert db.session.get(Member, member.id) is None
