"""Contributions admin: record a payment, pledged against paid, bank statement import."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.ledger import contributions
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from tests.support.factories import make_member
from tests.support.http import csrf_from


def _form(client, url="/admin/cotisations"):
    html = client.get(url).get_data(as_text=True)
    key = re.search(r'id="key" name="key" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="key" type="hidden" value="([^"]+)"', html
    )
    return {"csrf_token": csrf_from(html), "key": key.group(1)}


def _contributions():
    return list(_db.session.scalars(_db.select(Transfer).where(Transfer.kind == "contribution")))


def test_record_a_payment(client, admin, db):
    member = make_member(pledge_cents=1500)
    db.session.commit()
    caisse_before = ledger.balance(ledger.system_account("caisse"))
    day = ledger.today() - timedelta(days=2)
    data = {
        **_form(client),
        "number": member.number,
        "amount": "15",
        "paid_on": day.isoformat(),
        "method": "cheque",
        "reference": "Chèque 0012345",
    }
    response = client.post("/admin/cotisations", data=data)
    assert response.status_code == 302
    [row] = _contributions()
    assert (
        row.amount_cents,
        row.member_id,
        row.method,
        row.occurred_on,
        row.memo,
        row.actor_id,
    ) == (1500, member.id, "cheque", day, "Chèque 0012345", admin.id)
    assert ledger.balance(ledger.system_account("caisse")) == caisse_before + 1500
    page = client.get("/admin/cotisations?lang=en").get_data(as_text=True)
    assert row.reference in page
    [entry] = _db.session.scalars(
        _db.select(AuditEntry).where(AuditEntry.action == "contribution.recorded")
    )
    assert entry.details["amount_cents"] == 1500 and entry.target_id == member.id


def test_a_double_click_records_once(client, admin, db):
    member = make_member()
    db.session.commit()
    data = {
        **_form(client),
        "number": member.number,
        "amount": "12,50",
        "paid_on": ledger.today().isoformat(),
        "method": "cash",
        "reference": "",
    }
    assert client.post("/admin/cotisations", data=data).status_code == 302
    assert client.post("/admin/cotisations", data=data).status_code == 302
    assert len(_contributions()) == 1
    # The same key with another amount is refused, not recorded.
    response = client.post("/admin/cotisations", data={**data, "amount": "13"})
    assert response.status_code == 422
    assert len(_contributions()) == 1
    assert (
        len(
            list(
                _db.session.scalars(
                    _db.select(AuditEntry).where(AuditEntry.action == "contribution.recorded")
                )
            )
        )
        == 1
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "12,505", "two decimals"),
        ("amount", "-5", "negative"),
        ("amount", "abc", "for example"),
        ("amount", "0", "more than zero"),
        ("amount", "", "Enter an amount"),
        ("amount", "9" * 5000, "amount"),
        ("amount", "99999999999", "too large (at most"),
        ("number", "000019", "not valid"),
        ("number", "12", "6 digits"),
        ("number", "999995", "No member"),
        ("paid_on", "2026-13-45", "Enter a date like"),
        ("paid_on", "", "date of the payment"),
        ("paid_on", "1990-01-01", "too far in the past"),
        ("method", "bitcoin", "Not a valid choice"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_recorded(client, admin, db, field, value, message):
    member = make_member()
    db.session.commit()
    data = {
        **_form(client, "/admin/cotisations?lang=en"),
        "number": member.number,
        "amount": "10",
        "paid_on": ledger.today().isoformat(),
        "method": "cash",
        field: value,
    }
    response = client.post("/admin/cotisations?lang=en", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message.lower() in html.lower(), message
    assert _contributions() == []


def test_a_future_date_is_refused(client, admin, db):
    member = make_member()
    db.session.commit()
    data = {
        **_form(client),
        "number": member.number,
        "amount": "10",
        "paid_on": (ledger.today() + timedelta(days=1)).isoformat(),
        "method": "cash",
    }
    response = client.post("/admin/cotisations?lang=en", data=data)
    assert response.status_code == 400 and "future" in response.get_data(as_text=True)
    assert _contributions() == []


def test_pledged_against_paid_for_a_month(client, admin, db):
    full = make_member(pledge_cents=1500)
    partly = make_member(pledge_cents=3000)
    nothing = make_member(pledge_cents=1000)
    day = ledger.today()
    contributions.record_contribution(full, 1500, day, "cash")
    contributions.record_contribution(partly, 1000, day, "cash")
    last_month = day.replace(day=1) - timedelta(days=1)
    contributions.record_contribution(nothing, 1000, last_month, "cash")
    db.session.commit()
    html = client.get("/admin/cotisations?lang=en").get_data(as_text=True)
    assert re.search(r'id="total-pledged">€55.00<', html)
    assert re.search(r'id="total-paid">€25.00<', html)
    behind = client.get("/admin/cotisations?behind=1").get_data(as_text=True)
    listed = set(re.findall(r'data-number="(\d+)"', behind))
    assert listed == {partly.number, nothing.number}
    earlier = client.get(f"/admin/cotisations?lang=en&month={last_month:%Y-%m}").get_data(
        as_text=True
    )
    assert re.search(r'id="total-paid">€10.00<', earlier)
    assert client.get("/admin/cotisations?month=2026-13").status_code == 400


# Bank statement import


def _upload(client, data: bytes, name="releve.csv", lang="en"):
    page = client.get(f"/admin/cotisations/import?lang={lang}")
    return client.post(
        f"/admin/cotisations/import?lang={lang}",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "statement": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def _confirm(client, preview_html):
    batch = re.search(r'name="batch" type="hidden" value="([^"]+)"', preview_html).group(1)
    return client.post(
        "/admin/cotisations/import/enregistrer",
        data={"csrf_token": csrf_from(preview_html), "batch": batch},
    )


def _csv(member, other="000026"):
    day = ledger.today().strftime("%d/%m/%Y")
    text = (
        f"Date;Libellé;Montant\r\n{day};VIR SEPA PATIAS {member.number} COTISATION;15,00\r\n"
        f"{day};VIR M DUPONT;20,00\r\n{day};PRLV BANQUE;-3,50\r\n{day};PATIAS 999995;5,00\r\n"
    )
    return text.encode("cp1252")


def test_import_previews_then_records_once(client, admin, db):
    member = make_member()
    db.session.commit()
    response = _upload(client, _csv(member))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="count-matched">1<', html) and re.search(r'id="count-unmatched">2<', html)
    assert re.search(r'id="count-ignored">1<', html)
    assert "VIR M DUPONT" in html and "Windows-1252" in html
    assert _contributions() == []  # nothing before the confirmation
    response = _confirm(client, html)
    assert response.status_code == 302
    [row] = _contributions()
    assert (row.member_id, row.amount_cents, row.method) == (member.id, 1500, "transfer")
    # The same statement again: everything already recorded, nothing new.
    again = _upload(client, _csv(member)).get_data(as_text=True)
    assert re.search(r'id="count-matched">0<', again) and re.search(
        r'id="count-duplicate">1<', again
    )
    assert "record-statement" not in again
    # Confirming the first preview a second time records nothing either.
    assert _confirm(client, html).status_code == 302
    assert len(_contributions()) == 1
    entries = list(
        _db.session.scalars(
            _db.select(AuditEntry).where(AuditEntry.action == "contribution.imported")
        )
    )
    assert [e.details["recorded"] for e in entries] == [1, 0]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"PK\x03\x04xlsx", "releve.xlsx", "spreadsheet"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "releve.pdf", "This is a PDF file"),
        ("Date;Montant".encode("utf-16"), "releve.csv", "not text"),
        (b"Nom;Ville\nA;B\n", "releve.csv", "name the columns"),
        (b"", "releve.csv", "empty"),
    ],
)
def test_wrong_files_are_explained(client, admin, db, data, name, message):
    response = _upload(client, data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _contributions() == []


def test_no_file_and_forged_batch(client, admin, db):
    page = client.get("/admin/cotisations/import")
    response = client.post(
        "/admin/cotisations/import", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 400
    response = client.post(
        "/admin/cotisations/import/enregistrer",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "batch": "forged"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and _contributions() == []


def test_record_by_hand_link_prefills_the_form(client, admin, db):
    html = client.get(
        "/admin/cotisations?amount=20,5&paid_on=2026-01-02&reference=VIR+M+DUPONT"
    ).get_data(as_text=True)
    assert (
        'value="20,5"' in html and 'value="2026-01-02"' in html and 'value="VIR M DUPONT"' in html
    )


def test_preview_rows_needing_attention_say_why(client, admin, db):
    """Too large, in the future, entered by hand already: not recorded, each with its reason; a link
    to the manual form only where that form would accept the row."""
    member = make_member()
    entered = contributions.record_contribution(member, 1500, ledger.today(), "cash")
    db.session.commit()
    day, future = (
        ledger.today().strftime("%d/%m/%Y"),
        (ledger.today() + timedelta(days=3)).strftime("%d/%m/%Y"),
    )
    data = (
        f"Date;Libellé;Montant\r\n{day};PATIAS {member.number};1 234 567,00\r\n"
        f"{future};VIR M DUPONT;20,00\r\n{day};VIR PATIAS {member.number};15,00\r\n"
    ).encode()
    html = _upload(client, data).get_data(as_text=True)
    assert re.search(r'id="count-matched">0<', html) and re.search(r'id="count-unmatched">2<', html)
    assert re.search(r'id="count-likely-duplicate">1<', html) and "record-statement" not in html
    rows = re.findall(r'<tr data-status="(\w+)">(.*?)</tr>', html, re.S)
    assert [status for status, _ in rows] == ["unmatched", "unmatched", "likely_duplicate"]
    too_large, in_future, by_hand = (cells for _, cells in rows)
    assert (
        "This amount is too large (at most €100,000.00)." in too_large
        and "Record by hand" not in too_large
    )
    assert "The date is in the future." in in_future and "Record by hand" not in in_future
    assert "Probable duplicate" in by_hand and entered.reference in by_hand
    link = re.search(r'href="(/admin/cotisations\?[^"]+)">Record by hand<', by_hand).group(1)
    assert f"number={member.number}" in link
    assert _contributions() == [entered]


def test_a_row_status_is_singular_in_french(client, admin, db):
    member = make_member()
    db.session.commit()
    html = _upload(client, _csv(member), lang="fr").get_data(as_text=True)
    statuses = re.findall(r'<span class="status status-unmatched">([^<]+)</span>', html)
    assert statuses == ["Non rattachée", "Non rattachée"]
    assert "Non rattachées" in html  # the count above the rows stays plural


# Cancelling a contribution


def test_a_mistaken_contribution_is_cancelled_with_a_reason(client, admin, db):
    member = make_member(pledge_cents=1050)
    row = contributions.record_contribution(member, 100050, ledger.today(), "cash")
    db.session.commit()
    caisse_before = ledger.balance(ledger.system_account("caisse"))
    index = client.get("/admin/cotisations?lang=en").get_data(as_text=True)
    url = f"/admin/cotisations/{row.id}/annulation"
    assert f'href="{url}"' in index and re.search(r'id="total-paid">€1,000.50<', index)
    # The member's page leads there too (an older contribution is not in the latest list).
    assert f'href="{url}"' in client.get(f"/admin/adherents/{member.id}?lang=en").get_data(
        as_text=True
    )
    # The confirmation step: a page with the contribution and a required reason (no JavaScript needed).
    page = client.get(url + "?lang=en")
    assert page.status_code == 200 and "€1,000.50" in page.get_data(as_text=True)
    form = _form(client, url + "?lang=en")
    response = client.post(url + "?lang=en", data={**form, "reason": "  "})
    assert (
        response.status_code == 400
        and "Give the reason of the cancellation." in response.get_data(as_text=True)
    )
    assert ledger.balance(ledger.system_account("caisse")) == caisse_before
    data = {**form, "reason": "Typed 1 000,50 for 10,50"}
    response = client.post(url + "?lang=en", data=data)
    assert response.status_code == 302
    assert ledger.balance(ledger.system_account("caisse")) == caisse_before - 100050
    # Sent again (a double click, Back and resend): cancelled once.
    assert client.post(url + "?lang=en", data=data).status_code == 302
    [correction] = _db.session.scalars(_db.select(Transfer).where(Transfer.reverses_id == row.id))
    assert (correction.kind, correction.memo, correction.actor_id) == (
        "correction",
        "Typed 1 000,50 for 10,50",
        admin.id,
    )
    assert ledger.balance(ledger.system_account("caisse")) == caisse_before - 100050
    [entry] = _db.session.scalars(
        _db.select(AuditEntry).where(AuditEntry.action == "contribution.cancelled")
    )
    assert entry.details["reason"] == "Typed 1 000,50 for 10,50" and entry.target_id == member.id
    # A second cancellation from another copy of the form is refused with a clear message.
    other = _form(client, "/admin/cotisations?lang=en")  # a fresh key
    response = client.post(url + "?lang=en", data={**other, "reason": "again"})
    assert response.status_code == 409 and "already cancelled" in response.get_data(as_text=True)
    # The page and the lists show it as cancelled; it no longer counts as paid.
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "confirm-cancellation" not in page and "Typed 1 000,50 for 10,50" in page
    index = client.get("/admin/cotisations?lang=en").get_data(as_text=True)
    assert "Contribution cancelled" in index and f'href="{url}"' not in index
    assert re.search(r'id="total-paid">€0.00<', index)
    member_page = client.get(f"/admin/adherents/{member.id}?lang=en")
    assert member_page.status_code == 200
    assert 'id="member-contributions"' not in member_page.get_data(
        as_text=True
    )  # "No contribution recorded."
    assert list(ledger.verify()) == []


def test_only_contributions_have_a_cancellation_page(client, admin, db):
    member = make_member()
    allocation = ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=500,
        kind="allocation",
    )
    db.session.commit()
    assert client.get(f"/admin/cotisations/{allocation.id}/annulation").status_code == 404
    assert client.get("/admin/cotisations/999999/annulation").status_code == 404
