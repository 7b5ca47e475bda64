"""The admins' second factor: required on every back-office page, enrolment with a QR code,
codes accepted once, wrong codes throttled."""

from __future__ import annotations

import time

import pyotp
import pytest

from app.audit.models import AuditEntry
from app.core.extensions import db as _db
from app.members import twofactor
from app.members.models import TotpCredential, User
from tests.support.factories import (
    TEST_TOTP_SECRET,
    make_admin,
    make_cashier,
    make_member,
    make_user,
)
from tests.support.http import csrf_from
from tests.support.routes import sample_url  # the same sample URLs as the roles table
from tests.support.sessions import open_sign_in


def _post_code(client, url, code):
    page = client.get(url)
    return client.post(
        url, data={"code": code, "csrf_token": csrf_from(page.get_data(as_text=True))}
    )


def test_an_admin_with_the_password_only_is_sent_to_the_second_factor(client, auth, db):
    admin = make_admin()
    db.session.commit()
    response = auth.login(admin.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/securite/verification" in response.headers["Location"]
    # A deep link keeps its destination through the second factor.
    response = client.get("/admin/?month=2026-01")
    assert "next=" in response.headers["Location"]
    # htmx requests are redirected with HX-Redirect, not a fragment of the login page.
    response = client.get("/admin/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "/admin/securite/verification" in response.headers["HX-Redirect"]


def test_the_right_code_opens_the_back_office_and_goes_to_next(client, auth, db):
    admin = make_admin()
    db.session.commit()
    auth.login(admin.email)
    url = "/admin/securite/verification?next=/admin/%3Fmonth%3D2026-01"
    code = pyotp.TOTP(TEST_TOTP_SECRET).now()
    response = _post_code(client, url, code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/?month=2026-01"
    assert client.get("/admin/").status_code == 200
    # Verified: the verification page sends back to the back office.
    assert client.get("/admin/securite/verification").status_code == 302


def test_next_cannot_leave_the_site(client, auth, db):
    admin = make_admin()
    db.session.commit()
    auth.login(admin.email)
    response = _post_code(
        client,
        "/admin/securite/verification?next=//evil.example/x",
        pyotp.TOTP(TEST_TOTP_SECRET).now(),
    )
    assert response.headers["Location"] == "/admin/"


def test_a_wrong_code_is_refused_and_kept_out(client, auth, db):
    admin = make_admin()
    db.session.commit()
    auth.login(admin.email)
    good = pyotp.TOTP(TEST_TOTP_SECRET).now()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = _post_code(client, "/admin/securite/verification", wrong)
    assert response.status_code == 400
    assert "not right" in response.get_data(as_text=True) or "pas le bon" in response.get_data(
        as_text=True
    )
    assert client.get("/admin/").status_code == 302
    for text in ("", "12345", "abcdef", "1234567", "<b>1</b>" * 500):
        response = _post_code(client, "/admin/securite/verification", text)
        assert response.status_code == 400, text


def test_a_code_is_accepted_once(app, client, auth, db):
    admin = make_admin()
    db.session.commit()
    code = pyotp.TOTP(TEST_TOTP_SECRET).now()
    auth.login(admin.email)
    assert _post_code(client, "/admin/securite/verification", code).status_code == 302
    other = app.test_client()
    page = other.get("/connexion")
    other.post(
        "/connexion",
        data={
            "login": admin.email,
            "password": "patias-demo",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    response = _post_code(other, "/admin/securite/verification", code)
    assert response.status_code == 400
    assert other.get("/admin/").status_code == 302


def test_the_service_accepts_one_step_either_side_and_no_more():
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = time.time()
    step = totp.timecode(now)
    assert twofactor._matching_step(secret, totp.generate_otp(step - 1), now) == step - 1
    assert twofactor._matching_step(secret, totp.generate_otp(step + 1), now) == step + 1
    assert twofactor._matching_step(secret, totp.generate_otp(step - 2), now) is None
    assert twofactor._matching_step(secret, totp.generate_otp(step + 2), now) is None


def test_wrong_codes_are_throttled_even_for_the_right_code_afterwards(client, auth, db):
    admin = make_admin()
    db.session.commit()
    auth.login(admin.email)
    good = pyotp.TOTP(TEST_TOTP_SECRET).now()
    wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
    statuses = [
        _post_code(client, "/admin/securite/verification", wrong).status_code
        for _ in range(twofactor.MAX_WRONG_CODES)
    ]
    assert statuses[-1] == 429
    response = _post_code(client, "/admin/securite/verification", good)
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302
    credential = _db.session.scalar(
        _db.select(TotpCredential).where(TotpCredential.user_id == admin.id)
    )
    _db.session.refresh(credential)
    assert credential.blocked_until is not None


def test_an_admin_without_a_second_factor_enrols_with_a_qr_code(client, auth, db):
    admin = make_admin(totp_secret=None)
    db.session.commit()
    auth.login(admin.email)
    response = client.get("/admin/")
    assert "/admin/securite/inscription" in response.headers["Location"]
    page = client.get("/admin/securite/inscription")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html
    credential = _db.session.scalar(
        _db.select(TotpCredential).where(TotpCredential.user_id == admin.id)
    )
    assert credential is not None and credential.confirmed_at is None
    assert twofactor.grouped_secret(credential.secret) in html
    # The same pending secret until confirmed (a reload does not change what was scanned).
    assert twofactor.grouped_secret(credential.secret) in client.get(
        "/admin/securite/inscription"
    ).get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    wrong = _post_code(
        client,
        "/admin/securite/inscription",
        "000000" if pyotp.TOTP(credential.secret).now() != "000000" else "111111",
    )
    assert wrong.status_code == 400
    response = _post_code(
        client, "/admin/securite/inscription", pyotp.TOTP(credential.secret).now()
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    _db.session.refresh(credential)
    assert credential.confirmed_at is not None
    entry = _db.session.scalar(
        _db.select(AuditEntry).where(AuditEntry.action == "admin.totp_enrolled")
    )
    assert entry.actor_id == admin.id and credential.secret not in str(entry.details)
    # Once enrolled, the enrolment page no longer shows the secret.
    response = client.get("/admin/securite/inscription")
    assert response.status_code == 302 and credential.secret not in response.get_data(as_text=True)


def test_the_second_factor_lasts_for_the_session_only(client, auth, db):
    admin = make_admin()
    db.session.commit()
    auth.login_admin(admin.email)
    assert client.get("/admin/").status_code == 200
    auth.logout()
    auth.login(admin.email)
    assert client.get("/admin/").status_code == 302


def test_a_reset_ends_the_verified_session(client, auth, db, runner):
    admin = make_admin()
    db.session.commit()
    auth.login_admin(admin.email)
    assert client.get("/admin/").status_code == 200
    result = runner.invoke(args=["ssa", "reset-2fa", admin.email])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code in (302, 401)
    assert (
        _db.session.scalar(_db.select(TotpCredential).where(TotpCredential.user_id == admin.id))
        is None
    )
    assert runner.invoke(args=["ssa", "reset-2fa", "nobody@example.test"]).exit_code != 0


@pytest.mark.parametrize("role", ["member", "cashier"])
def test_the_second_factor_pages_are_for_admins_only(client, auth, db, role):
    user = make_member().user if role == "member" else make_cashier()
    db.session.commit()
    auth.login(user.email)
    for url in ("/admin/securite/verification", "/admin/securite/inscription"):
        assert client.get(url).status_code == 403
    assert client.get("/admin/").status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client):
    for url in ("/admin/", "/admin/securite/verification", "/admin/securite/inscription"):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_the_demo_admin_has_the_published_secret(app, db):
    from app.demo import seed_demo

    lines = list(seed_demo())
    db.session.commit()
    admin = _db.session.scalar(_db.select(User).where(User.email == "admin@patias.test"))
    credential = _db.session.scalar(
        _db.select(TotpCredential).where(TotpCredential.user_id == admin.id)
    )
    assert credential.secret == twofactor.DEMO_TOTP_SECRET and credential.confirmed_at is not None
    assert any(twofactor.DEMO_TOTP_SECRET in line for line in lines)
    # Seeding again keeps it (idempotent).
    list(seed_demo())
    db.session.commit()
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(TotpCredential)) == 1


def test_a_new_admin_user_factory_without_factor_cannot_use_the_back_office(client, auth, db):
    user = make_user("admin")
    db.session.commit()
    auth.login(user.email)
    assert "/inscription" in client.get("/admin/").headers["Location"]


def test_every_admin_route_needs_the_second_factor(app, db):
    """An admin signed in with the password only reaches no admin-only route (the back office,
    the events' organiser lists) but the 2FA pages."""
    admin = make_admin()
    db.session.commit()
    client = app.test_client()
    signed_in = open_sign_in(admin)
    with client.session_transaction() as session:
        session["_user_id"] = signed_in["_user_id"]  # the password only: no second factor
        session["_fresh"] = True
    token = csrf_from(client.get("/confidentialite").get_data(as_text=True))
    checked, endpoints = 0, set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in ("admin.second_factor_enrol", "admin.second_factor_verify"):
            assert view.second_factor is False
            continue
        if getattr(view, "access", None) != {"admin"}:
            continue
        url = sample_url(app, rule)
        endpoints.add(rule.endpoint)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url, method=method, data={"csrf_token": token} if method != "GET" else None
            )
            assert response.status_code == 302, f"{method} {url}: {response.status_code}"
            assert response.headers["Location"].startswith("/admin/securite/verification"), (
                f"{method} {url}"
            )
            checked += 1
            htmx = client.open(
                url,
                method=method,
                headers={"HX-Request": "true"},
                data={"csrf_token": token} if method != "GET" else None,
            )
            assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith(
                "/admin/securite/verification"
            )
    assert (
        checked >= 20 and {"admin.dashboard", "events.organise", "events.organise_csv"} <= endpoints
    )
    # Nothing was done meanwhile.
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(AuditEntry)) == 0
