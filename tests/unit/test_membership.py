"""Membership: approval and rejection, numbers and cards, lost cards, pledges, erasure."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func

from app.core.columns import utcnow
from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.core.settings import set_setting
from app.ledger import transfers as ledger
from app.ledger.models import Account, Transfer
from app.members import auth, cards, membership
from app.members.errors import (
    ApplicationNotPending,
    EmailTaken,
    InvalidMemberNumber,
    LostCard,
    PledgeTooLow,
    UnknownMember,
)
from app.members.models import ActivationCode, Application, Commune, Member, RetiredCardToken, User
from tests.support.factories import make_member, make_user


def make_application(email: str | None = "claire@example.test", **fields) -> Application:
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    values = dict(
        first_name="Claire",
        last_name="Martin",
        commune_id=commune.id,
        address="1 rue du Lignon",
        email=email,
        phone=None if email else "0477000000",
        contribution_cents=1500,
    )
    values.update(fields)
    application = Application(**values)
    db.session.add(application)
    db.session.flush()
    return application


def make_shop(name: str = "Ferme du Lignon"):
    from app.merchants.models import Merchant

    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Boën-sur-Lignon"))
    shop = Merchant(name=name, commune_id=commune.id, status="active")
    db.session.add(shop)
    db.session.flush()
    return shop


def _outbox(recipient: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient == recipient))
    )


def test_numbers_follow_the_highest_one_with_a_check_digit(app):
    assert membership.next_member_number() == "000018"
    make_member()
    make_member()
    assert membership.next_member_number() == "000034"
    db.session.add(
        Member(number=cards.member_number(41), pseudonym="m-gap", first_name="A", last_name="B")
    )
    db.session.flush()
    assert membership.next_member_number() == cards.member_number(42)


def test_approval_with_email_creates_the_member_and_mails_the_activation_link(app):
    application = make_application(email="Claire@Example.test")
    approval = membership.approve(application, actor_id=None)
    db.session.commit()

    member, user = approval.member, approval.user
    assert approval.letter is None
    assert application.status == "approved" and application.decided_at is not None
    assert member.number == "000018" and cards.check_member_number(member.number) == member.number
    assert (member.first_name, member.last_name, member.pledge_cents) == ("Claire", "Martin", 1500)
    assert member.status == "active" and member.application_id == application.id
    assert (
        user.role == "member" and user.email == "claire@example.test" and member.user_id == user.id
    )
    assert user.password_hash == ""  # not activated yet: nobody can sign in
    assert len(member.card_token) >= 32
    [mail] = _outbox("claire@example.test")
    assert "/activation/" in mail.body and member.number in mail.body
    token = mail.body.split("/activation/")[1].split()[0]
    assert auth.user_for_activation_token(token).id == user.id
    # Approved after the month's run: this month's allocation arrives at once.
    account = ledger.member_account(member)
    assert ledger.balance(account) == 10000
    assert (
        db.session.scalar(
            db.select(func.count())
            .select_from(Transfer)
            .where(Transfer.kind == "allocation", Transfer.destination_id == account.id)
        )
        == 1
    )
    assert list(ledger.verify()) == []


def test_approval_without_email_issues_a_letter_code_stored_only_as_a_keyed_hash(app):
    application = make_application(email=None)
    approval = membership.approve(application)
    db.session.commit()
    letter = approval.letter
    assert approval.user.email is None and approval.member.email is None
    assert letter is not None and len(letter.code) == 9 and letter.code[4] == "-"
    assert timedelta(days=59) < letter.expires_at - utcnow() <= timedelta(days=60)
    [row] = db.session.scalars(db.select(ActivationCode))
    plain = auth.normalize_code(letter.code)
    assert plain not in row.code_hash and letter.code not in row.code_hash
    assert row.code_hash != hashlib.sha256(plain.encode()).hexdigest()
    assert db.session.scalar(db.select(func.count()).select_from(OutboxMessage)) == 0

    html = membership.render_activation_letter(approval.member, letter)
    assert letter.code in html and "000 018" in html and "Claire Martin" in html


def test_two_approvals_get_two_numbers_and_two_card_tokens(app):
    first = membership.approve(make_application(email="a@example.test")).member
    second = membership.approve(make_application(email="b@example.test", first_name="Bruno")).member
    assert (first.number, second.number) == ("000018", "000026")
    assert first.card_token != second.card_token
    assert first.pseudonym != second.pseudonym


def test_an_application_is_decided_once(app):
    application = make_application()
    membership.approve(application)
    with pytest.raises(ApplicationNotPending):
        membership.approve(application)
    with pytest.raises(ApplicationNotPending):
        membership.reject(application, "late")


def test_an_email_already_used_is_refused_and_nothing_is_created(app):
    make_user(email="taken@example.test")
    with pytest.raises(EmailTaken):
        membership.approve(make_application(email="taken@example.test"))
    db.session.rollback()
    assert db.session.scalar(db.select(func.count()).select_from(Member)) == 0


def test_rejection_keeps_the_reason_and_mails_it(app):
    application = make_application(email="no@example.test")
    membership.reject(application, "  Outside the 21 communes.  ")
    assert application.status == "rejected" and application.reason == "Outside the 21 communes."
    [mail] = _outbox("no@example.test")
    assert "Outside the 21 communes." in mail.body
    assert db.session.scalar(db.select(func.count()).select_from(Member)) == 0


def test_rejection_without_email_sends_nothing(app):
    membership.reject(make_application(email=None), "Incomplete")
    assert db.session.scalar(db.select(func.count()).select_from(OutboxMessage)) == 0


def test_a_lost_card_gets_a_new_token_and_the_old_one_reads_as_lost(app):
    member = make_member()
    old = member.card_token
    new = membership.report_lost_card(member)
    assert new != old and member.card_token == new
    assert membership.find_by_card_token(new) is member
    with pytest.raises(LostCard):
        membership.find_by_card_token(old)
    with pytest.raises(UnknownMember):
        membership.find_by_card_token("never-issued-token")
    with pytest.raises(UnknownMember):
        membership.find_by_card_token("")
    # A second loss retires the second token too.
    membership.report_lost_card(member)
    with pytest.raises(LostCard):
        membership.find_by_card_token(new)


def test_find_by_number_catches_typos_before_any_lookup(app):
    member = make_member()
    assert membership.find_by_number(f" {member.number[:3]} {member.number[3:]} ") is member
    with pytest.raises(InvalidMemberNumber):
        membership.find_by_number(member.number[:5] + str((int(member.number[5]) + 1) % 10))
    with pytest.raises(UnknownMember):
        membership.find_by_number(cards.member_number(999))


def test_the_pledge_respects_the_association_minimum(app):
    member = make_member()
    membership.change_pledge(member, 0)
    assert member.pledge_cents == 0
    set_setting("min_contribution_cents", 500)
    with pytest.raises(PledgeTooLow):
        membership.change_pledge(member, 499)
    membership.change_pledge(member, 500)
    assert member.pledge_cents == 500


def test_suspension_and_reactivation(app):
    member = make_member()
    membership.suspend(member)
    assert member.status == "suspended"
    membership.reactivate(member)
    assert member.status == "active"


def _ledger_snapshot():
    balances = dict(db.session.execute(db.select(Account.id, Account.balance_cents)).all())
    transfers = db.session.execute(
        db.select(
            Transfer.id, Transfer.source_id, Transfer.destination_id, Transfer.amount_cents
        ).order_by(Transfer.id)
    ).all()
    return balances, transfers


def test_erasure_blanks_personal_data_and_leaves_the_ledger_untouched(app):
    application = make_application(email="erase.me@example.test", phone="0611223344")
    member = membership.approve(application).member
    auth.activate(member.user, "a long password", "4391")
    merchant_account = ledger.merchant_account(make_shop())
    ledger.transfer(
        source=ledger.member_account(member),
        destination=merchant_account,
        amount_cents=2350,
        kind="purchase",
    )
    old_token = member.card_token
    membership.report_lost_card(member)
    other = make_member()
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(other),
        amount_cents=10000,
        kind="allocation",
    )
    db.session.commit()
    before = _ledger_snapshot()
    version = member.user.session_version
    pseudonym = member.pseudonym

    membership.erase(member)
    db.session.commit()
    db.session.expire_all()

    member = db.session.get(Member, member.id)
    assert member.full_name == "Adhérent effacé" and member.pseudonym == pseudonym
    assert (member.email, member.phone, member.address, member.card_token, member.pin_hash) == (
        None,
        None,
        "",
        None,
        None,
    )
    assert member.status == "erased"
    user = db.session.get(User, member.user_id)
    assert user.email is None and user.password_hash == "" and not user.is_enabled
    assert user.session_version == version + 1
    application = db.session.get(Application, application.id)
    assert (application.first_name, application.email, application.phone, application.address) == (
        "Adhérent",
        None,
        None,
        "",
    )
    assert _outbox("erase.me@example.test") == []
    assert db.session.scalar(db.select(func.count()).select_from(RetiredCardToken)) == 0
    with pytest.raises(UnknownMember):
        membership.find_by_card_token(old_token)
    with pytest.raises(UnknownMember):
        membership.find_by_number(member.number)
    # The ledger: every balance and every transfer as before, and still sound.
    assert _ledger_snapshot() == before
    assert list(ledger.verify()) == []
    assert ledger.balance(ledger.member_account(member)) == 10000 - 2350


def test_export_holds_every_own_row_and_none_of_anothers(app):
    shop = ledger.merchant_account(make_shop(name="Ferme des Bruyères"))
    me, them = (
        make_member(first_name="Moi"),
        make_member(first_name="Autre", email="autre@example.test"),
    )
    caisse = ledger.system_account("caisse")
    mine, theirs = [], []
    for member, rows in ((me, mine), (them, theirs)):
        account = ledger.member_account(member)
        rows.append(
            ledger.transfer(
                source=caisse, destination=account, amount_cents=10000, kind="allocation"
            )
        )
        purchase = ledger.transfer(
            source=account, destination=shop, amount_cents=1234, kind="purchase"
        )
        rows.append(purchase)
        rows.append(ledger.reverse(purchase, kind="refund", actor_id=None))
    from app.ledger.contributions import record_contribution

    my_contribution = record_contribution(me, 1500, ledger.today(), "cash")
    their_contribution = record_contribution(them, 2500, ledger.today(), "cheque")
    from app.events.models import Registration
    from tests.support.factories import make_event

    event = make_event(title_fr="Assemblée des adhérents")
    for person, token in ((me, "my-registration-token"), (them, "their-registration-token")):
        db.session.add(
            Registration(
                event_id=event.id,
                name=person.full_name,
                email=person.email,
                token=token,
                member_id=person.id,
            )
        )
    db.session.commit()

    data = membership.export_data(me)
    refs = {row["reference"] for row in data["ledger"]["movements"]}
    assert refs == {t.reference for t in mine}
    assert {c["reference"] for c in data["contributions"]} == {my_contribution.reference}
    assert data["member"]["first_name"] == "Moi" and data["member"]["number"] == me.number
    assert data["ledger"]["balance_cents"] == 10000
    [registration] = data["event_registrations"]
    assert registration["event"] == "Assemblée des adhérents" and registration["email"] == me.email
    flat = repr(data)
    assert them.number not in flat and "Autre" not in flat and "autre@example.test" not in flat
    assert not any(t.reference in flat for t in [*theirs, their_contribution])
    text = membership.export_csv(me).decode("utf-8-sig")
    assert all(t.reference in text for t in mine) and not any(t.reference in text for t in theirs)
    assert "Ferme des Bruyères" in text and "Autre" not in text
    assert "Assemblée des adhérents" in text


def test_the_next_allocation_date_is_next_month(app):
    from datetime import date

    assert membership.next_allocation_date(date(2026, 3, 14)) == date(2026, 4, 1)
    assert membership.next_allocation_date(date(2026, 12, 31)) == date(2027, 1, 1)
    set_setting("allocation_day", 5)
    assert membership.next_allocation_date(date(2026, 3, 14)) == date(2026, 4, 5)


def test_erasure_removes_event_registrations_and_gives_the_place_to_the_waiting_list(app):
    from app.events.models import Registration
    from tests.support.factories import make_event, make_registration

    member = make_member()
    event = make_event(capacity=1)
    past = make_event(days_ahead=-30)
    own = make_registration(
        event, name=member.full_name, email="erase.me@example.test", member_id=member.id
    )
    db.session.add(
        Registration(
            event_id=past.id,
            name=member.full_name,
            phone="0611223344",
            member_id=member.id,
            status="confirmed",
            token="past-registration-token",
        )
    )
    waiting = make_registration(event, name="Next in line", email="next@example.test")
    db.session.commit()
    assert (own.status, waiting.status) == ("confirmed", "waiting")

    membership.erase(member)
    db.session.commit()
    db.session.expire_all()

    remaining = db.session.scalars(db.select(Registration)).all()
    assert [(r.name, r.status) for r in remaining] == [("Next in line", "confirmed")]
    assert _outbox("erase.me@example.test") == []
    assert len(_outbox("next@example.test")) == 2  # registered on the waiting list, then promoted
