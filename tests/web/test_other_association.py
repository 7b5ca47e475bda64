"""Another association sets up its whole caisse in the back office, with no file to edit
(issue 13): from `flask ssa init` on an empty database to the first allocation, through the
pages only (HTTP posts with their CSRF token). Then what its visitors and members read is its
own: name, area, communes, amount, the mails' signature, the SEPA file's payer."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.core import calendar
from app.core.calendar import Month
from app.core.extensions import db
from app.core.mail import OutboxMessage
from app.ledger import transfers as ledger
from app.members.models import Application, Member
from app.payouts import sepa
from tests.support.apps import truncate_all
from tests.support.first_run import BANK, COMMUNES, IDENTITY, run_init, sign_in_first_admin
from tests.support.http import csrf_from

SETTINGS = "/admin/parametres"


@pytest.fixture
def empty(app):
    """The `app` fixture loads PATIAS's reference data: `init` wants an empty database."""
    db.session.remove()
    truncate_all()
    return app


def _post(client, page: str, action: str, data: dict):
    """Post like the browser: the CSRF token of `page`, the English messages."""
    html = client.get(page).get_data(as_text=True)
    return client.post(f"{action}?lang=en", data={"csrf_token": csrf_from(html), **data})


def _saved(response) -> None:
    assert response.status_code in (302, 303), unescape(response.get_data(as_text=True))[:3000]


def _apply(client, first_name: str, commune: str) -> None:
    response = _post(
        client,
        "/adherer",
        "/adherer",
        {
            "first_name": first_name,
            "last_name": "Drômoise",
            "commune": commune,
            "address": "1 chemin des Vergers",
            "email": f"{first_name.lower()}@example.test",
            "phone": "",
            "contribution": "10",
            "consent": "y",
        },
    )
    _saved(response)


def _balance(member: Member) -> int:
    return ledger.balance(ledger.member_account(member))


def test_another_association_sets_up_its_caisse_through_the_pages(
    empty, runner, client, tmp_path, monkeypatch
):
    secret = run_init(runner, tmp_path)
    db.session.remove()
    sign_in_first_admin(client, secret)
    month = str(Month.current())

    # The settings page, section by section.
    _saved(_post(client, SETTINGS, f"{SETTINGS}/identite", IDENTITY))
    _saved(_post(client, SETTINGS, f"{SETTINGS}/banque", BANK))
    _saved(
        _post(
            client,
            SETTINGS,
            f"{SETTINGS}/allocation",
            {"amount": "80", "start": month, "rule": "none", "cap_months": "", "action": "save"},
        )
    )
    _saved(
        _post(
            client,
            SETTINGS,
            f"{SETTINGS}/paiement",
            {"places-0-place": "Mairie de Crest", "places-0-times": "le mercredi de 9 h à 11 h"},
        )
    )
    # The lists: three communes, a category, a pickup point, a market.
    lists = f"{SETTINGS}/communes"
    for commune in COMMUNES:
        _saved(_post(client, lists, lists, commune))
    lists = f"{SETTINGS}/categories"
    _saved(
        _post(client, lists, lists, {"name_fr": "Fruits et légumes", "name_en": "Fruit and veg"})
    )
    crest = db.session.scalar(
        db.select(Member.commune.property.mapper.class_).filter_by(name="Crest")
    )
    lists = f"{SETTINGS}/points-de-covoiturage"
    _saved(_post(client, lists, lists, {"name": "Place de la mairie, Crest", "commune": crest.id}))
    lists = f"{SETTINGS}/marches"
    _saved(
        _post(
            client,
            lists,
            lists,
            {
                "place": "Place du Marché",
                "commune": crest.id,
                "weekday": "5",
                "opens": "08:00",
                "closes": "12:30",
            },
        )
    )

    # Two residents of the new communes apply; the coordinator approves them.
    client.get("/?lang=fr")
    _apply(client, "Camille", "Crest")
    _apply(client, "Sacha", "Divajeu")
    db.session.remove()
    for application in db.session.scalars(db.select(Application).order_by(Application.id)).all():
        page = f"/admin/adherents/demandes/{application.id}"
        _saved(_post(client, page, f"{page}/accepter", {}))
    db.session.remove()
    members = db.session.scalars(db.select(Member).order_by(Member.id)).all()
    assert [m.commune.name for m in members] == ["Crest", "Divajeu"]

    # An approved member receives this month's allocation at once, at the amount in effect.
    assert [_balance(m) for m in members] == [8_000, 8_000]

    # The month's run, from the back office's allocation page: the amount is the new one, and
    # nobody is credited twice.
    page = client.get("/admin/allocations?lang=en").get_data(as_text=True)
    assert "Each month the caisse credits €80.00 to every active member." in page
    assert re.search(r'id="preview-credited">2<', page)
    assert re.search(r'id="preview-expiries">none: no cap on balances<', page)
    response = client.post(
        "/admin/allocations", data={"csrf_token": csrf_from(page), "period": month}
    )
    assert response.status_code == 302
    assert "nobody was credited twice" in client.get("/admin/allocations?lang=en").get_data(
        as_text=True
    )
    db.session.remove()
    members = db.session.scalars(db.select(Member).order_by(Member.id)).all()
    assert [_balance(m) for m in members] == [8_000, 8_000]
    assert ledger.balance(ledger.system_account("caisse")) == -16_000

    # What the public reads.
    html = unescape(client.get("/?lang=fr").get_data(as_text=True))
    assert "SSA Vallée Verte" in html and "vallée de la Drôme (Drôme)" in html
    assert "Dans 3 communes" in html and "80,00\u00a0€" in html
    assert "Sécurité sociale de l’alimentation de la Vallée Verte" in html
    assert "Des voisins de la vallée" in html
    for other in ("PATIAS", "Boën", "Loire Forez", "100,00"):
        assert other not in html, other
    html = unescape(client.get("/communes?lang=en").get_data(as_text=True))
    assert "The 3 communes of the experiment" in html and "Drôme valley (France)" in html
    assert "Boën" not in html
    html = unescape(client.get("/communes?lang=en&commune=aouste").get_data(as_text=True))
    assert "Yes! Residents of Aouste-sur-Sye may join SSA Vallée Verte." in re.sub(
        r"<[^>]+>", "", html
    )
    html = unescape(client.get("/communes?lang=en&commune=Boën-sur-Lignon").get_data(as_text=True))
    assert "Yes!" not in html
    assert "“Boën-sur-Lignon” is not in the experiment’s area for now" in html
    assert "listed on this page, Drôme valley (France)." in html

    # A mail to a member signs with the new identity.
    activation = db.session.scalar(
        db.select(OutboxMessage)
        .where(OutboxMessage.recipient == "camille@example.test")
        .order_by(OutboxMessage.id.desc())
    )
    footer = activation.body.strip().splitlines()[-4:]
    assert footer == [
        "SSA Vallée Verte",
        "12 place du Marché",
        "26400 Crest",
        "bonjour@vallee-verte.test · 04 75 12 34 56",
    ]
    assert "PATIAS" not in activation.subject + activation.body
    assert "VERTE 0" in activation.body  # the transfer reference, with the new prefix

    # The SEPA transfer files are paid from the new account.
    payer = sepa.debtor()
    assert (payer["name"], payer["IBAN"], payer["BIC"]) == (
        "Association SSA Vallee Verte",
        "FR7630004000010001234567830",
        "BNPAFRPP",
    )

    # The next month (the command line's run, as cron does it on its first day): no cap, the
    # balances add up. The run refuses a month that has not begun, so the clock moves on.
    following = str(Month.current().shift(1))
    first_day = Month.parse(following).first_day
    monkeypatch.setattr(calendar, "today", lambda: first_day)
    result = runner.invoke(args=["ssa", "allocate", "--month", following])
    assert result.exit_code == 0, result.output
    db.session.remove()
    members = db.session.scalars(db.select(Member).order_by(Member.id)).all()
    assert [_balance(m) for m in members] == [16_000, 16_000]
