"""Activation by e-mailed link and by letter code; password reset by e-mail link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.columns import utcnow
from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.members import cards, membership
from app.members.errors import InvalidActivationCode
from app.members.models import ActivationCode, Application, Commune, Member, User
from tests.support.factories import PASSWORD, make_member, make_user
from tests.support.http import csrf_from

NEW_PASSWORD = "un mot de passe solide"


def _approve(email: str | None):
    commune = db.session.scalar(db.select(Commune).where(Commune.name == "Arthun"))
    application = Application(
        first_name="Rose",
        last_name="Vernet",
        commune_id=commune.id,
        address="Le Bourg",
        email=email,
        phone=None if email else "0477000000",
        contribution_cents=0,
    )
    db.session.add(application)
    db.session.flush()
    approval = membership.approve(application)
    db.session.commit()
    return approval


def _link_in_mail(recipient: str, marker: str) -> str:
    mails = list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id)
        )
    )
    assert mails, f"no mail to {recipient}"
    match = re.search(rf"https?://\S+({marker}/\S+)", mails[-1].body)
    assert match, mails[-1].body
    return match.group(1)


def _post(client, url: str, data: dict, **kwargs):
    page = client.get(url)
    return client.post(
        url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data}, **kwargs
    )


def _session_user(client):
    with client.session_transaction() as session:
        return session.get("_user_id")


# Activation by e-mail link


def test_activation_by_link_sets_password_and_pin_and_signs_in(client, auth):
    approval = _approve("rose@example.test")
    path = _link_in_mail("rose@example.test", "/activation")
    assert client.get(path).status_code == 200
    # Before activation nobody can sign in, whatever the password.
    assert auth.login("rose@example.test", "anything at all").status_code == 401
    response = _post(
        client,
        path,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "pin": "5831", "pin_confirm": "5831"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/compte"
    assert _session_user(client).startswith(f"{approval.user.id}:")
    db.session.expire_all()
    member = db.session.get(Member, approval.member.id)
    cards.verify_pin(member, "5831")  # raises if the PIN were not set
    auth.logout()
    assert auth.login("rose@example.test", NEW_PASSWORD).status_code == 302
    # The link served once.
    again = client.get(path)
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"password": "short", "confirm": "short", "pin": "5831", "pin_confirm": "5831"}, "10"),
        (
            {
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD + "x",
                "pin": "5831",
                "pin_confirm": "5831",
            },
            "identiques",
        ),
        (
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "pin": "583", "pin_confirm": "583"},
            "4 chiffres",
        ),
        (
            {
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "pin": "5831",
                "pin_confirm": "5832",
            },
            "identiques",
        ),
        (
            {
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "pin": "12ab",
                "pin_confirm": "12ab",
            },
            "4 chiffres",
        ),
        (
            {
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "pin": "1234",
                "pin_confirm": "1234",
            },
            "trop facile à deviner",
        ),
    ],
)
def test_activation_refuses_weak_passwords_and_bad_pins(client, fields, problem):
    approval = _approve("rose@example.test")
    path = _link_in_mail("rose@example.test", "/activation")
    response = _post(client, path, fields)
    assert response.status_code == 200
    assert problem in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, approval.user.id).password_hash == ""
    assert _session_user(client) is None


@pytest.mark.parametrize("path", ["/activation/forged-token", "/activation/" + "x" * 5000])
def test_a_forged_activation_link_is_refused(client, path):
    assert client.get(path).status_code in (400, 404)


# Activation by letter code (members without e-mail)


def _code_form(number, code, password=NEW_PASSWORD, pin="5831"):
    return {
        "number": number,
        "code": code,
        "password": password,
        "confirm": password,
        "pin": pin,
        "pin_confirm": pin,
    }


def test_activation_by_code_and_member_number(client, auth):
    approval = _approve(None)
    number, code = approval.member.number, approval.letter.code
    response = _post(client, "/activation", _code_form(number, code.lower().replace("-", " ")))
    assert response.status_code == 302 and response.headers["Location"] == "/compte"
    assert _session_user(client).startswith(f"{approval.user.id}:")
    auth.logout()
    assert auth.login(number, NEW_PASSWORD).status_code == 302
    auth.logout()
    # The code served once.
    response = _post(
        client, "/activation", _code_form(number, code, password="another long password")
    )
    assert response.status_code == 400
    assert auth.login(number, "another long password").status_code == 401


def test_a_wrong_code_an_unknown_number_and_an_expired_code_get_one_message(client):
    approval = _approve(None)
    number, code = approval.member.number, approval.letter.code
    wrong = _post(client, "/activation", _code_form(number, "AAAA-AAAA"))
    unknown = _post(client, "/activation", _code_form(cards.member_number(500), code))
    row = db.session.scalar(db.select(ActivationCode))
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    expired = _post(client, "/activation", _code_form(number, code))
    messages = set()
    for response in (wrong, unknown, expired):
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        messages.add(re.search(r'role="alert"><p>(.*?)</p>', body).group(1))
    assert len(messages) == 1
    db.session.expire_all()
    assert db.session.get(User, approval.user.id).password_hash == ""


def test_a_typo_in_the_number_is_caught_before_any_lookup(client):
    approval = _approve(None)
    number = approval.member.number
    typo = number[:5] + str((int(number[5]) + 3) % 10)
    response = _post(client, "/activation", _code_form(typo, approval.letter.code))
    assert response.status_code == 200
    assert "pas valide" in response.get_data(as_text=True)


def test_codes_cannot_be_guessed_five_tries_an_hour_per_number(client):
    approval = _approve(None)
    number = approval.member.number
    for attempt in range(5):
        assert (
            _post(client, "/activation", _code_form(number, f"WRONG{attempt:03d}")).status_code
            == 400
        )
    blocked = _post(client, "/activation", _code_form(number, approval.letter.code))
    assert blocked.status_code == 429
    assert "Réessayez dans" in blocked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, approval.user.id).password_hash == ""


def test_a_new_letter_voids_the_previous_code(app):
    from app.members import auth as auth_service

    approval = _approve(None)
    first = approval.letter.code
    second = auth_service.issue_activation_code(approval.user).code
    with pytest.raises(InvalidActivationCode):
        auth_service.activate_with_code(approval.member.number, first, NEW_PASSWORD, "5831")
    user = auth_service.activate_with_code(approval.member.number, second, NEW_PASSWORD, "5831")
    assert user.id == approval.user.id


# Password reset


def test_password_reset_by_link_once_and_it_ends_other_sessions(app, client, auth):
    user = make_user(email="forgot@example.test")
    db.session.commit()
    version = user.session_version
    other_device = app.test_client()
    page = other_device.get("/connexion")
    other_device.post(
        "/connexion",
        data={
            "login": "forgot@example.test",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert other_device.get("/confidentialite").status_code in (200, 404)
    with other_device.session_transaction() as session:
        assert session.get("_user_id")

    response = _post(client, "/mot-de-passe-oublie", {"email": "Forgot@example.test"})
    assert response.status_code == 200
    path = _link_in_mail("forgot@example.test", "/mot-de-passe")
    response = _post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert auth.login("forgot@example.test", PASSWORD).status_code == 401
    assert auth.login("forgot@example.test", NEW_PASSWORD).status_code == 302
    # The link served once.
    assert client.get(path).status_code == 400
    # The other device's session ended with the password change.
    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == version + 1
    member_page = other_device.get("/compte")
    assert member_page.status_code == 302 and "/connexion" in member_page.headers["Location"]


def test_password_reset_never_tells_whether_the_address_exists(client):
    make_user(email="known@example.test")
    db.session.commit()
    known = _post(client, "/mot-de-passe-oublie", {"email": "known@example.test"})
    unknown = _post(client, "/mot-de-passe-oublie", {"email": "unknown@example.test"})
    strip = lambda r: re.sub(r"\S+@example\.test|value=\"[^\"]*\"", "", r.get_data(as_text=True))  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    recipients = set(db.session.scalars(db.select(OutboxMessage.recipient)))
    assert recipients == {"known@example.test"}


def test_a_member_without_email_is_told_to_ask_the_association(client):
    page = client.get("/mot-de-passe-oublie").get_data(as_text=True)
    assert "courrier d’activation" in page


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("000018", "ne peut être envoyé qu’à une adresse e-mail"),
        ("000 018", "ne peut être envoyé qu’à une adresse e-mail"),
        ("claire", "Saisissez une adresse électronique valide"),
        ("a@b@c.fr", "Saisissez une adresse électronique valide"),
    ],
)
def test_what_cannot_receive_a_link_is_refused_next_to_the_field(client, typed, expected):
    """A member number or a malformed address cannot receive a link: no 'a message is on its way'."""
    response = _post(client, "/mot-de-passe-oublie", {"email": typed})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="email-error">(.*?)</p>', page, re.S)
    assert error and expected in error.group(1), page
    assert f'value="{typed}"' in page
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_reset_links_are_not_activation_links(client):
    member = make_member(email="both@example.test")
    db.session.commit()
    _post(client, "/mot-de-passe-oublie", {"email": "both@example.test"})
    path = _link_in_mail("both@example.test", "/mot-de-passe")
    token = path.rsplit("/", 1)[1]
    assert client.get(f"/activation/{token}").status_code == 400
    assert member.user.password_hash
