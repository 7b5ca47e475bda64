"""The register through the Flask test client: a member's money, identifying the member, the sale
form and the sale (`PIN` is the members' PIN in these tests)."""

from __future__ import annotations

from app.ledger import transfers as ledger
from tests.support.http import csrf_from, hidden

PIN = "8642"  # unusual digits, so that a search of the logs cannot match by chance


def fund(member, cents: int, period: str = "2099-01") -> None:
    """Give a member an allocation (through the ledger, like the monthly run)."""
    ledger.transfer(
        source=ledger.system_account("caisse"),
        destination=ledger.member_account(member),
        amount_cents=cents,
        kind="allocation",
        period=period,
    )


def balance_of(member) -> int:
    return ledger.balance(ledger.member_account(member))


def identify(client, number: str, headers=None):
    page = client.get("/caisse")
    return client.post(
        "/caisse/membre",
        data={"number": number, "csrf_token": csrf_from(page.get_data(as_text=True))},
        headers=headers or {},
    )


def sale_form(client, member_number: str) -> dict:
    """Identify the member and return the sale form's fields (CSRF, member reference, key)."""
    response = identify(client, member_number)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    return {
        "csrf_token": csrf_from(html),
        "member": hidden(html, "member"),
        "key": hidden(html, "key"),
    }


def charge(client, fields: dict, amount="12,50", pin=PIN, category="", headers=None):
    data = {**fields, "amount": amount, "pin": pin, "category": category}
    return client.post("/caisse/debit", data=data, headers=headers or {})
