"""A caisse installed from nothing, as another association would: `flask ssa init` on an empty
database (with a `--data` file), then the first administrator's second factor confirmed through
the sign-in pages. Used by tests/web/test_other_association.py and tests/e2e/test_first_run.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp

from tests.support.http import csrf_from

ADMIN_EMAIL = "coordination@vallee-verte.test"
ADMIN_PASSWORD = "une phrase de passe assez longue"

# Nothing of the PATIAS caisse: no commune, category, pickup point, FAQ entry or page.
EMPTY_BASE = {"communes": [], "categories": [], "pickup_points": [], "faq": [], "pages": []}

# The new association, as its coordinator types it into the settings pages.
IDENTITY = {
    "name": "SSA Vallée Verte",
    "contact_email": "bonjour@vallee-verte.test",
    "contact_phone": "04 75 12 34 56",
    "address": "12 place du Marché\r\n26400 Crest",
    "long_name_fr": "Sécurité sociale de l’alimentation de la Vallée Verte",
    "long_name_en": "Food social security of the Green Valley",
    "area_fr": "vallée de la Drôme (Drôme)",
    "area_en": "Drôme valley (France)",
    "origin_fr": "Des voisins de la vallée ont lancé ce projet en 2025.",
    "origin_en": "Neighbours of the valley started this project in 2025.",
}
# A BNP Paribas account (schwifty checks the IBAN and that the BIC is its bank's).
BANK = {
    "bank_holder": "Association SSA Vallée Verte",
    "iban": "FR76 3000 4000 0100 0123 4567 830",
    "bic": "BNPAFRPP",
    "payment_reference_prefix": "VERTE",
}
COMMUNES = [
    {"name": "Crest", "postcode": "26400", "aliases": ""},
    {"name": "Aouste-sur-Sye", "postcode": "26400", "aliases": ""},
    {"name": "Divajeu", "postcode": "26400", "aliases": ""},
]


def write_base(directory: Path) -> Path:
    path = Path(directory) / "base.json"
    path.write_text(json.dumps(EMPTY_BASE), encoding="utf-8")
    return path


def totp_secret(init_output: str) -> str:
    """The secret `init` prints for the administrator's authenticator app."""
    match = re.search(r"^TOTP secret: ([A-Z2-7]+)$", init_output, re.M)
    assert match, init_output
    return match.group(1)


def run_init(runner, directory: Path) -> str:
    """`flask ssa init --data` with the empty base; returns the TOTP secret."""
    result = runner.invoke(
        args=["ssa", "init", "--admin-email", ADMIN_EMAIL, "--data", str(write_base(directory))],
        input=f"{ADMIN_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    return totp_secret(result.output)


def sign_in_first_admin(client, secret: str) -> None:
    """Password, then the first code of the authenticator app confirms the second factor."""
    page = client.get("/connexion")
    response = client.post(
        "/connexion",
        data={"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, response.text
    page = client.get("/admin/securite/inscription")
    assert page.status_code == 200
    response = client.post(
        "/admin/securite/inscription",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, response.text
