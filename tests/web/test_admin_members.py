"""Members admin: search, applications (approve, reject), suspend, unlock, cards, a member's file."""

from __future__ import annotations

import re

import pytest

from app.audit.models import AuditEntry
from app.core.calendar import Month
from app.core.extensions import db as _db
from app.core.mail import OutboxMessage
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members import cards
from app.members.models import ActivationCode, Application, Commune, Member
from tests.support.factories import make_member
from tests.support.http import csrf_from


def _commune(name="Leigneux") -> Commune:
    return _db.session.scalar(_db.select(Commune).where(Commune.name == name))


def _application(**fields) -> Application:
    values = {
        "first_name": "Élodie",
        "last_name": "Chambon",
        "commune_id": _commune().id,
        "address": "3 chemin des Près",
        "email": "elodie@example.test",
        "phone": None,
        "contribution_cents": 1200,
        "status": "pending",
    }
    values.update(fields)
    application = Application(**values)
    _db.session.add(application)
    _db.session.commit()
    return application


def _post(client, page_url, action, data=None, **kwargs):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)


def _entries(action):
    return list(_db.session.scalars(_db.select(AuditEntry).where(AuditEntry.action == action)))


# Search


def test_search_by_name_number_commune_and_status(client, admin, db):
    roche = make_member(
        first_name="Camille", last_name="Roche", commune_id=_commune("Boën-sur-Lignon").id
    )
    girard = make_member(first_name="Louis", last_name="Girard", commune_id=_commune("Leigneux").id)
    locked = make_member(first_name="Inès", last_name="Faure", pin_failures=3)
    suspended = make_member(first_name="Marcel", last_name="Dumas", status="suspended")
    db.session.commit()

    def found(query):
        html = client.get("/admin/adherents" + query).get_data(as_text=True)
        return set(re.findall(r'href="/admin/adherents/(\d+)"', html))

    assert found("?q=roch") == {str(roche.id)}
    assert found("?q=Camille+Roche") == {str(roche.id)}
    assert found(f"?q={girard.number[:4]}") >= {str(girard.id)}
    assert found(f"?q={girard.number}") == {str(girard.id)}
    assert found("?q=leigneux") == {str(girard.id)}
    assert found("?status=locked") == {str(locked.id)}
    assert found("?status=suspended") == {str(suspended.id)}
    assert found("?q=nobody-like-this") == set()
    # Wildcards typed by people are taken literally.
    assert found("?q=%25") == set()


def test_search_ignores_accents_and_case(client, admin, db):
    roche = make_member(
        first_name="Étienne", last_name="Roche", commune_id=_commune("Boën-sur-Lignon").id
    )
    faure = make_member(first_name="Inès", last_name="FAURE", commune_id=_commune("Leigneux").id)
    db.session.commit()

    def found(query):
        html = client.get("/admin/adherents", query_string={"q": query}).get_data(as_text=True)
        return set(re.findall(r'href="/admin/adherents/(\d+)"', html))

    for query in ("boen", "Boën", "BOEN-SUR-LIGNON", "etienne", "ÉTIENNE roche"):
        assert found(query) == {str(roche.id)}, query
    for query in ("ines", "INES", "faure ines", "inès faure"):
        assert found(query) == {str(faure.id)}, query


def test_the_list_is_paginated(client, admin, db):
    for _ in range(51):
        make_member()
    db.session.commit()
    first = client.get("/admin/adherents").get_data(as_text=True)
    second = client.get("/admin/adherents?page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/admin/adherents/\d+"', first)) == 50
    assert len(re.findall(r'href="/admin/adherents/\d+"', second)) == 1
    assert client.get("/admin/adherents?page=999").status_code == 200
    assert client.get("/admin/adherents?page=abc").status_code == 200


def test_htmx_search_returns_the_results_fragment(client, admin, db):
    make_member(first_name="Camille", last_name="Roche")
    db.session.commit()
    response = client.get("/admin/adherents?q=roche", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="member-results"' in html and "<html" not in html and "Roche" in html
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize(
    "query", ["x" * 10_000, "\x00\x1b[31m", "<script>alert(1)</script>", "%_\\"]
)
def test_bad_search_input_is_answered_not_crashed(client, admin, db, query):
    response = client.get("/admin/adherents", query_string={"q": query, "status": "nonsense"})
    assert response.status_code in (200, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


# Applications


def test_pending_applications_are_listed(client, admin, db):
    application = _application()
    html = client.get("/admin/adherents").get_data(as_text=True)
    assert f"/admin/adherents/demandes/{application.id}" in html and "Élodie Chambon" in html


def test_approve_with_email_makes_a_member_card_mail_and_allocation(client, admin, db):
    application = _application()
    url = f"/admin/adherents/demandes/{application.id}"
    response = _post(client, url, url + "/accepter")
    assert response.status_code == 302
    member = _db.session.scalar(_db.select(Member).where(Member.application_id == application.id))
    assert response.headers["Location"] == f"/admin/adherents/{member.id}"
    assert cards.check_member_number(member.number) == member.number and member.card_token
    assert member.pledge_cents == 1200 and member.status == "active"
    _db.session.refresh(application)
    assert application.status == "approved"
    mail = _db.session.scalar(
        _db.select(OutboxMessage).where(OutboxMessage.recipient == "elodie@example.test")
    )
    assert mail is not None and member.number in mail.body
    allocation = _db.session.scalar(_db.select(Transfer).where(Transfer.kind == "allocation"))
    assert allocation is not None and allocation.period == str(Month.current())
    [entry] = _entries("application.approved")
    assert (
        entry.actor_id == admin.id
        and entry.target_id == member.id
        and entry.details["number"] == member.number
    )
    # A second click is refused without a second member.
    response = _post(client, url, url + "/accepter", follow_redirects=True)
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Member)) == 1
    assert response.status_code == 200


def test_approve_without_email_shows_the_activation_letter_once(client, admin, db):
    application = _application(
        email=None, phone="0477000001", first_name="Roger", last_name="Fayolle"
    )
    url = f"/admin/adherents/demandes/{application.id}"
    response = _post(client, url, url + "/accepter")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    member = _db.session.scalar(_db.select(Member).where(Member.application_id == application.id))
    assert member.number[:3] in html and "Roger Fayolle" in html
    code = _db.session.scalar(
        _db.select(ActivationCode).where(ActivationCode.user_id == member.user_id)
    )
    assert code is not None and code.used_at is None
    # The code is printed in the letter (8 characters of the letter alphabet, shown in groups).
    assert re.search(r'class="code">[A-Z0-9 -]{8,10}<', html)
    assert _entries("application.approved")[0].details["activation"] == "letter"


def test_reject_needs_a_reason_and_sends_it(client, admin, db):
    application = _application()
    url = f"/admin/adherents/demandes/{application.id}"
    response = _post(client, url, url + "/refuser", {"reason": "   "})
    assert response.status_code == 400
    _db.session.refresh(application)
    assert application.status == "pending"
    response = _post(
        client, url, url + "/refuser", {"reason": "Adresse hors des 21 communes <b>x</b>"}
    )
    assert response.status_code == 302
    _db.session.refresh(application)
    assert application.status == "rejected" and application.reason.startswith("Adresse hors")
    mail = _db.session.scalar(
        _db.select(OutboxMessage).where(OutboxMessage.recipient == "elodie@example.test")
    )
    assert "Adresse hors des 21 communes" in mail.body
    [entry] = _entries("application.rejected")
    assert entry.details["reason"].startswith("Adresse hors")
    page = client.get(url).get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    # Decided: no approve button any more, and approving is refused.
    assert "/accepter" not in page
    _post(client, url, url + "/accepter")
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Member)) == 0


def test_reason_too_long_is_refused_with_the_text_kept(client, admin, db):
    application = _application()
    url = f"/admin/adherents/demandes/{application.id}"
    response = _post(client, url, url + "/refuser", {"reason": "x" * 10_000})
    assert response.status_code == 400
    assert "500" in response.get_data(as_text=True)


def test_the_review_page_warns_of_a_possible_duplicate(client, admin, db):
    member = make_member(
        first_name="Elodie",
        last_name="CHAMBON",
        commune_id=_commune().id,
        email="other@example.test",
    )
    paper = _application(first_name="Lucie", last_name="Bert", email=None, phone="04 77 00 00 01")
    db.session.commit()
    application = _application(
        phone="+33 4 77 00 00 01", first_name="Élodie  ", last_name="Chambon"
    )
    url = f"/admin/adherents/demandes/{application.id}"
    html = client.get(url + "?lang=en").get_data(as_text=True)
    panel = html[html.index('id="duplicates"') : html.index('id="approve-title"')]
    assert "This person may already have applied or be a member:" in panel
    assert re.search(
        rf'<a href="/admin/adherents/{member.id}">Member Elodie CHAMBON, no. {member.number}</a>',
        panel,
    )
    assert (
        f'<a href="/admin/adherents/demandes/{paper.id}">Application of Lucie Bert received on'
        in panel
    )
    assert "same name and commune" in panel and "same phone" in panel
    # In French too; the warning does not block the approval.
    html = client.get(url + "?lang=fr").get_data(as_text=True)
    assert "Cette personne a peut-être déjà fait une demande ou est déjà adhérente" in html
    assert "même nom et même commune" in html and "même téléphone" in html
    assert _post(client, url, url + "/accepter").status_code == 302


def test_no_duplicate_warning_for_a_new_person(client, admin, db):
    make_member(first_name="Élodie", last_name="Chambon", commune_id=_commune("Boën-sur-Lignon").id)
    _application(first_name="Paul", last_name="Roux", email="paul@example.test")
    application = _application()
    html = client.get(f"/admin/adherents/demandes/{application.id}?lang=en").get_data(as_text=True)
    assert 'id="approve-title"' in html
    assert 'id="duplicates"' not in html and "may already have applied" not in html


# Member actions


def test_suspend_reactivate_unlock_and_new_card(client, admin, db):
    member = make_member(pin_failures=3)
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    assert "Unlock the card" in client.get(url + "?lang=en").get_data(as_text=True)
    assert _post(client, url, url + "/suspendre", {"reason": "Carte prêtée"}).status_code == 302
    _db.session.refresh(member)
    assert member.status == "suspended"
    assert _post(client, url, url + "/reactiver").status_code == 302
    _db.session.refresh(member)
    assert member.status == "active"
    assert _post(client, url, url + "/debloquer").status_code == 302
    _db.session.refresh(member)
    assert member.pin_failures == 0 and not cards.is_locked(member)
    old_token = member.card_token
    page = client.get(url).get_data(as_text=True)
    card = re.search(r'name="card" type="hidden" value="(\w+)"', page).group(1)
    assert (
        _post(client, url, url + "/carte/remplacer", {"confirm": "y", "card": card}).status_code
        == 302
    )
    _db.session.refresh(member)
    assert member.card_token and member.card_token != old_token
    actions = [
        e.action
        for e in _db.session.scalars(
            _db.select(AuditEntry).where(AuditEntry.target_id == member.id).order_by(AuditEntry.id)
        )
    ]
    assert actions == [
        "member.suspended",
        "member.reactivated",
        "member.card_unlocked",
        "member.card_replaced",
    ]
    assert _entries("member.card_unlocked")[0].details["wrong_pins"] == 3
    assert _entries("member.suspended")[0].details["reason"] == "Carte prêtée"


def test_stopping_the_card_asks_for_a_confirmation(client, admin, db):
    member = make_member()
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    token = member.card_token
    no_reason = _post(client, url, url + "/suspendre?lang=en", {"reason": "  "})
    assert (
        no_reason.status_code == 422
        and "Give the reason of the suspension." in no_reason.get_data(as_text=True)
    )
    not_ticked = _post(client, url, url + "/carte/remplacer?lang=en")
    assert not_ticked.status_code == 422
    assert "Tick the box to confirm: the old card stops paying at once." in not_ticked.get_data(
        as_text=True
    )
    _db.session.refresh(member)
    assert (
        member.status == "active"
        and member.card_token == token
        and _entries("member.card_replaced") == []
    )


def test_an_outdated_form_says_what_happened(client, admin, db):
    member = make_member(pin_failures=3)
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    client.set_cookie("lang", "en")
    page = client.get(url).get_data(as_text=True)
    token = csrf_from(page)
    card = re.search(r'name="card" type="hidden" value="(\w+)"', page).group(1)
    for _ in range(2):  # the same page's forms sent twice (Back, send again)
        client.post(url + "/debloquer", data={"csrf_token": token})
        client.post(
            url + "/carte/remplacer", data={"csrf_token": token, "confirm": "y", "card": card}
        )
        client.post(url + "/suspendre", data={"csrf_token": token, "reason": "Déménagement"})
        client.post(url + "/reactiver", data={"csrf_token": token})
    html = client.get(url).get_data(as_text=True)
    assert "The card was not locked: nothing was changed." in html
    assert "The card was already replaced since this page was shown: nothing was changed." in html
    assert "This membership was already active: nothing was changed." not in html
    assert len(_entries("member.card_unlocked")) == len(_entries("member.card_replaced")) == 1
    client.post(url + "/reactiver", data={"csrf_token": token})
    assert "This membership was already active: nothing was changed." in client.get(url).get_data(
        as_text=True
    )
    assert len(_entries("member.reactivated")) == 2 and len(_entries("member.suspended")) == 2


def test_card_reprint_page(client, admin, db):
    member = make_member(first_name="Camille", last_name="Roche")
    db.session.commit()
    response = client.get(f"/admin/adherents/{member.id}/carte")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        "Camille Roche" in html and 'src="data:image/svg+xml' in html and member.number[:3] in html
    )
    assert member.card_token not in html.replace("data:image/svg+xml", "")


def test_member_file_shows_pledge_contributions_and_history(client, admin, db):
    from app.ledger import allocation, contributions

    member = make_member(pledge_cents=2500)
    allocation.allocate_member_now(member)
    contributions.record_contribution(
        member, 2500, ledger.today(), "cheque", reference="Chèque 1234567"
    )
    db.session.commit()
    html = client.get(f"/admin/adherents/{member.id}?lang=en").get_data(as_text=True)
    assert "€25.00" in html and "Chèque 1234567" in html and "Cheque" in html
    assert "Monthly allocation" in html and "€100.00" in html


def test_activation_again_for_a_member_without_email_prints_a_new_code(client, admin, db):
    member = make_member(email="", password=None)
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    response = _post(client, url, url + "/activation")
    assert response.status_code == 200 and member.number[:3] in response.get_data(as_text=True)
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(ActivationCode)) == 1
    # An activated member gets no new code.
    member2 = make_member()
    db.session.commit()
    url2 = f"/admin/adherents/{member2.id}"
    response = _post(client, url2, url2 + "/activation")
    assert response.status_code == 302
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(ActivationCode)) == 1


def test_activation_again_by_email(client, admin, db):
    member = make_member(password=None)
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    assert _post(client, url, url + "/activation").status_code == 302
    assert (
        _db.session.scalar(_db.select(OutboxMessage).where(OutboxMessage.recipient == member.email))
        is not None
    )


def test_erased_members_cannot_be_changed(client, admin, db):
    from app.members import membership

    member = make_member()
    membership.erase(member)
    db.session.commit()
    url = f"/admin/adherents/{member.id}"
    assert client.get(url).status_code == 200
    assert client.get(url + "/carte").status_code == 404
    response = _post(client, url, url + "/suspendre", {"reason": "Test"})
    assert response.status_code == 302
    _db.session.refresh(member)
    assert member.status == "erased"


def test_unknown_ids_are_404_and_forms_need_csrf(client, admin, db):
    assert client.get("/admin/adherents/999999").status_code == 404
    assert client.get("/admin/adherents/demandes/999999").status_code == 404
    member = make_member()
    db.session.commit()
    assert client.post(f"/admin/adherents/{member.id}/suspendre").status_code == 400
    _db.session.refresh(member)
    assert member.status == "active"
