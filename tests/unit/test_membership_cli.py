"""`flask ssa approve|reject|activation-letter` and the demo members."""

from __future__ import annotations

import os
import stat

import pytest

from app.core.calendar import Month
from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.ledger import transfers as ledger
from app.ledger.contributions import contributions_of
from app.ledger.models import Transfer
from app.members import auth, cards
from app.members.errors import InvalidActivationCode
from app.members.models import Application, Commune, Member, User


@pytest.fixture
def letters(app, tmp_path, monkeypatch):
    """Letters go to a temporary instance folder, not the real one."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path / "letters"


def _application(email):
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Trelins"))
    application = Application(
        first_name="Jules",
        last_name="Brun",
        commune_id=commune.id,
        address="Le Bourg",
        email=email,
        phone=None if email else "0477000000",
        contribution_cents=500,
    )
    db.session.add(application)
    db.session.commit()
    return application.id


def test_approve_with_email_says_the_link_was_mailed(runner, letters):
    application_id = _application("jules@example.test")
    result = runner.invoke(args=["ssa", "approve", str(application_id)])
    assert result.exit_code == 0, result.output
    assert "000018" in result.output and "jules@example.test" in result.output
    db.session.expire_all()
    assert db.session.get(Application, application_id).status == "approved"
    assert db.session.scalar(db.select(OutboxMessage.recipient)) == "jules@example.test"
    assert not letters.exists()


def test_approve_without_email_prints_the_code_and_writes_a_private_letter(runner, letters):
    application_id = _application(None)
    result = runner.invoke(args=["ssa", "approve", str(application_id)])
    assert result.exit_code == 0, result.output
    code = result.output.split("activation code: ")[1].split()[0]
    path = letters / "activation-000018.html"
    assert str(path) in result.output and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    html = path.read_text(encoding="utf-8")
    assert code in html and "000 018" in html and "Jules Brun" in html and "<style>" in html
    # The printed code activates the account.
    user = auth.activate_with_code("000018", code, "a long enough password", "2580")
    assert user.password_hash


def test_a_new_letter_for_a_member(runner, letters):
    application_id = _application(None)
    first = (
        runner.invoke(args=["ssa", "approve", str(application_id)])
        .output.split("activation code: ")[1]
        .split()[0]
    )
    result = runner.invoke(args=["ssa", "activation-letter", "000018"])
    assert result.exit_code == 0, result.output
    second = result.output.split("activation code: ")[1].split()[0]
    assert second != first
    with pytest.raises(InvalidActivationCode):
        auth.activate_with_code("000018", first, "a long enough password", "2580")
    db.session.rollback()
    assert (
        runner.invoke(args=["ssa", "activation-letter", "000019"]).exit_code != 0
    )  # typo in the number


def test_reject_with_a_reason(runner):
    application_id = _application("jules@example.test")
    result = runner.invoke(
        args=["ssa", "reject", str(application_id), "--reason", "Hors du territoire"]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    assert application.status == "rejected" and application.reason == "Hors du territoire"
    assert "Hors du territoire" in db.session.scalar(db.select(OutboxMessage.body))
    assert (
        runner.invoke(args=["ssa", "reject", str(application_id), "--reason", "again"]).exit_code
        != 0
    )
    assert (
        runner.invoke(args=["ssa", "reject", str(application_id)]).exit_code != 0
    )  # the reason is required


def test_unknown_application(runner):
    result = runner.invoke(args=["ssa", "approve", "999"])
    assert result.exit_code != 0 and "999" in result.output


def test_demo_members_are_seeded_once(app):
    from app.demo import members

    first = list(members.seed())
    db.session.commit()
    again = list(members.seed())
    db.session.commit()
    assert any("10 added" in line for line in first)
    assert any("0 added" in line for line in again)

    numbers = db.session.scalars(db.select(Member.number).order_by(Member.number)).all()
    assert numbers == [cards.member_number(n) for n in range(1, 11)]
    assert numbers[:2] == ["000018", "000026"]
    admin = db.session.scalar(db.select(User).where(User.email == "admin@patias.test"))
    assert admin.role == "admin" and auth.password_matches(admin, "patias-demo")
    period = str(Month.current())
    for n in range(1, 11):
        member = db.session.scalar(db.select(Member).where(Member.number == cards.member_number(n)))
        assert member.user.email == f"membre{n}@patias.test"
        assert auth.password_matches(member.user, "patias-demo")
        cards.verify_pin(member, "1234")
        allocations = db.session.scalar(
            db.select(db.func.count())
            .select_from(Transfer)
            .where(
                Transfer.kind == "allocation",
                Transfer.period == period,
                Transfer.destination_id == ledger.member_account(member).id,
            )
        )
        assert allocations == 1
    paid = [
        n
        for n in range(1, 11)
        if contributions_of(
            db.session.scalar(db.select(Member).where(Member.number == cards.member_number(n)))
        )
    ]
    assert len(paid) >= 3
    assert db.session.scalar(
        db.select(db.func.count()).select_from(Transfer).where(Transfer.kind == "contribution")
    ) == len(paid)
    pending = db.session.scalars(
        db.select(Application).where(Application.status == "pending")
    ).all()
    assert len(pending) == 2 and any(a.email is None for a in pending)
    assert list(ledger.verify()) == []
