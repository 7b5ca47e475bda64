"""Merchants admin `/admin/commercants`: list and search, create and edit with the convention
(date, categories, IBAN checked for real), suspend and reactivate, invite cashiers."""

from __future__ import annotations

import re

import pytest

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.core.mail import OutboxMessage
from app.members.models import Commune, User
from app.merchants.models import Category, Merchant
from app.register import sales as register
from app.register.errors import RegisterClosed
from tests.support.factories import make_cashier, make_merchant, make_user
from tests.support.http import csrf_from

GOOD_IBAN = "FR76 3000 1007 9412 3456 7890 185"


@pytest.fixture
def admin(admin, client):
    """The signed-in admin (tests/web/conftest.py), reading the pages in English."""
    client.set_cookie("lang", "en")
    return admin


def _post(client, page_url, action, data=None, **kwargs):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)


def _entries(action):
    return list(_db.session.scalars(_db.select(AuditEntry).where(AuditEntry.action == action)))


def _form(**overrides):
    commune = _db.session.scalar(_db.select(Commune).where(Commune.name == "Sauvain"))
    categories = _db.session.scalars(
        _db.select(Category.id).where(Category.slug.in_(["laitiers", "viande"]))
    ).all()
    data = {
        "name": "Ferme du Bourg",
        "kind": "producer",
        "commune": str(commune.id),
        "address": "Le Bourg\n42990 Sauvain",
        "description_fr": "Fromages de chèvre.",
        "description_en": "Goat cheese.",
        "conventioned_since": "2026-01-15",
        "categories": [str(c) for c in categories],
        "iban": GOOD_IBAN,
    }
    data.update(overrides)
    return data


def test_list_and_search_by_name_commune_and_status(client, admin, db):
    boen = make_merchant(name="Épicerie du Lignon")
    sauvain = make_merchant(
        name="Ferme des Hautes Chaumes",
        commune=_db.session.scalar(_db.select(Commune).where(Commune.name == "Sauvain")),
    )
    pending = make_merchant(name="Rucher du Forez", status="pending", conventioned_since=None)
    suspended = make_merchant(name="Boulangerie fermée", status="suspended")
    db.session.commit()

    def found(query):
        html = client.get("/admin/commercants" + query).get_data(as_text=True)
        return set(map(int, re.findall(r'href="/admin/commercants/(\d+)"', html)))

    assert found("") == {boen.id, sauvain.id, pending.id, suspended.id}
    assert found("?q=epicerie") == {boen.id}  # accents and case ignored
    assert found("?q=sauvain") == {sauvain.id}  # by commune
    assert found("?status=pending") == {pending.id}
    assert found("?status=suspended") == {suspended.id}
    partial = client.get("/admin/commercants?q=rucher", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert (
        partial.status_code == 200
        and body.lstrip().startswith('<div id="merchant-results"')
        and "<html" not in body
    )
    assert client.get("/admin/commercants?status=nope").status_code == 400


def test_create_a_conventioned_merchant(client, admin, db):
    response = _post(client, "/admin/commercants/nouveau", "/admin/commercants/nouveau", _form())
    assert response.status_code == 303
    merchant = _db.session.scalar(_db.select(Merchant).where(Merchant.name == "Ferme du Bourg"))
    assert response.headers["Location"].endswith(f"/admin/commercants/{merchant.id}")
    assert merchant.status == "active" and merchant.is_conventioned
    assert merchant.iban == "FR7630001007941234567890185"  # stored compact
    assert {c.slug for c in merchant.categories} == {"laitiers", "viande"}
    assert merchant.address == "Le Bourg\n42990 Sauvain"
    entry = _entries("merchant.created")[0]
    assert entry.target_id == merchant.id and entry.actor_id == admin.id
    assert entry.details["iban_last4"] == "0185" and "FR7630001007941234567890185" not in str(
        entry.details
    )
    page = client.get(f"/admin/commercants/{merchant.id}").get_data(as_text=True)
    assert "FR76 3000 1007 9412 3456 7890 185" in page and "Conventioned" in page


def test_without_a_convention_date_the_merchant_waits(client, admin, db):
    response = _post(
        client,
        "/admin/commercants/nouveau",
        "/admin/commercants/nouveau",
        _form(conventioned_since="", categories=[], iban=""),
    )
    assert response.status_code == 303
    merchant = _db.session.scalar(_db.select(Merchant).where(Merchant.name == "Ferme du Bourg"))
    assert merchant.status == "pending" and merchant.iban == ""
    page = client.get(f"/admin/commercants/{merchant.id}").get_data(as_text=True)
    assert "cannot be paid by the monthly transfer file" in page


@pytest.mark.parametrize(
    "iban, message",
    [
        ("FR76 3000 1007 9412 3456 7890 186", "its check digits do not match"),
        ("FR76 3000 1007 9412", "number of characters"),
        ("ZZ76 3000 1007 9412 3456 7890 185", "country code"),
        ("FR76 <b>3000</b>", "only letters and digits"),
    ],
)
def test_a_bad_iban_is_refused_next_to_the_field_and_input_kept(client, admin, db, iban, message):
    response = _post(
        client, "/admin/commercants/nouveau", "/admin/commercants/nouveau", _form(iban=iban)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="iban-error">[^<]*' + re.escape(message), html), html
    assert 'value="Ferme du Bourg"' in html  # what was typed is kept
    assert "<b>3000</b>" not in html  # escaped
    assert _db.session.scalar(_db.select(Merchant).where(Merchant.name == "Ferme du Bourg")) is None


def test_other_bad_input_gets_clear_messages_never_a_500(client, admin, db):
    cases = [
        (_form(name=""), "name-error", "Enter the merchant’s name."),
        (_form(conventioned_since="31/02/2026"), "conventioned_since-error", "Enter a date like"),
        (
            _form(conventioned_since="2099-01-01"),
            "conventioned_since-error",
            "more than a year ahead",
        ),
        (_form(categories=[]), "categories-error", "at least one product category"),
        (_form(description_en=""), "description_en-error", "both languages"),
        (_form(commune="999999"), "commune-error", ""),
        (_form(name="x" * 10_000), "name-error", "At most 120 characters."),
        (_form(name="Ferme\x00\x1b[31m"), None, None),
    ]
    for data, error_id, message in cases:
        response = _post(client, "/admin/commercants/nouveau", "/admin/commercants/nouveau", data)
        html = response.get_data(as_text=True)
        if error_id is None:
            assert response.status_code == 303
            created = _db.session.scalar(_db.select(Merchant).order_by(Merchant.id.desc()))
            assert created.name == "Ferme[31m"  # control characters removed
            continue
        assert response.status_code == 422, (data, html[:500])
        assert f'id="{error_id}"' in html and message in html


def test_edit_keeps_history_in_the_audit_log_and_follows_the_convention(client, admin, db):
    merchant = make_merchant(name="Ferme Martin", status="pending", conventioned_since=None)
    db.session.commit()
    page = client.get(f"/admin/commercants/{merchant.id}/modifier").get_data(as_text=True)
    assert 'value="Ferme Martin"' in page
    response = _post(
        client,
        f"/admin/commercants/{merchant.id}/modifier",
        f"/admin/commercants/{merchant.id}/modifier",
        _form(name="Ferme Martin"),
    )
    assert response.status_code == 303
    _db.session.refresh(merchant)
    assert merchant.status == "active" and merchant.iban == "FR7630001007941234567890185"
    details = _entries("merchant.updated")[0].details
    assert {"iban", "conventioned_since", "status", "categories"} <= set(details["changed"])
    # The same form again changes nothing and logs nothing more.
    _post(
        client,
        f"/admin/commercants/{merchant.id}/modifier",
        f"/admin/commercants/{merchant.id}/modifier",
        _form(name="Ferme Martin"),
    )
    assert len(_entries("merchant.updated")) == 1
    assert client.get("/admin/commercants/999999/modifier").status_code == 404


def test_suspend_closes_the_register_and_reactivate_reopens_it(client, admin, db):
    cashier = make_cashier()
    merchant = cashier.merchant
    db.session.commit()
    page = f"/admin/commercants/{merchant.id}"
    response = _post(
        client, page, f"{page}/suspendre", {"reason": "Convention en cours de révision"}
    )
    assert response.status_code == 303
    _db.session.refresh(merchant)
    assert merchant.status == "suspended"
    with pytest.raises(RegisterClosed):
        register.open_merchant(cashier)
    assert _entries("merchant.suspended")[0].details["reason"] == "Convention en cours de révision"
    assert _post(client, page, f"{page}/reactiver").status_code == 303
    _db.session.refresh(merchant)
    assert merchant.status == "active" and register.open_merchant(cashier) == merchant
    # Without the CSRF token nothing changes.
    assert client.post(f"{page}/suspendre", data={"reason": "x"}).status_code == 400
    _db.session.refresh(merchant)
    assert merchant.status == "active"


def test_invite_a_cashier_who_sets_a_password_and_reaches_the_register(client, admin, db, auth):
    merchant = make_merchant(name="Ferme Invitée")
    db.session.commit()
    page = f"/admin/commercants/{merchant.id}"
    response = _post(
        client,
        page,
        f"{page}/caissiers",
        {"email": "Lea@Example.test", "name": "Léa", "language": "fr"},
    )
    assert response.status_code == 303
    user = _db.session.scalar(_db.select(User).where(User.email == "lea@example.test"))
    assert user.role == "cashier" and user.merchant_id == merchant.id and user.password_hash
    mail = _db.session.scalar(
        _db.select(OutboxMessage).where(OutboxMessage.recipient == "lea@example.test")
    )
    assert "Ferme Invitée" in mail.body
    link = re.search(r"http://\S+/mot-de-passe/(\S+)", mail.body)
    assert link, mail.body
    assert _entries("merchant.cashier_invited")[0].details["user_id"] == user.id

    auth.logout()
    cashier = client.application.test_client()
    reset = f"/mot-de-passe/{link.group(1)}"
    token = csrf_from(cashier.get(reset).get_data(as_text=True))
    set_password = cashier.post(
        reset,
        data={
            "csrf_token": token,
            "password": "un-mot-de-passe-long",
            "confirm": "un-mot-de-passe-long",
        },
    )
    assert set_password.status_code in (302, 303), set_password.get_data(as_text=True)[:800]
    assert cashier.get(reset).status_code == 400  # the link served once
    login_page = cashier.get("/connexion")
    cashier.post(
        "/connexion",
        data={
            "csrf_token": csrf_from(login_page.get_data(as_text=True)),
            "login": "lea@example.test",
            "password": "un-mot-de-passe-long",
        },
    )
    assert cashier.get("/caisse").status_code == 200


def test_an_address_already_used_is_refused(client, admin, db):
    make_user("member", email="deja@example.test")
    merchant = make_merchant()
    db.session.commit()
    page = f"/admin/commercants/{merchant.id}"
    response = _post(
        client, page, f"{page}/caissiers", {"email": "DEJA@example.test", "language": "fr"}
    )
    assert response.status_code == 422
    assert "already signs in with this e-mail" in response.get_data(as_text=True)
    bad = _post(client, page, f"{page}/caissiers", {"email": "pas-une-adresse", "language": "fr"})
    assert bad.status_code == 422 and "not valid" in bad.get_data(as_text=True)


def test_resend_and_close_access_of_a_cashier(client, admin, db):
    merchant = make_merchant()
    other = make_merchant()
    cashier = make_cashier(merchant)
    stranger = make_cashier(other)
    db.session.commit()
    page = f"/admin/commercants/{merchant.id}"
    assert _post(client, page, f"{page}/caissiers/{cashier.id}/renvoyer").status_code == 303
    assert _db.session.scalar(
        _db.select(OutboxMessage).where(OutboxMessage.recipient == cashier.email)
    )
    version = cashier.session_version
    assert (
        _post(client, page, f"{page}/caissiers/{cashier.id}/acces", {"enable": "0"}).status_code
        == 303
    )
    _db.session.refresh(cashier)
    assert cashier.is_enabled is False and cashier.session_version == version + 1
    assert (
        _post(client, page, f"{page}/caissiers/{cashier.id}/acces", {"enable": "1"}).status_code
        == 303
    )
    _db.session.refresh(cashier)
    assert cashier.is_enabled is True
    # Another merchant's cashier is not reachable through this merchant.
    assert _post(client, page, f"{page}/caissiers/{stranger.id}/renvoyer").status_code == 404


def test_pages_in_french_by_default(client, admin, db):
    merchant = make_merchant(name="Ferme Française")
    db.session.commit()
    client.set_cookie("lang", "fr")
    html = client.get(f"/admin/commercants/{merchant.id}").get_data(as_text=True)
    assert "Inviter un caissier" in html and "Conventionné" in html


def test_the_new_merchant_form_sent_twice_creates_one_merchant(client, admin, db):
    token = csrf_from(client.get("/admin/commercants/nouveau").get_data(as_text=True))
    first = client.post("/admin/commercants/nouveau", data={"csrf_token": token, **_form()})
    again = client.post(
        "/admin/commercants/nouveau", data={"csrf_token": token, **_form()}
    )  # a double click
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert (
        _db.session.scalar(_db.select(_db.func.count(Merchant.id))) == 1
        and len(_entries("merchant.created")) == 1
    )
    html = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "was already created a moment ago" in html
    other = _post(
        client,
        "/admin/commercants/nouveau",
        "/admin/commercants/nouveau",
        _form(name="Ferme du Haut"),
    )
    assert (
        other.status_code == 303
        and _db.session.scalar(_db.select(_db.func.count(Merchant.id))) == 2
    )
