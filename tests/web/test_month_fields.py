"""Every month the back office takes (a field of a form, a month in the URL) refuses a month out
of range or badly written with a message on the page, never a 500 (`/admin/?month=9999-12` was
one)."""

from __future__ import annotations

import pytest

from app.core.calendar import FIRST_YEAR, LAST_YEAR, Month
from app.core.errors import InvalidPeriod
from app.core.extensions import db as _db
from tests.support.factories import make_cashier, make_merchant

OUT_OF_RANGE = ["9999-12", "0001-01", "1999-12", "2101-01", "0000-01"]
BADLY_WRITTEN = ["13-2026", "2026-13", "2026-00", "2026-1", "x" * 100_000, "2026-03\x00", "٢٠٢٦-٠٣"]
# Query-string month fields of the back office: (path, the field's name).
MONTH_FIELDS = [
    ("/admin/", "month"),
    ("/admin/cotisations", "month"),
    ("/admin/reglements", "mois"),
]
RANGE_FR = "choisissez un mois de"
FORMAT_FR = ("AAAA-MM",)


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_month_parse_refuses_out_of_range(value):
    with pytest.raises(InvalidPeriod):
        Month.parse(value)


@pytest.mark.parametrize("value", [*BADLY_WRITTEN, "", "   ", None])
def test_month_parse_refuses_badly_written(value):
    with pytest.raises(InvalidPeriod):
        Month.parse(value)


def test_month_parse_keeps_the_range_ends():
    assert str(Month.parse(f"{FIRST_YEAR}-01")) == "2000-01"
    assert str(Month.parse(f" {LAST_YEAR}-12 ")) == "2100-12"
    # Months computed around the ends still work (the dashboard's twelve months before 2000-01).
    assert str(Month.of("2000-01").shift(-11)) == "1999-02"


@pytest.mark.parametrize(("path", "name"), MONTH_FIELDS)
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_out_of_range_month_is_refused_with_the_range(client, admin, path, name, value):
    response = client.get(path, query_string={name: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400, (path, value, response.status_code)
    assert RANGE_FR in html and 'aria-invalid="true"' in html
    if path != "/admin/reglements":  # a list of months there: nothing typed to keep
        assert f'value="{value}"' in html


@pytest.mark.parametrize(("path", "name"), MONTH_FIELDS)
@pytest.mark.parametrize("value", BADLY_WRITTEN)
def test_badly_written_month_is_refused_with_a_message(client, admin, path, name, value):
    response = client.get(path, query_string={name: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400, (path, value[:20], response.status_code)
    assert 'aria-invalid="true"' in html  # the message sits next to the field
    assert any(text in html for text in FORMAT_FR) or RANGE_FR in html or "20 caractères" in html


@pytest.mark.parametrize(("path", "name"), MONTH_FIELDS)
@pytest.mark.parametrize("value", ["2000-01", "2100-12", "2026-03"])
def test_months_in_range_are_shown(client, admin, path, name, value):
    if path == "/admin/reglements" and value == "2100-12":
        # Settlements end with next year's December (`settlement.parse_period`).
        assert client.get(path, query_string={name: value}).status_code == 400
        return
    assert client.get(path, query_string={name: value}).status_code == 200


@pytest.mark.parametrize("path", ["/admin/", "/admin/cotisations"])
def test_an_empty_month_means_the_current_one(client, admin, path):
    assert client.get(path, query_string={"month": ""}).status_code == 200


@pytest.mark.parametrize("value", [*OUT_OF_RANGE, "13-2026", "2026-13", "9" * 5000])
@pytest.mark.parametrize(
    "template",
    [
        "/admin/reglements/{}/sepa.xml",
        "/admin/reglements/{}/commercants/1",
        "/admin/reglements/{}/commercants/1.csv",
    ],
)
def test_a_month_in_a_back_office_url_out_of_range_is_404(client, admin, template, value):
    assert client.get(template.format(value)).status_code == 404


@pytest.mark.parametrize("value", [*OUT_OF_RANGE, "13-2026", "2026-13", "9" * 5000])
def test_a_month_in_a_merchant_statement_url_out_of_range_is_404(db, auth, client, value):
    cashier = make_cashier(make_merchant())
    _db.session.commit()
    assert auth.login(cashier.email).status_code == 302
    assert client.get(f"/caisse/releves/{value}").status_code == 404
    assert client.get(f"/caisse/releves/{value}.csv").status_code == 404
