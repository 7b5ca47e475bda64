"""How to pay, wherever a member or an applicant is told: the contribution page (with the EPC QR
code) and the overview of the member space, the application's confirmation page and mail, the
activation mail and the printable activation letter. A member without a pledge is shown how to
choose one; the association's settings, whatever they hold, never break a page."""

from __future__ import annotations

import base64
import html as html_lib
import re
import urllib.parse

import pytest

from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.core.settings import set_setting
from app.members import membership, payment
from app.members.models import Member
from tests.support.factories import PASSWORD, make_application, make_member

IBAN_GROUPED = "FR76 3000 1000 0000 0000 1234 549"
PLACE = "Mairie de Boën-sur-Lignon, place de la mairie"


@pytest.fixture
def member(client, auth):
    """A signed-in member with a pledge of 12.50 € (the client is theirs)."""
    person = make_member(first_name="Odile", last_name="Perret", email="odile@example.test")
    person.pledge_cents = 1250
    db.session.commit()
    assert auth.login("odile@example.test", PASSWORD).status_code == 302
    return person


def body(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def block(html: str) -> str:
    """The how-to-pay section of a page."""
    found = re.search(r'<section class="how-to-pay".*?</section>', html, re.S)
    assert found, "no how-to-pay block"
    return found.group(0)


def mails_to(address: str) -> list[OutboxMessage]:
    return db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.recipient == address)
        .order_by(OutboxMessage.id)
    ).all()


# The contribution page


def test_the_contribution_page_tells_how_to_pay_with_the_qr_code(client, member):
    section = block(body(client.get("/compte/cotisation")))
    assert "Comment payer votre cotisation" in section
    assert IBAN_GROUPED in section and "BDFEFRPP" in section and "SSA PATIAS" in section
    assert f"PATIAS {member.number}" in section
    assert "12,50\u00a0€" in section
    assert PLACE in section and "le samedi de 10 h à 12 h" in section
    svg = re.search(r"<svg [^>]*>", section).group(0)
    assert 'role="img"' in svg and 'class="epc-qr"' in svg
    label = html_lib.unescape(re.search(r'aria-label="([^"]+)"', svg).group(1))
    assert f"PATIAS {member.number}" in label and IBAN_GROUPED in label and "12,50" in label


def test_the_contribution_page_in_english(client, member):
    section = block(body(client.get("/compte/cotisation?lang=en")))
    assert "How to pay your contribution" in section and "By bank transfer" in section
    assert "€12.50" in section and f"PATIAS {member.number}" in section


def test_a_member_without_a_pledge_is_shown_how_to_choose_one_and_no_qr_code(client, member):
    member.pledge_cents = 0
    db.session.commit()
    html = body(client.get("/compte/cotisation"))
    section = block(html)
    assert "<svg" not in section
    assert 'href="#amount"' in section and 'id="amount"' in html
    # The bank details and the reference are still there, for when they choose one.
    assert IBAN_GROUPED in section and f"PATIAS {member.number}" in section


def test_a_new_pledge_is_the_qr_code_s_amount_at_once(client, member):
    page = client.get("/compte/cotisation")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body(page)).group(1)
    response = client.post(
        "/compte/cotisation", data={"csrf_token": token, "amount": "20"}, follow_redirects=True
    )
    section = block(body(response))
    assert "20,00\u00a0€" in section and "<svg" in section


def test_a_refused_pledge_keeps_the_block_and_the_saved_amount(client, member):
    page = client.get("/compte/cotisation")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body(page)).group(1)
    response = client.post("/compte/cotisation", data={"csrf_token": token, "amount": "x" * 5000})
    section = block(response.get_data(as_text=True))
    assert "12,50\u00a0€" in section


# The overview


def test_the_overview_gives_the_bank_details_and_links_to_the_qr_code(client, member):
    section = block(body(client.get("/compte")))
    assert IBAN_GROUPED in section and f"PATIAS {member.number}" in section and PLACE in section
    assert "<svg" not in section
    assert 'href="/compte/cotisation#how-to-pay"' in section


def test_the_overview_without_a_pledge_links_to_the_contribution_form(client, member):
    member.pledge_cents = 0
    db.session.commit()
    section = block(body(client.get("/compte")))
    assert 'href="/compte/cotisation"' in section
    assert "#how-to-pay" not in section


# The association's settings


def test_without_an_iban_the_member_is_told_to_ask_the_association(client, member):
    set_setting("iban", "")
    db.session.commit()
    section = block(body(client.get("/compte/cotisation")))
    assert "IBAN" not in section and "<svg" not in section and "PATIAS 0" not in section
    assert "04 77 00 00 00" in section and PLACE in section


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("iban", "<script>alert(1)</script>"),
        ("iban", "FR76" + "9" * 100_000),
        ("bic", "\x00\x1b"),
        ("bank_holder", "<b>x</b>" * 50),
        ("pay_places", 12),
        ("pay_places", [{"place": "<i>Mairie</i>", "times": "\x07"}]),
        ("name", None),
        ("payment_reference_prefix", "Ünïcode ✓"),
    ],
)
def test_odd_settings_never_break_the_pages(client, member, key, value):
    set_setting(key, value)
    db.session.commit()
    for url in ("/compte/cotisation", "/compte"):
        html = body(client.get(url))
        assert "<script>alert" not in html and "<i>Mairie" not in html and "<b>x" not in html


# The application


def _apply(client, contribution: str = "15", email: str = "claire@example.test"):
    page = client.get("/adherer")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body(page)).group(1)
    data = {
        "csrf_token": token,
        "first_name": "Claire",
        "last_name": "Martin",
        "commune": "Boën-sur-Lignon",
        "address": "3 rue du Lignon",
        "email": email,
        "phone": "" if email else "0477000000",
        "contribution": contribution,
        "consent": "y",
    }
    return client.post("/adherer", data=data, follow_redirects=True)


def test_the_application_page_gives_the_bank_details_but_no_reference_yet(client, db):
    section = block(body(_apply(client)))
    assert IBAN_GROUPED in section and "BDFEFRPP" in section and PLACE in section
    assert "15,00\u00a0€" in section
    assert "PATIAS 0" not in section and "<svg" not in section and "<img" not in section
    assert "activation" in section


def test_the_application_page_without_a_contribution(client, db):
    section = block(body(_apply(client, contribution="0")))
    assert IBAN_GROUPED in section and "/compte/cotisation" not in section


def test_the_confirmation_page_without_an_application_has_no_block(client, db):
    assert 'class="how-to-pay"' not in body(client.get("/adherer/merci"))


def test_the_application_mail_tells_how_to_pay(client, db):
    _apply(client, contribution="12,50")
    [mail] = mails_to("claire@example.test")
    assert "Comment payer votre cotisation" in mail.body
    assert IBAN_GROUPED in mail.body and "BDFEFRPP" in mail.body and PLACE in mail.body
    assert "12,50\u00a0€" in mail.body and "PATIAS 0" not in mail.body


# Activation


def test_the_activation_mail_gives_the_reference_and_the_bank_details(app):
    application = make_application(email="roger@example.test", contribution_cents=800)
    member = membership.approve(application).member
    db.session.commit()
    [mail] = mails_to("roger@example.test")
    assert f"PATIAS {member.number}" in mail.body
    assert IBAN_GROUPED in mail.body and "BDFEFRPP" in mail.body and PLACE in mail.body
    assert "8,00\u00a0€" in mail.body


def test_the_activation_mail_in_english_without_a_pledge(app):
    application = make_application(email="rose@example.test", contribution_cents=0, language="en")
    member = membership.approve(application).member
    db.session.commit()
    [mail] = mails_to("rose@example.test")
    assert "How to pay your contribution" in mail.body
    assert "no monthly contribution" in mail.body
    assert f"PATIAS {member.number}" in mail.body


def test_the_activation_letter_carries_the_qr_code_as_an_image(app):
    application = make_application(email=None, contribution_cents=1500)
    approval = membership.approve(application)
    db.session.commit()
    with app.test_request_context("/"):
        html = membership.render_activation_letter(approval.member, approval.letter)
    section = block(html)
    assert f"PATIAS {approval.member.number}" in section and IBAN_GROUPED in section
    img = re.search(r'<img class="epc-qr" src="([^"]+)" alt="([^"]+)"', section)
    assert img, section
    src = html_lib.unescape(img.group(1))
    assert src.startswith("data:image/svg+xml")
    svg = urllib.parse.unquote(src.split(",", 1)[1])
    if ";base64" in src.split(",", 1)[0]:
        svg = base64.b64decode(src.split(",", 1)[1]).decode()
    assert "<svg" in svg and "<path" in svg
    assert f"PATIAS {approval.member.number}" in html_lib.unescape(img.group(2))


def test_the_activation_letter_of_a_member_without_a_pledge_has_no_qr_code(app):
    approval = membership.approve(make_application(email=None, contribution_cents=0))
    db.session.commit()
    with app.test_request_context("/"):
        section = block(membership.render_activation_letter(approval.member, approval.letter))
    assert "<img" not in section and "<svg" not in section
    assert f"PATIAS {approval.member.number}" in section


def test_one_function_makes_every_reference_shown(client, member):
    set_setting("payment_reference_prefix", "LIGNON")
    db.session.commit()
    assert payment.payment_reference(member.number) == f"LIGNON {member.number}"
    assert f"LIGNON {member.number}" in block(body(client.get("/compte/cotisation")))
    assert db.session.get(Member, member.id).number == member.number
