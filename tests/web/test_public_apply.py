"""/adherer: the application form with good and bad input, the outbox mail, rate limiting."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from flask_babel import force_locale, gettext

from app.core.mail import OutboxMessage
from app.core.settings import set_setting
from app.members.models import Application

GOOD = {
    "first_name": "Claire",
    "last_name": "Martin",
    "commune": "Boën-sur-Lignon",
    "address": "3 rue du Lignon",
    "email": "claire@example.test",
    "phone": "",
    "contribution": "15",
    "consent": "y",
}


def html_of(response) -> str:
    return response.get_data(as_text=True)


def applications(db):
    return db.session.scalars(db.select(Application)).all()


def outbox(db):
    return db.session.scalars(db.select(OutboxMessage)).all()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            {
                "commune": "Boën-sur-Lignon",
                "contribution_cents": 1500,
                "email": "claire@example.test",
                "phone": None,
            },
        ),
        (
            {"commune": "BOEN", "contribution": "12,50"},
            {"commune": "Boën-sur-Lignon", "contribution_cents": 1250},
        ),
        (
            {"commune": "st etienne le molard", "contribution": "0"},
            {"commune": "Saint-Étienne-le-Molard", "contribution_cents": 0},
        ),
        ({"commune": "L'Hopital sous Rochefort"}, {"commune": "Solore-en-Forez"}),
        (
            {"commune": "sainte foy st sulpice", "contribution": "7.5"},
            {"commune": "Sainte-Foy-Saint-Sulpice", "contribution_cents": 750},
        ),
        ({"email": "", "phone": "06 12 34 56 78"}, {"email": None, "phone": "06 12 34 56 78"}),
        ({"email": "", "phone": "+33 6 12 34 56 78"}, {"phone": "06 12 34 56 78"}),
        ({"phone": "06.12.34.56.78"}, {"phone": "06 12 34 56 78", "email": "claire@example.test"}),
        (
            {"first_name": "Jean-Pierre", "last_name": "d’Arc O'Neil"},
            {"first_name": "Jean-Pierre", "last_name": "d’Arc O'Neil"},
        ),
        (
            {"first_name": "  Zoë\x00 ", "address": "3 rue\x07 du Lignon\r\nLe Bourg"},
            {"first_name": "Zoë", "address": "3 rue du Lignon\nLe Bourg"},
        ),
        ({"contribution": "  20 € "}, {"contribution_cents": 2000}),
    ],
)
def test_good_applications_are_stored_pending(client, post_form, db, changes, expected):
    response = post_form("/adherer", {**GOOD, **changes})
    assert response.status_code == 303, html_of(response)
    assert response.headers["Location"] == "/adherer/merci"
    [application] = applications(db)
    assert application.status == "pending"
    for name, value in expected.items():
        actual = application.commune.name if name == "commune" else getattr(application, name)
        assert actual == value, name
    assert application.language == "fr"


def test_the_confirmation_page_says_what_happens_next(client, post_form):
    response = post_form("/adherer", GOOD, follow_redirects=True)
    html = html_of(response)
    assert "Merci, Claire" in html
    assert "Une confirmation a été envoyée à claire@example.test" in html
    assert "coordinateur" in html and "code secret à 4 chiffres" in html
    assert "15,00\u00a0€" in html


def test_an_acknowledgement_goes_to_the_outbox_in_the_applicants_language(client, post_form, db):
    post_form("/adherer?lang=en", {**GOOD, "email": "claire@example.test"})
    [mail] = outbox(db)
    assert mail.recipient == "claire@example.test"
    assert mail.subject == "Your application to SSA PATIAS has been received"
    assert "Hello Claire" in mail.body and "€15.00" in mail.body
    assert applications(db)[0].language == "en"


def test_no_mail_without_email(client, post_form, db):
    post_form("/adherer", {**GOOD, "email": "", "phone": "0612345678"})
    assert len(applications(db)) == 1 and outbox(db) == []


def test_the_form_prefills_the_commune_from_the_checker(client):
    html = html_of(client.get("/adherer", query_string={"commune": "Boën-sur-Lignon"}))
    assert re.search(r'<input[^>]*id="commune"[^>]*value="Boën-sur-Lignon"', html)
    assert '<datalist id="commune-names">' in html
    assert 'href="/confidentialite"' in html


LONG = "x" * 10_240


def french(msgid: str, **params) -> str:
    """The French message the reader should see (some msgids are shared with other forms, whose
    wording may change): it must exist and differ from the English msgid."""
    with force_locale("fr"):
        text = gettext(msgid, **params)
    assert text != msgid % params if params else text != msgid, f"not translated: {msgid}"
    return text


@pytest.mark.parametrize(
    ("changes", "field", "msgid", "params"),
    [
        ({"first_name": ""}, "first_name", "Enter your first name.", {}),
        ({"last_name": "   "}, "last_name", "Enter your last name.", {}),
        (
            {"first_name": "<script>alert(1)</script>"},
            "first_name",
            "Use letters only, with spaces, hyphens or apostrophes.",
            {},
        ),
        (
            {"last_name": "Martin2"},
            "last_name",
            "Use letters only, with spaces, hyphens or apostrophes.",
            {},
        ),
        ({"first_name": LONG}, "first_name", "At most %(max)d characters.", {"max": 80}),
        ({"last_name": "\x00\x1b"}, "last_name", "Enter your last name.", {}),
        ({"commune": ""}, "commune", "Enter your commune.", {}),
        (
            {"commune": "Montbrison"},
            "commune",
            "“%(text)s” is not in the experiment’s area (yet): only residents of its communes may join.",
            {"text": "Montbrison"},
        ),
        (
            {"commune": "Saint-Étienne"},
            "commune",
            "“%(text)s” is not one of the experiment’s communes. Did you mean %(names)s?",
            {"text": "Saint-Étienne", "names": "Saint-Étienne-le-Molard"},
        ),
        (
            {"commune": "Boen-sur-Lingon"},
            "commune",
            "“%(text)s” is not one of the experiment’s communes. Did you mean %(names)s?",
            {"text": "Boen-sur-Lingon", "names": "Boën-sur-Lignon"},
        ),
        (
            {"commune": "42130"},
            "commune",
            "Type the name of your commune: the postcode alone is not enough.",
            {},
        ),
        (
            {"commune": "sai"},
            "commune",
            "Several communes match “%(text)s”: %(names)s. Type the full name.",
            None,
        ),
        (
            {"commune": LONG},
            "commune",
            "“%(text)s” is not in the experiment’s area (yet): only residents of its communes may join.",
            {"text": "x" * 60},
        ),
        (
            {"commune": "<b>Lyon</b>"},
            "commune",
            "“%(text)s” is not in the experiment’s area (yet): only residents of its communes may join.",
            {"text": "<b>Lyon</b>"},
        ),
        ({"address": ""}, "address", "Enter your postal address.", {}),
        ({"address": "ici"}, "address", "This address looks incomplete.", {}),
        (
            {"address": LONG},
            "address",
            "The address is too long (at most %(max)d characters).",
            {"max": 300},
        ),
        (
            {"email": "claire"},
            "email",
            "Enter a valid e-mail address, for example name@example.fr.",
            {},
        ),
        (
            {"email": "a@b@c.fr"},
            "email",
            "Enter a valid e-mail address, for example name@example.fr.",
            {},
        ),
        ({"email": LONG + "@example.test"}, "email", "This e-mail address is too long.", {}),
        (
            {"email": "", "phone": ""},
            "email",
            "Give an e-mail address or a phone number, so that we can reach you.",
            {},
        ),
        (
            {"phone": "12345"},
            "phone",
            "Enter a French phone number, for example 06 12 34 56 78.",
            {},
        ),
        (
            {"phone": "+44 20 7946 0958"},
            "phone",
            "Enter a French phone number, for example 06 12 34 56 78.",
            {},
        ),
        ({"phone": LONG}, "phone", "Enter a French phone number, for example 06 12 34 56 78.", {}),
        ({"contribution": ""}, "contribution", "Enter an amount.", {}),
        ({"contribution": "-5"}, "contribution", "The amount cannot be negative.", {}),
        (
            {"contribution": "dix"},
            "contribution",
            "Enter an amount in euros, for example 12.50.",
            {},
        ),
        (
            {"contribution": "12,345"},
            "contribution",
            "Use at most two decimals, for example 12.50.",
            {},
        ),
        (
            {"contribution": "1000000"},
            "contribution",
            "This amount is too large (at most %(max)s).",
            None,
        ),
        (
            {"contribution": LONG},
            "contribution",
            "Enter an amount in euros, for example 12.50.",
            {},
        ),
        (
            {"consent": ""},
            "consent",
            "Please tick this box to send your application: we need your agreement to keep your details.",
            {},
        ),
    ],
)
def test_bad_input_is_refused_next_to_the_field(
    client, post_form, db, changes, field, msgid, params
):
    data = {**GOOD, **changes}
    if data["consent"] == "":
        del data["consent"]
    response = post_form("/adherer", data)
    assert response.status_code == 422
    html = html_of(response)
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error next to {field}"
    shown = html_lib.unescape(error.group(1))
    if params is None:  # the message quotes a list or an amount: compare its fixed start
        assert shown.startswith(french(msgid, text="§", names="§", max="§").split("§")[0])
    else:
        assert shown == french(msgid, **params)
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', html
    )
    assert "<script>alert(1)</script>" not in html and "<b>Lyon</b>" not in html
    assert applications(db) == [] and outbox(db) == []
    # What they typed is kept (cleaned of control characters, escaped), except the consent box.
    if "<script>" in changes.get("first_name", ""):
        assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    if field != "first_name":
        assert 'value="Claire"' in html


def test_messages_are_in_english_for_english_readers(client, post_form):
    response = post_form("/adherer?lang=en", {**GOOD, "phone": "123", "commune": "Lyon"})
    html = html_of(response)
    assert "Enter a French phone number, for example 06 12 34 56 78." in html
    assert "is not in the experiment’s area (yet)" in html


def test_html_in_an_address_is_stored_as_typed_and_escaped_on_the_confirmation(
    client, post_form, db
):
    response = post_form(
        "/adherer",
        {**GOOD, "address": "<script>alert(1)</script> 3 rue du Lignon", "first_name": "Zoé"},
    )
    assert response.status_code == 303
    assert applications(db)[0].address == "<script>alert(1)</script> 3 rue du Lignon"
    html = html_of(client.get("/adherer/merci"))
    assert "<script>alert(1)" not in html and "Merci, Zoé" in html
    # Members change their contribution themselves (/compte/cotisation): the page says so.
    assert "vous pourrez la changer à tout moment dans votre espace membre" in html


def test_the_minimum_contribution_from_the_data_is_enforced(client, post_form, db):
    set_setting("min_contribution_cents", 500)
    db.session.commit()
    html = html_of(client.get("/adherer"))
    assert "au moins 5,00\u00a0€ par mois" in html
    response = post_form("/adherer", {**GOOD, "contribution": "4,99"})
    assert response.status_code == 422
    assert "La cotisation mensuelle minimale est de 5,00\u00a0€." in html_of(response)
    assert post_form("/adherer", {**GOOD, "contribution": "5"}).status_code == 303


def test_zero_is_allowed_without_a_minimum(client, post_form, db):
    assert "0 compris" in html_of(client.get("/adherer"))
    assert post_form("/adherer", {**GOOD, "contribution": "0"}).status_code == 303
    assert applications(db)[0].contribution_cents == 0


def test_the_application_needs_the_csrf_token(client, db):
    response = client.post("/adherer", data=GOOD)
    assert response.status_code == 400
    assert applications(db) == []


def test_applications_are_rate_limited_per_address(app, client, post_form, db, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT", 3)
    assert post_form("/adherer", {**GOOD, "email": "bad"}).status_code == 422  # mistakes count too
    assert post_form("/adherer", GOOD).status_code == 303
    assert post_form("/adherer", GOOD).status_code == 303
    refused = post_form("/adherer", {**GOOD, "first_name": "Léon"})
    assert refused.status_code == 429
    html = html_of(refused)
    assert "Trop de formulaires ont été envoyés depuis cette connexion" in html
    assert 'value="Léon"' in html
    assert len(applications(db)) == 2
    other = client.post(
        "/adherer",
        environ_overrides={"REMOTE_ADDR": "10.0.0.2"},
        data={
            **GOOD,
            "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(
                1
            ),
        },
    )
    assert other.status_code == 303
