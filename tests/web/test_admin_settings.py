"""The association's settings `/admin/parametres`: every section saves and is audited with its
old and new values; bad input gets a message next to its field, what was typed kept, never a 500;
the allocation's preview and its confirmation; admins with their second factor only."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.audit.models import AuditEntry
from app.core.calendar import Month
from app.core.settings import association, set_setting
from app.ledger import allocation
from app.ledger import transfers as ledger
from tests.support.factories import make_admin, make_member, make_user
from tests.support.http import csrf_from

PAGE = "/admin/parametres"
IDENTITY = {
    "name": "SSA Lignon",
    "contact_email": "bonjour@lignon.test",
    "contact_phone": "04 77 11 22 33",
    "address": "2 rue de la Gare\r\n42130 Boën-sur-Lignon",
    "long_name_fr": "Solidarité alimentaire du Lignon",
    "long_name_en": "Lignon food solidarity",
    "area_fr": "vallée du Lignon (Loire)",
    "area_en": "Lignon valley (Loire, France)",
    "origin_fr": "Née d’un groupe de voisins.",
    "origin_en": "Born of a group of neighbours.",
}
# The Banque de France's test account: schwifty knows its bank's BIC (BDFEFRPP).
BANK = {
    "bank_holder": "Association SSA Lignon",
    "iban": "FR76 3000 1000 0000 0000 1234 549",
    "bic": "BDFEFRPPCCT",
    "payment_reference_prefix": "LIGNON",
}


def _post(client, path: str, data: dict, lang: str = "en"):
    html = client.get(PAGE).get_data(as_text=True)
    return client.post(f"{PAGE}/{path}?lang={lang}", data={"csrf_token": csrf_from(html), **data})


def _entries(section: str) -> list[AuditEntry]:
    from app.core.extensions import db

    return [
        e
        for e in db.session.scalars(
            db.select(AuditEntry)
            .where(AuditEntry.action == "settings.changed")
            .order_by(AuditEntry.id)
        )
        if e.details["section"] == section
    ]


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    assert match, f"no error next to {field_id}"
    return unescape(match.group(1))


def _value(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*id="{field_id}"', html
    )
    assert match, f"no value for {field_id}"
    return unescape(match.group(1))


# --- access ---------------------------------------------------------------------------------


def test_the_page_shows_every_section_and_the_lists(client, admin):
    response = client.get(f"{PAGE}?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for section in ("identity", "bank", "allocation", "payment", "backups", "lists"):
        assert f'id="{section}"' in html
    for path in ("communes", "categories", "points-de-covoiturage", "marches"):
        assert f'href="/admin/parametres/{path}"' in html
    assert 'href="/admin/parametres" aria-current="page"' in html
    assert _value(html, "name") == association()["name"]


@pytest.mark.parametrize("role", ["member", "cashier"])
def test_other_roles_are_refused(client, auth, db, role):
    user = make_user(role=role) if role == "cashier" else make_member().user
    db.session.commit()
    auth.login(user.email)
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/identite", data=IDENTITY).status_code in (400, 403)


def test_an_admin_without_the_second_factor_is_sent_to_it(client, auth, db):
    user = make_admin()
    db.session.commit()
    auth.login(user.email)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/admin/securite/verification" in response.headers["Location"]


# --- identity -------------------------------------------------------------------------------


def test_identity_is_saved_audited_and_shown_in_the_footer(client, admin):
    before = dict(association())
    response = _post(client, "identite", IDENTITY)
    assert response.status_code == 303
    rules = association()
    assert rules["name"] == "SSA Lignon"
    assert rules["address"] == "2 rue de la Gare\n42130 Boën-sur-Lignon"
    [entry] = _entries("identity")
    assert entry.actor_id == admin.id
    assert entry.details["old"]["name"] == before["name"]
    assert entry.details["new"]["name"] == "SSA Lignon"
    assert entry.details["new"]["contact_email"] == "bonjour@lignon.test"
    assert entry.details["new"]["area_en"] == "Lignon valley (Loire, France)"
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "SSA Lignon" in html and "2 rue de la Gare" in html and "bonjour@lignon.test" in html
    assert "Lignon valley (Loire, France)" in html and "Lignon food solidarity" in html
    assert "Born of a group of neighbours." in html and "Loire Forez" not in html
    html = client.get("/?lang=fr").get_data(as_text=True)
    assert "vallée du Lignon (Loire)" in html and "Née d’un groupe de voisins." in html
    # The same values again: nothing changed, nothing audited.
    assert _post(client, "identite", IDENTITY).status_code == 303
    assert len(_entries("identity")) == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", ""),
        ("contact_email", "not an address"),
        ("contact_phone", "call me"),
        ("address", "x" * 100_000),
        ("name", "x" * 100_000),
        ("area_fr", ""),
        ("area_en", "x" * 100_000),
        ("long_name_fr", "x" * 201),
        ("origin_en", "x" * 100_000),
    ],
)
def test_identity_bad_input_is_refused_next_to_the_field(client, admin, field, value):
    response = _post(client, "identite", {**IDENTITY, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _field_error(html, field)
    assert not _entries("identity")
    if field not in ("address", "origin_en") and len(value) < 1000:
        assert _value(html, field) == value


def test_control_characters_are_removed(client, admin):
    response = _post(client, "identite", {**IDENTITY, "name": "SSA\x00 Lig\x1bnon\u202e"})
    assert response.status_code == 303
    assert "\x00" not in association()["name"] and "\x1b" not in association()["name"]


# --- bank -----------------------------------------------------------------------------------


def test_bank_account_is_saved_and_audited_by_its_last_digits(client, admin):
    set_setting("iban", "FR7630006000011234567890189")
    set_setting("bic", "AGRIFRPP")
    from app.core.extensions import db

    db.session.commit()
    response = _post(client, "banque", BANK)
    assert response.status_code == 303
    rules = association()
    assert (rules["bank_holder"], rules["iban"], rules["bic"]) == (
        "Association SSA Lignon",
        "FR7630001000000000001234549",
        "BDFEFRPPCCT",
    )
    assert rules["payment_reference_prefix"] == "LIGNON"
    [entry] = _entries("bank")
    assert entry.details["old"]["iban_last4"] == "0189"
    assert entry.details["new"]["iban_last4"] == "4549"
    assert "iban" not in entry.details["new"]
    assert entry.details["new"]["bic"] == "BDFEFRPPCCT"


def test_the_sepa_payer_is_the_account_holder(client, admin):
    from app.payouts.sepa import debtor

    _post(client, "banque", BANK)
    assert debtor()["name"] == "Association SSA Lignon"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("iban", "FR76 3000 1000 0000 0000 1234 548", "check digits"),
        ("iban", "FR76 3000", "number of characters"),
        ("iban", "💶" * 40, ""),
        ("bic", "AGRIFRPP", "not the one of the IBAN’s bank"),
        ("bic", "BDF", "8 or 11"),
        ("bic", "BDFEXXPP", "not valid"),
        ("bank_holder", "", ""),
        ("payment_reference_prefix", "", ""),
        ("payment_reference_prefix", "SSA-2", "2 to 12 letters"),
        ("payment_reference_prefix", "ÉTÉ", "2 to 12 letters"),
        ("payment_reference_prefix", "x" * 100_000, ""),
    ],
)
def test_bank_bad_input_is_refused_next_to_the_field(client, admin, field, value, message):
    response = _post(client, "banque", {**BANK, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in _field_error(html, field)
    if len(value) < 1000:
        assert _value(html, field) == value
    assert association()["iban"] != "FR7630001000000000001234548"
    assert not _entries("bank")


def test_a_bic_unknown_to_schwifty_must_be_of_the_ibans_country(client, admin):
    # A German IBAN whose bank code schwifty may not list: a French BIC is refused either way.
    response = _post(
        client, "banque", {**BANK, "iban": "DE89 3704 0044 0532 0130 00", "bic": "BDFEFRPP"}
    )
    assert response.status_code == 422
    assert "BIC" in _field_error(response.get_data(as_text=True), "bic")


# --- allocation -----------------------------------------------------------------------------


def _rules(**values) -> dict:
    period = allocation.next_period()
    return {"amount": "100", "start": period, "rule": "cap", "cap_months": "2", **values}


def test_preview_shows_the_next_allocation_without_saving(client, admin, db):
    members = [make_member() for _ in range(3)]
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(members[0]),
        amount_cents=15_000,
        kind="grant",
    )
    db.session.commit()
    response = _post(client, "allocation", {**_rules(amount="80"), "action": "preview"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="preview-members">3<', html)
    assert re.search(r'id="preview-total">€240.00<', html)
    # 150 + 80 = 230 above the cap of 160: one balance, 70 € back.
    assert re.search(r'id="preview-expired-members">1<', html)
    assert re.search(r'id="preview-expired">€70.00<', html)
    assert 'name="confirm"' in html
    assert _value(html, "amount") == "80"
    assert allocation.allocation_cents(allocation.next_period()) == 10_000
    assert not _entries("allocation")


def test_lowering_the_amount_needs_the_confirmation_then_saves_from_its_month(client, admin, db):
    member = make_member()
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=15_000,
        kind="grant",
    )
    db.session.commit()
    period = allocation.next_period()
    response = _post(client, "allocation", {**_rules(amount="60"), "action": "save"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "tick the confirmation" in _field_error(html, "confirm")
    assert 'id="preview-expired">' in html
    assert not _entries("allocation")

    response = _post(
        client, "allocation", {**_rules(amount="60"), "action": "save", "confirm": "y"}
    )
    assert response.status_code == 303
    assert association()["allocation_schedule"] == [{"from": period, "cents": 6000}]
    assert allocation.allocation_cents(period) == 6000
    assert allocation.allocation_cents(str(Month.parse(period).shift(-1))) == 10_000
    [entry] = _entries("allocation")
    assert entry.details["old"]["allocation_schedule"] == []
    assert entry.details["new"]["allocation_schedule"] == [{"from": period, "cents": 6000}]


def test_raising_the_amount_needs_no_confirmation(client, admin, db):
    make_member()
    db.session.commit()
    response = _post(client, "allocation", {**_rules(amount="120,50"), "action": "save"})
    assert response.status_code == 303
    assert allocation.allocation_cents(allocation.next_period()) == 12_050


def test_the_roll_over_rule_is_saved(client, admin, db):
    response = _post(client, "allocation", {**_rules(rule="none"), "action": "save"})
    assert response.status_code == 303
    assert association()["rollover"] == {"rule": "none"}
    response = _post(client, "allocation", {**_rules(rule="cap", cap_months="3"), "action": "save"})
    assert response.status_code == 303
    assert association()["rollover"] == {"rule": "cap", "cap_months": 3}
    old, new = (e.details for e in _entries("allocation"))
    assert old["old"]["rollover"] == {"rule": "cap", "cap_months": 2}
    assert new["new"]["rollover"] == {"rule": "cap", "cap_months": 3}


def test_a_tighter_rule_needs_the_confirmation(client, admin, db):
    member = make_member()
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=5_000,
        kind="grant",
    )
    db.session.commit()
    response = _post(client, "allocation", {**_rules(rule="expire"), "action": "save"})
    assert response.status_code == 409
    assert association()["rollover"] == {"rule": "cap", "cap_months": 2}


@pytest.mark.parametrize(
    "values, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "10000"}, "amount"),
        ({"amount": "10 000"}, "amount"),
        ({"amount": "9" * 40}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"cap_months": "0"}, "cap_months"),
        ({"cap_months": "abc"}, "cap_months"),
        ({"cap_months": "9" * 30}, "cap_months"),
        ({"start": "2020-01"}, "start"),
        ({"start": "2026-13"}, "start"),
        ({"start": "demain"}, "start"),
        ({"start": "9999-12"}, "start"),
        ({"rule": "forever"}, "rule"),
    ],
)
@pytest.mark.parametrize("action", ["preview", "save"])
def test_allocation_bad_input_is_refused_next_to_the_field(client, admin, values, field, action):
    response = _post(client, "allocation", {**_rules(**values), "action": action})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _field_error(html, field)
    if field not in ("rule",):
        assert _value(html, field) == values[field]
    assert 'id="preview-table"' not in html
    assert not _entries("allocation")


def test_a_month_already_allocated_is_refused(client, admin, db):
    make_member()
    db.session.commit()
    current = str(Month.current())
    allocation.allocate_month(current)
    db.session.commit()
    assert allocation.next_period() == str(Month.current().shift(1))
    response = _post(client, "allocation", {**_rules(start=current), "action": "save"})
    assert response.status_code == 422
    assert "already been allocated" in _field_error(response.get_data(as_text=True), "start")


# --- where to pay ---------------------------------------------------------------------------


def test_pay_places_are_saved_and_an_empty_row_removes_one(client, admin):
    before = association()["pay_places"]
    data = {
        "places-0-place": "Épicerie de Leigneux",
        "places-0-times": "le mercredi 17 h - 19 h",
        "places-1-place": "",
        "places-1-times": "",
    }
    response = _post(client, "paiement", data)
    assert response.status_code == 303
    assert association()["pay_places"] == [
        {"place": "Épicerie de Leigneux", "times": "le mercredi 17 h - 19 h"}
    ]
    [entry] = _entries("payment")
    assert entry.details["old"]["pay_places"] == before


def test_a_time_without_a_place_is_refused(client, admin):
    response = _post(client, "paiement", {"places-0-place": "", "places-0-times": "lundi"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _field_error(html, "places-0-place")
    assert _value(html, "places-0-times") == "lundi"


# --- backups --------------------------------------------------------------------------------


def test_backup_settings_are_saved(client, admin, tmp_path):
    target = tmp_path / "copies" / "patias"
    response = _post(
        client, "sauvegardes", {"backup_dir": str(target), "keep_daily": "7", "keep_monthly": "6"}
    )
    assert response.status_code == 303
    rules = association()
    assert (rules["backup_dir"], rules["backup_keep_daily"], rules["backup_keep_monthly"]) == (
        str(target),
        7,
        6,
    )
    assert target.is_dir()
    [entry] = _entries("backups")
    assert entry.details["old"]["backup_keep_daily"] == 14
    assert entry.details["new"]["backup_keep_daily"] == 7


@pytest.mark.parametrize(
    "values, field",
    [
        ({"backup_dir": "/proc/patias-backups"}, "backup_dir"),
        ({"keep_daily": "0"}, "keep_daily"),
        ({"keep_daily": "9" * 30}, "keep_daily"),
        ({"keep_monthly": "douze"}, "keep_monthly"),
    ],
)
def test_backup_bad_input_is_refused_next_to_the_field(client, admin, tmp_path, values, field):
    data = {"backup_dir": "", "keep_daily": "14", "keep_monthly": "12", **values}
    response = _post(client, "sauvegardes", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert _field_error(html, field)
    assert _value(html, field) == data[field]
    assert not _entries("backups")


def test_a_directory_that_cannot_be_created_is_refused(client, admin, tmp_path):
    # Under a regular file no directory can be made, whoever runs the tests (root included).
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    data = {"backup_dir": str(blocker / "sub"), "keep_daily": "14", "keep_monthly": "12"}
    response = _post(client, "sauvegardes", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "cannot be created or written" in _field_error(html, "backup_dir")
    assert association()["backup_dir"] == ""


def test_messages_are_in_french_by_default(client, admin):
    response = _post(client, "allocation", {**_rules(amount="10000"), "action": "save"}, lang="fr")
    assert response.status_code == 422
    assert (
        _field_error(response.get_data(as_text=True), "amount")
        == "L’allocation mensuelle va de 1,00\u00a0€ à 1\u202f000,00\u00a0€."
    )
