"""Applications to join: cleaning what people type, the association's rules, the outbox mail."""

from __future__ import annotations

import pytest

from app.core.mail import OutboxMessage
from app.core.settings import set_setting
from app.members import applications
from app.members.communes import find_commune
from app.members.errors import ContributionTooLow, MissingContact, NotEligible
from app.members.models import Application


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("0612345678", "06 12 34 56 78"),
        ("06.12.34.56.78", "06 12 34 56 78"),
        ("06-12-34-56-78", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("+33612345678", "06 12 34 56 78"),
        ("+33 (0)6 12 34 56 78", "06 12 34 56 78"),
        ("0033 6 12 34 56 78", "06 12 34 56 78"),
        ("04 77 24 00 00", "04 77 24 00 00"),
        (" 09 70 00 00 00 ", "09 70 00 00 00"),
    ],
)
def test_french_phone_numbers_are_normalised(typed, expected):
    assert applications.normalize_phone(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "06 12 34 56 7",
        "06 12 34 56 789",
        "00 12 34 56 78",
        "+44 20 7946 0958",
        "06 12 34 56 7a",
        "+33 0 6 12 34 56 78",
        "phone",
        "0" * 10_000,
    ],
)
def test_other_phone_numbers_are_refused(typed):
    assert applications.normalize_phone(typed) is None


@pytest.mark.parametrize(
    "name",
    ["Jean", "Jean-Pierre", "Marie Claire", "d’Arc", "O'Neil", "Éloïse", "Çağla", "Zoë-Anne"],
)
def test_names_with_letters_spaces_hyphens_and_apostrophes_are_valid(name):
    assert applications.is_valid_name(name)


@pytest.mark.parametrize(
    "name", ["", "Jean2", "<script>", "Jean--Pierre", "-Jean", "Jean-", "J. R.", "Jean_Pierre", "@"]
)
def test_other_names_are_invalid(name):
    assert not applications.is_valid_name(name)


def test_control_characters_are_stripped():
    assert applications.clean_line("Jean\x00\x1b\u202e Dupont\t\r\n") == "Jean Dupont"
    assert (
        applications.clean_address("  3 rue\x00 du Lignon \r\n\r\n\x07 Boën  ")
        == "3 rue du Lignon\nBoën"
    )


def _submit(**overrides):
    values = dict(
        first_name="Claire",
        last_name="Martin",
        commune=find_commune("Boën"),
        address="3 rue du Lignon",
        email="claire@example.test",
        phone=None,
        contribution_cents=1500,
        language="fr",
    )
    values.update(overrides)
    return applications.submit_application(**values)


def test_an_application_is_stored_pending_and_acknowledged_in_french(app, db):
    application = _submit()
    stored = db.session.get(Application, application.id)
    assert (stored.status, stored.commune.name, stored.contribution_cents) == (
        "pending",
        "Boën-sur-Lignon",
        1500,
    )
    mail = db.session.scalars(db.select(OutboxMessage)).one()
    assert mail.recipient == "claire@example.test"
    assert mail.subject == "Votre demande d’adhésion à SSA PATIAS est bien arrivée"
    assert "Bonjour Claire" in mail.body
    assert "15,00\u00a0€" in mail.body
    assert "100,00\u00a0€" in mail.body
    assert mail.sent_at is None


def test_the_acknowledgement_is_in_the_applicants_language(app, db):
    _submit(language="en", contribution_cents=0)
    mail = db.session.scalars(db.select(OutboxMessage)).one()
    assert mail.subject == "Your application to SSA PATIAS has been received"
    assert "Hello Claire" in mail.body
    assert "€0.00" in mail.body


def test_no_mail_without_an_email_address(app, db):
    _submit(email=None, phone="06 12 34 56 78")
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalars(db.select(Application)).one().phone == "06 12 34 56 78"


def test_the_commune_must_be_eligible(app, db):
    with pytest.raises(NotEligible):
        _submit(commune=None)
    assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0


def test_email_or_phone_is_required(app):
    with pytest.raises(MissingContact):
        _submit(email="  ", phone=None)


def test_the_minimum_contribution_comes_from_the_association_data(app, db):
    _submit(contribution_cents=0)  # no minimum in the data file
    set_setting("min_contribution_cents", 500)
    with pytest.raises(ContributionTooLow) as refused:
        _submit(contribution_cents=499)
    assert "5,00" in str(refused.value.message)
    assert _submit(contribution_cents=500).contribution_cents == 500


def test_names_are_stored_as_typed_without_control_characters(app):
    application = _submit(first_name="Zoë\x00", last_name="<b>Martin</b>")
    assert (application.first_name, application.last_name) == ("Zoë", "<b>Martin</b>")
