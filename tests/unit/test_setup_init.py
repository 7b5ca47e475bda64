"""`flask ssa init`: base data and the first admin on an empty database, refused otherwise."""

from __future__ import annotations

import json
import re

import pyotp
import pytest

from app.content.models import FaqEntry, Page
from app.core.extensions import db
from app.core.settings import Setting, association, load_data
from app.events.models import PickupPoint
from app.members.models import Commune, TotpCredential, User
from app.merchants.models import Category
from tests.support.apps import truncate_all
from tests.support.http import csrf_from

EMAIL = "coordination@asso.test"
PASSWORD = "a long enough password"


@pytest.fixture
def empty(app):
    """The `app` fixture loads the reference data: `init` wants an empty database."""
    db.session.remove()
    truncate_all()
    return app


def counts() -> dict:
    models = (User, Commune, Category, PickupPoint, FaqEntry, Page, Setting, TotpCredential)
    return {
        model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model))
        for model in models
    }


def run_init(runner, *args, password: str = PASSWORD):
    return runner.invoke(args=["ssa", "init", "--admin-email", EMAIL, *args], input=f"{password}\n")


def test_init_loads_the_base_data_and_creates_the_admin(empty, runner, client):
    result = run_init(runner)
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert counts() == {
        "User": 1,
        "Commune": len(load_data("communes")),
        "Category": len(load_data("categories")),
        "PickupPoint": len(load_data("pickup_points")),
        "FaqEntry": len(load_data("faq")),
        "Page": len(load_data("pages")),
        "Setting": 0,
        "TotpCredential": 1,
    }
    admin = db.session.scalar(db.select(User))
    assert (admin.email, admin.role) == (EMAIL, "admin")
    secret = re.search(r"^TOTP secret: ([A-Z2-7]+)$", result.output, re.M).group(1)
    assert db.session.scalar(db.select(TotpCredential.secret)) == secret
    assert "otpauth://totp/" in result.output and f"secret={secret}" in result.output
    assert "█" in result.output or "▀" in result.output  # the QR code, drawn in the terminal
    assert "demo" not in result.output.lower()

    # The admin signs in: password, then the first code confirms the second factor.
    page = client.get("/connexion")
    client.post(
        "/connexion",
        data={"login": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    page = client.get("/admin/securite/inscription")
    assert page.status_code == 200
    response = client.post(
        "/admin/securite/inscription",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_second_init_refuses_and_changes_nothing(empty, runner):
    assert run_init(runner).exit_code == 0
    db.session.remove()
    before = counts()
    secret = db.session.scalar(db.select(TotpCredential.secret))
    result = runner.invoke(
        args=["ssa", "init", "--admin-email", "other@asso.test"], input=f"{PASSWORD}\n"
    )
    assert result.exit_code != 0
    assert "already initialised" in result.output
    db.session.remove()
    assert counts() == before
    assert db.session.scalar(db.select(TotpCredential.secret)) == secret
    assert db.session.scalar(db.select(User.email)) == EMAIL


def test_init_refuses_a_database_with_data(app, runner):
    """The `app` fixture's reference data is enough to refuse."""
    before = counts()
    result = run_init(runner)
    assert result.exit_code != 0 and "already initialised" in result.output
    assert counts() == before


def test_data_file_of_another_association(empty, runner, tmp_path):
    data = {
        "association": {"name": "SSA Ailleurs"},
        "communes": [
            {"name": "Alpha", "postcode": "01000"},
            {"name": "Bêta", "postcode": "01001"},
            {"name": "Gamma", "postcode": "01002"},
        ],
        "pickup_points": [{"name": "Marché d’Alpha", "commune": "Alpha"}],
    }
    path = tmp_path / "other.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run_init(runner, "--data", str(path))
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert sorted(db.session.scalars(db.select(Commune.name))) == ["Alpha", "Bêta", "Gamma"]
    assert list(db.session.scalars(db.select(PickupPoint.name))) == ["Marché d’Alpha"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Category)) == len(
        load_data("categories")
    )
    assert association()["name"] == "SSA Ailleurs"
    assert "issuer=SSA%20Ailleurs" in result.output


BAD_FILES = {
    "not json": ("{not json", "not valid JSON"),
    "a list": ("[]", "a JSON object is expected"),
    "unknown key": ('{"towns": []}', "unknown keys towns"),
    "communes not a list": ('{"communes": {"name": "A"}}', "'communes' must be a list"),
    "row lacks a key": ('{"communes": [{"postcode": "01000"}]}', "communes row 1 lacks name"),
    "category lacks a name": ('{"categories": [{"slug": "x"}]}', "lacks name_fr, name_en"),
    "unknown column": (
        '{"communes": [{"name": "A", "mayor": "B"}]}',
        "communes row 1 has unknown keys mayor",
    ),
    "unknown rule": ('{"association": {"colour": "red"}}', "unknown association keys colour"),
    "row not an object": ('{"faq": ["question"]}', "faq row 1 is not an object"),
    "unknown commune": (
        '{"communes": [{"name": "A"}], "pickup_points": [{"name": "P", "commune": "B"}]}',
        "unknown commune 'B'",
    ),
    "default points, other communes": ('{"communes": [{"name": "A"}]}', "unknown commune"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_data_files_are_refused(empty, runner, tmp_path, case):
    text, message = BAD_FILES[case]
    path = tmp_path / "data.json"
    path.write_text(text, encoding="utf-8")
    result = run_init(runner, "--data", str(path))
    assert result.exit_code != 0
    assert message in result.output
    assert not any(counts().values())


def test_missing_data_file(empty, runner, tmp_path):
    result = run_init(runner, "--data", str(tmp_path / "missing.json"))
    assert result.exit_code != 0 and "no such file" in result.output
    assert not any(counts().values())


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "Invalid administrator e-mail"),
        (EMAIL, "short", "Password refused: Le mot de passe doit avoir au moins 10"),
        (EMAIL, "", "No password given"),
    ],
)
def test_bad_admin_input_is_refused(empty, runner, email, password, message):
    result = runner.invoke(
        args=["ssa", "init", "--admin-email", email], input=f"{password}\n" if password else ""
    )
    assert result.exit_code != 0
    assert message in result.output
    assert not any(counts().values())


def test_seed_demo_refuses_under_production(app, runner, monkeypatch):
    before = counts()
    monkeypatch.setitem(app.config, "CONFIG_NAME", "production")
    result = runner.invoke(args=["ssa", "seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output
    assert counts() == before


def test_production_config_is_named_production():
    from app.core.config import CONFIGS

    assert {name: cls.CONFIG_NAME for name, cls in CONFIGS.items()} == {
        "development": "development",
        "testing": "testing",
        "production": "production",
    }
