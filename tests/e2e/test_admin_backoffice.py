"""The back office in Chromium: the treasurer signs in with the second factor, approves an
application, records a contribution and runs the month's allocation; axe-core finds no WCAG 2.2 AA
violation on any back-office page (dashboard, members, contributions with a statement preview,
allocations, corrections, audit log, second-factor pages), at desktop and phone size.

`admin_login(page, live_server, live_app)` signs the demo admin in with a TOTP code computed from
the published demo secret (a code is accepted once: it picks a step not used yet).
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from app.core.calendar import Month
from app.core.extensions import db
from app.ledger import transfers as ledger
from app.ledger.models import Transfer
from app.members.models import Application, Member
from tests.support.axe import assert_no_axe_violations
from tests.support.browser import PHONE, admin_login, assert_no_console_errors, login
from tests.support.factories import make_user

ADMIN_EMAIL = "admin@patias.test"
BAD_STATUS = (r"status of 400",)


def _fresh_member(live_app) -> str:
    """An active member not yet credited this month (approved after the demo's run, by hand)."""
    from app.members import membership

    with live_app.app_context():
        member = membership.create_member(
            "Zoé", f"Tréso{int(time.time() * 1000) % 100000}", email=None
        )
        db.session.commit()
        number = member.number
        db.session.remove()
    return number


def _reset_application(live_app, last_name: str | None = None, phone: str = "0477000009") -> int:
    with live_app.app_context():
        application = Application(
            first_name="Lison",
            last_name=last_name or f"Essai{int(time.time() * 1000) % 100000}",
            commune_id=1,
            address="1 rue du Test",
            email=None,
            phone=phone,
            contribution_cents=800,
            status="pending",
        )
        db.session.add(application)
        db.session.commit()
        application_id = application.id
        db.session.remove()
    return application_id


def _duplicate_application(live_app) -> int:
    """A pending application of the same person as another one (same phone, another writing)."""
    last_name = f"Essai{int(time.time() * 1000) % 100000}"
    _reset_application(live_app, last_name)
    return _reset_application(live_app, last_name, phone="+33 4 77 00 00 09")


def test_the_treasurer_approves_records_and_allocates(page, live_server, live_app):
    to_credit = _fresh_member(live_app)
    admin_login(page, live_server, live_app)

    # Approve the demo application of Élodie Chambon (she has an e-mail: activation by mail).
    page.get_by_role("link", name="Adhérents", exact=True).click()
    page.get_by_role("link", name="Élodie Chambon").click()
    page.get_by_role("button", name="Accepter la demande").click()
    expect(page.locator(".flash-success")).to_contain_text("Adhésion acceptée")
    number = re.search(r"n° (\d{6})", page.locator("h1").inner_text()).group(1)

    # Record her first contribution.
    page.get_by_role("link", name="Enregistrer une cotisation").click()
    expect(page.get_by_label("Numéro d’adhérent")).to_have_value(number)
    page.get_by_label("Montant (€)").fill("12,00")
    page.get_by_label("Payé par").select_option("cheque")
    page.get_by_label("Référence (numéro de chèque, libellé bancaire)").fill("Chèque 7654321")
    page.get_by_role("button", name="Enregistrer le paiement").dblclick()
    expect(page.locator(".flash-success")).to_contain_text(f"n° {number}")
    with live_app.app_context():
        member = db.session.scalar(db.select(Member).where(Member.number == number))
        paid = list(
            db.session.scalars(
                db.select(Transfer.amount_cents).where(
                    Transfer.kind == "contribution", Transfer.member_id == member.id
                )
            )
        )
        db.session.remove()
    assert paid == [1200]  # a double click records once

    # Run the month's allocation: the member approved by hand is credited, once.
    page.get_by_role("link", name="Allocations", exact=True).click()
    expect(page.locator("#preview-to-credit")).to_have_text(re.compile(r"[1-9]\d*"))
    page.get_by_role("button", name=re.compile(r"Créditer \d+ adhérents? maintenant")).click()
    expect(page.locator(".flash-success")).to_contain_text("crédité")
    expect(page.locator("#preview-to-credit")).to_have_text("0")
    with live_app.app_context():
        member = db.session.scalar(db.select(Member).where(Member.number == to_credit))
        credited = db.session.scalar(
            db.select(db.func.count())
            .select_from(Transfer)
            .where(
                Transfer.kind == "allocation",
                Transfer.destination_id == ledger.member_account(member).id,
                Transfer.period == str(Month.current()),
            )
        )
        db.session.rollback()
        db.session.remove()
    assert credited == 1

    # The journal has all three.
    page.get_by_role("link", name="Journal").click()
    for action in ("application.approved", "contribution.recorded", "allocation.run"):
        expect(page.locator(f'tr[data-action="{action}"]').first).to_be_visible()
    assert_no_console_errors(page)


STATEMENT = "Date;Libellé;Montant\r\n{day};VIR SEPA PATIAS 000018 COTISATION;13,57\r\n{day};VIR INCONNU;20,00\r\n{day};PRLV FRAIS;-3,50\r\n"


@pytest.mark.parametrize(
    "page",
    [{"viewport": (1280, 800)}, {"viewport": PHONE}],
    indirect=True,
    ids=["desktop", "phone"],
)
def test_back_office_pages_have_no_axe_violations(page, live_server, live_app, tmp_path):
    application_id = _reset_application(live_app)
    duplicate_id = _duplicate_application(live_app)
    with live_app.app_context():
        sale = db.session.scalar(
            db.select(Transfer).where(Transfer.kind == "purchase").order_by(Transfer.id)
        )
        sale_id, member_id = sale.id, sale.source.member_id
        db.session.remove()
    admin_login(page, live_server, live_app)
    pages = [
        "/admin/",
        "/admin/adherents",
        "/admin/adherents?q=roche",
        "/admin/adherents?status=locked",
        f"/admin/adherents/{member_id}",
        f"/admin/adherents/{member_id}/carte",
        f"/admin/adherents/demandes/{application_id}",
        f"/admin/adherents/demandes/{duplicate_id}",
        "/admin/cotisations",
        "/admin/cotisations?behind=1",
        "/admin/cotisations/import",
        "/admin/allocations",
        "/admin/corrections",
        "/admin/corrections?q=000018",
        f"/admin/corrections/{sale_id}",
        "/admin/journal",
        "/admin/?lang=en",
        f"/admin/adherents/demandes/{duplicate_id}",
        "/admin/journal?lang=fr",
    ]
    for path in pages:
        page.goto(live_server + path)
        if "demandes" in path:
            # Every application of Lison Essai… has the same phone: the warning is on the page checked.
            expect(page.locator("#duplicates")).to_be_visible()
        assert_no_axe_violations(page)
        # Wide tables scroll inside their box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path

    # Error states: a refused contribution form, a refused rejection, a statement preview.
    page.goto(live_server + "/admin/cotisations")
    page.get_by_label("Montant (€)").fill("12,505")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.locator("#amount-error")).to_be_visible()
    assert_no_axe_violations(page)
    page.goto(f"{live_server}/admin/adherents/demandes/{application_id}")
    page.get_by_role("button", name="Refuser la demande").click()
    expect(page.locator("#reason-error")).to_be_visible()
    assert_no_axe_violations(page)
    statement = tmp_path / "releve.csv"
    statement.write_bytes(
        STATEMENT.format(day=ledger.today().strftime("%d/%m/%Y")).encode("cp1252")
    )
    page.goto(live_server + "/admin/cotisations/import")
    page.get_by_label("Relevé bancaire (fichier CSV)").set_input_files(str(statement))
    page.get_by_role("button", name="Aperçu").click()
    expect(page.locator("#count-matched")).to_have_text("1")
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # A refused form answers 400, which Chromium reports as a failed load of the page.
    assert_no_console_errors(page, ignore=BAD_STATUS)


def test_second_factor_pages_have_no_axe_violations(page, live_server, live_app):
    email = f"nouvel.admin{int(time.time() * 1000) % 100000}@patias.test"
    with live_app.app_context():
        make_user("admin", email=email)
        db.session.commit()
        db.session.remove()
    login(page, live_server, email)
    expect(page).to_have_url(re.compile(r"/admin/securite/inscription"))
    expect(page.locator("img.enrol-qr")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label(re.compile("Code à 6 chiffres")).fill("12")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#code-error")).to_be_visible()
    assert_no_axe_violations(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label(re.compile("Code à 6 chiffres")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirmer").click()
    expect(page).to_have_url(f"{live_server}/admin/")
    expect(page.locator(".flash-success")).to_contain_text("second facteur")
    # Signed out and in again: the verification page.
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, live_server, email)
    expect(page).to_have_url(re.compile(r"/admin/securite/verification"))
    assert_no_axe_violations(page)
    assert_no_console_errors(page, ignore=BAD_STATUS)
