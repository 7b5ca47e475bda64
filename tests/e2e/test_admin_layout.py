"""Back-office pages fit the screens they are used on: a PC (1280×800) and a 10-inch tablet held
upright (800×1280). Neither the page nor a table scrolls sideways on those: a table that only fits
by scrolling hides its last columns (amounts paid, status, the "mark paid" buttons) off screen.
The phone keeps tables that scroll inside their box (tests/e2e/test_admin_*.py)."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from app.members.models import Application, Member
from app.payouts import settlement
from tests.e2e.conftest import admin_login, last_month_sales

pytestmark = pytest.mark.browser

# Elements wider than their box: the page itself, and every scrolling table box.
OVERFLOWING = """() => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) out.push(`page: ${root.scrollWidth} > ${window.innerWidth}`);
  for (const box of document.querySelectorAll('.table-wrap')) {
    if (box.scrollWidth > box.clientWidth + 1) out.push(`${box.querySelector('table')?.id || 'table'}: ${box.scrollWidth} > ${box.clientWidth}`);
  }
  return out;
}"""


@pytest.mark.parametrize(
    "page",
    [{"viewport": (1280, 800)}, {"viewport": (800, 1280)}],
    indirect=True,
    ids=["pc", "tablet"],
)
def test_back_office_pages_fit_without_sideways_scrolling(page, live_server, live_app):
    last_month_sales(live_app)
    with live_app.app_context():
        application = Application(
            first_name="Maximilien",
            last_name="Long",
            commune_id=1,
            address="1 rue du Test",
            email="maximilien.delacroix-montagne@association-exemple.test",
            phone=None,
            contribution_cents=800,
            status="pending",
        )
        db.session.add(application)
        db.session.commit()
        application_id = application.id
        member_id = db.session.scalar(db.select(Member.id).order_by(Member.id))
        db.session.remove()
    last = settlement.last_closed_period()
    admin_login(page, live_server, live_app)
    too_wide = {}
    for path in [
        "/admin/",
        "/admin/reglements",
        f"/admin/reglements?mois={last}",
        "/admin/reglements?lang=en",
        f"/admin/adherents/demandes/{application_id}",
        f"/admin/adherents/{member_id}",
        "/admin/?lang=en",
    ]:
        page.goto(live_server + path)
        if found := page.evaluate(OVERFLOWING):
            too_wide[path] = found
    assert too_wide == {}
