"""Every back-office form of members, contributions, allocations and corrections, posted with
hostile input (10 kB, control characters, HTML, wrong types): answered, never a 500, and nothing
recorded."""

from __future__ import annotations

import io

import pytest

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.ledger import allocation
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.applications import clean_line
from app.members.models import Application, Commune
from tests.support.factories import make_admin, make_member, make_merchant
from tests.support.http import csrf_from

NASTY = [
    "x" * 10_000,
    "\x00\x07\x1b[2J\u202e",
    "<script>alert(1)</script>",
    "-1",
    "1e309",
    "١٢٣",
    "",
    " ",
]


@pytest.fixture
def setting(db, auth):
    admin = make_admin()
    member = make_member()
    merchant = make_merchant()
    allocation.allocate_member_now(member)
    sale = ledger.transfer(
        source=ledger.member_account(member),
        destination=ledger.merchant_account(merchant),
        amount_cents=500,
        kind="purchase",
    )
    commune = _db.session.scalar(_db.select(Commune).where(Commune.name == "Leigneux"))
    application = Application(
        first_name="A",
        last_name="B",
        commune_id=commune.id,
        address="x",
        email="a@b.test",
        contribution_cents=0,
        status="pending",
    )
    _db.session.add(application)
    db.session.commit()
    assert auth.login_admin(admin.email).status_code == 302
    return {"member": member, "sale": sale, "application": application}


def _counts():
    """Transfers, and audit entries other than a rejection (a reason made of visible text is fine)."""
    return (
        _db.session.scalar(_db.select(_db.func.count()).select_from(Transfer)),
        _db.session.scalar(
            _db.select(_db.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action != "application.rejected")
        ),
    )


@pytest.mark.parametrize("value", NASTY)
def test_hostile_values_in_every_field(client, setting, value):
    sale, application = setting["sale"], setting["application"]
    before = _counts()
    token = csrf_from(client.get("/admin/cotisations").get_data(as_text=True))
    posts = [
        (
            "/admin/cotisations",
            {
                "key": value,
                "number": value,
                "amount": value,
                "paid_on": value,
                "method": value,
                "reference": value,
            },
        ),
        (f"/admin/corrections/{sale.id}", {"key": value, "reason": value}),
        (f"/admin/adherents/demandes/{application.id}/refuser", {"reason": value}),
        ("/admin/allocations", {"period": value}),
        ("/admin/cotisations/import/enregistrer", {"batch": value}),
        ("/admin/securite/verification", {"code": value}),
    ]
    for url, fields in posts:
        response = client.post(url, data={"csrf_token": token, **fields})
        assert response.status_code < 500, f"{url}: {response.status_code}"
        body = response.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body, url
    for url in (
        f"/admin/?month={value}",
        f"/admin/adherents?q={value}&status={value}&page={value}",
        f"/admin/cotisations?month={value}&behind={value}&number={value}&amount={value}&paid_on={value}",
        f"/admin/corrections?q={value}",
        f"/admin/journal?action={value}&actor={value}&since={value}&until={value}",
    ):
        response = client.get(url.replace("\x00", "%00"))
        assert response.status_code < 500, f"{url[:80]}: {response.status_code}"
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True), url[:80]
    # Nothing was recorded by any of these; a rejection needs 1 to 500 visible characters.
    assert _counts() == before
    _db.session.refresh(application)
    visible = clean_line(value)
    assert application.status == ("rejected" if 0 < len(visible) <= 500 else "pending")
    if application.status == "rejected":
        assert application.reason == visible


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00\x00garbage",
        "Date;Libellé;Montant\n".encode() + b"\x00" * 100,
        ("Date;Libellé;Montant\n" + "01/01/2026;<script>alert(1)</script>;1,00\n").encode(),
        ("Date;Libellé;Montant\n" + '"unterminated;1,00\n' * 3).encode(),
    ],
)
def test_hostile_statements(client, setting, content):
    page = client.get("/admin/cotisations/import")
    response = client.post(
        "/admin/cotisations/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "statement": (io.BytesIO(content), "x.csv"),
        },
    )
    assert response.status_code in (200, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
