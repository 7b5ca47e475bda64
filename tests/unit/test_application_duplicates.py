"""Possible duplicates of an application: the same person applied already, or is already a member."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.members import applications
from app.members.applications import EMAIL, NAME, PHONE, possible_duplicates
from app.members.communes import find_commune
from app.members.models import Application
from tests.support.factories import make_member


def _application(**fields) -> Application:
    from app.core.extensions import db

    values = {
        "first_name": "Élodie",
        "last_name": "Dupré",
        "commune_id": find_commune("Boën").id,
        "address": "3 rue du Lignon",
        "email": None,
        "phone": None,
        "contribution_cents": 1000,
        "status": "pending",
    }
    values.update(fields)
    application = Application(**values)
    db.session.add(application)
    db.session.flush()
    return application


def _found(application):
    return {(d.kind, d.id): d.reasons for d in possible_duplicates(application)}


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("+33 6 12 34 56 78", "0612345678"),
        ("0033 6 12 34 56 78", "0612345678"),
        ("+33 (0)6 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("", None),
        (None, None),
        ("12", None),
    ],
)
def test_phone_key(typed, key):
    assert applications.phone_key(typed) == key


def test_name_key_ignores_accents_case_and_spaces():
    assert applications.name_key("Élodie ", "  Dupré") == applications.name_key("elodie", "DUPRE")
    assert applications.name_key("Élodie  Marie", "Dupré") == applications.name_key(
        "elodie marie", "dupre"
    )
    assert applications.name_key("Elodie", "Dupré") != applications.name_key("Elodie", "Duprez")


def test_same_email_ignoring_case_and_spaces(app, db):
    member = make_member(email="Elodie.D@Example.test", first_name="Lola", last_name="Autre")
    earlier = _application(
        first_name="Lola",
        last_name="Autre",
        email="  ELODIE.d@example.TEST ",
        commune_id=find_commune("Leigneux").id,
    )
    application = _application(email="elodie.d@example.test")
    assert _found(application) == {
        ("member", member.id): (EMAIL,),
        ("application", earlier.id): (EMAIL,),
    }


def test_same_phone_across_formats(app, db):
    member = make_member(first_name="Lola", last_name="Autre", phone="+33 6 12 34 56 78")
    earlier = _application(
        first_name="Lola",
        last_name="Autre",
        phone="0033(0)6.12.34.56.78",
        email="x@example.test",
        commune_id=find_commune("Leigneux").id,
    )
    other = _application(
        first_name="Lola",
        last_name="Autre",
        phone="06 12 34 56 79",
        commune_id=find_commune("Leigneux").id,
    )
    application = _application(phone="06 12 34 56 78")
    found = _found(application)
    assert found == {("member", member.id): (PHONE,), ("application", earlier.id): (PHONE,)}
    assert ("application", other.id) not in found


def test_same_name_in_the_same_commune_ignoring_accents_case_and_spaces(app, db):
    boen = find_commune("Boën").id
    member = make_member(first_name="elodie", last_name="DUPRE", commune_id=boen)
    earlier = _application(
        first_name="Élodie ", last_name=" Dupré", status="rejected", email="a@example.test"
    )
    application = _application(first_name="Élodie  ", last_name="dupré", email="b@example.test")
    found = possible_duplicates(application)
    assert {(d.kind, d.id): d.reasons for d in found} == {
        ("member", member.id): (NAME,),
        ("application", earlier.id): (NAME,),
    }
    # A rejected application is listed with its status, for the coordinator to judge.
    assert [d.status for d in found if d.kind == "application"] == ["rejected"]


def test_every_reason_is_given(app, db):
    member = make_member(
        email="elodie@example.test",
        first_name="Élodie",
        last_name="Dupré",
        commune_id=find_commune("Boën").id,
        phone="0612345678",
    )
    application = _application(email="Elodie@example.test", phone="+33612345678")
    assert _found(application) == {("member", member.id): (EMAIL, PHONE, NAME)}


def test_same_name_in_another_commune_is_not_a_match(app, db):
    make_member(first_name="Élodie", last_name="Dupré", commune_id=find_commune("Leigneux").id)
    _application(commune_id=find_commune("Leigneux").id, email="c@example.test")
    application = _application()
    assert possible_duplicates(application) == []


def test_an_erased_member_is_not_a_match(app, db):
    make_member(
        status="erased",
        email="elodie@example.test",
        first_name="Élodie",
        last_name="Dupré",
        commune_id=find_commune("Boën").id,
        phone="06 12 34 56 78",
    )
    application = _application(email="elodie@example.test", phone="06 12 34 56 78")
    assert possible_duplicates(application) == []


def test_the_application_itself_and_its_own_member_are_not_listed(app, db):
    application = _application(email="elodie@example.test", phone="06 12 34 56 78")
    make_member(
        email="elodie@example.test",
        first_name="Élodie",
        last_name="Dupré",
        commune_id=find_commune("Boën").id,
        application_id=application.id,
    )
    assert possible_duplicates(application) == []


def test_no_false_positive_on_an_unrelated_person(app, db):
    boen = find_commune("Boën").id
    make_member(
        first_name="Élodie",
        last_name="Martin",
        commune_id=boen,
        email="elodie.martin@example.test",
        phone="06 12 34 56 79",
    )
    make_member(first_name="Paul", last_name="Dupré", commune_id=boen, email="paul@example.test")
    _application(
        first_name="Élodie",
        last_name="Dupréz",
        email="elodie@example.test.fr",
        phone="07 12 34 56 78",
    )
    _application(first_name="Jean", last_name="Roux", email=None, phone=None)
    application = _application(email="elodie@example.test", phone="06 12 34 56 78")
    assert possible_duplicates(application) == []


def test_two_queries_whatever_the_number_of_members(app, db):
    for _ in range(5):
        make_member(commune_id=find_commune("Boën").id)
    application = _application(email="elodie@example.test", phone="06 12 34 56 78")
    statements = []

    def count(*args):
        statements.append(args[2])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        possible_duplicates(application)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
