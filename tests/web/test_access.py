"""Who may use which route: every rule of `app.url_map`, requested by every kind of actor.

The table below is the source of truth. Each endpoint has exactly one audience; the test fails
when an endpoint has no entry (a new route must be added here), when an entry names an endpoint
that no longer exists, when a view's `@access` declaration says something else than the table,
and when a route answers the wrong actor:

- anonymous on a protected route: a redirect to /connexion (an htmx request gets 401 and
  HX-Redirect);
- a signed-in actor of another role: 403;
- an actor of the route's audience: neither of those (the view runs; with the sample arguments
  below it may well answer 404 or 400, which is the view's business, not the guard's).

Later issues add their endpoints to their blueprint's dict. Rules with arguments are requested
with the sample values of `SAMPLE_ARGUMENTS` in tests/support/routes.py (integers get an id
that exists nowhere).
"""

from __future__ import annotations

import re

import pytest

from app.core.extensions import db
from app.core.security import ADMIN, CASHIER, MEMBER, PUBLIC, view_access
from tests.support.factories import make_admin, make_cashier, make_member
from tests.support.routes import sample_url
from tests.support.sessions import open_sign_in, sign_in_holds

SIGNED_IN = "signed-in"  # any role
AUDIENCES = {
    PUBLIC: frozenset({PUBLIC}),
    MEMBER: frozenset({MEMBER}),
    CASHIER: frozenset({CASHIER}),
    ADMIN: frozenset({ADMIN}),
    SIGNED_IN: frozenset({MEMBER, CASHIER, ADMIN}),
}

# --- the table: one dict per blueprint ------------------------------------------------------

PUBLIC_SITE = {
    "static": PUBLIC,
    "public.index": PUBLIC,
    "public.healthz": PUBLIC,
    "public.privacy": PUBLIC,
    "public.communes": PUBLIC,
    "public.subscribe": PUBLIC,
    "public.faq": PUBLIC,
    "public.merchants": PUBLIC,
    "public.apply": PUBLIC,
    "public.applied": PUBLIC,
    "public.feedback_vote": PUBLIC,
}

AUTH = {
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.activate": PUBLIC,
    "auth.activate_with_code": PUBLIC,
}

ACCOUNT = {
    "account.index": MEMBER,
    "account.history": MEMBER,
    "account.history_csv": MEMBER,
    "account.pledge": MEMBER,
    "account.card": MEMBER,
    "account.lost_card": MEMBER,
    "account.pin": MEMBER,
    "account.data": MEMBER,
    "account.data_json": MEMBER,
    "account.data_csv": MEMBER,
    "account.erase": MEMBER,
    "account.devices": MEMBER,
    "account.sign_out_everywhere": MEMBER,
    "account.change_password": MEMBER,
}

MERCHANT = {
    "merchant.register": CASHIER,
    "merchant.identify": CASHIER,
    "merchant.debit": CASHIER,
    "merchant.sales": CASHIER,
    "merchant.cancel": CASHIER,
    "merchant.report": CASHIER,
    "merchant.lock": CASHIER,
    "merchant.statements": CASHIER,
    "merchant.statement": CASHIER,
    "merchant.statement_csv": CASHIER,
}

EVENTS = {
    "events.index": PUBLIC,
    "events.past": PUBLIC,
    "events.detail": PUBLIC,
    "events.calendar_feed": PUBLIC,
    "events.event_calendar": PUBLIC,
    # Registrations are reached with their private link (the token), not a login.
    "events.manage": PUBLIC,
    "events.cancel": PUBLIC,
    "events.offer_ride": PUBLIC,
    "events.cancel_ride": PUBLIC,
    "events.request_ride": PUBLIC,
    "events.cancel_request": PUBLIC,
    "events.book": PUBLIC,
    "events.cancel_booking": PUBLIC,
    "events.organise": ADMIN,
    "events.organise_csv": ADMIN,
}

ADMIN_AREA = {
    "admin.dashboard": ADMIN,
    "admin.second_factor_enrol": ADMIN,
    "admin.second_factor_verify": ADMIN,
    "admin.members": ADMIN,
    "admin.member": ADMIN,
    "admin.member_activation": ADMIN,
    "admin.member_card": ADMIN,
    "admin.member_reactivate": ADMIN,
    "admin.member_replace_card": ADMIN,
    "admin.member_suspend": ADMIN,
    "admin.member_unlock": ADMIN,
    "admin.application": ADMIN,
    "admin.application_approve": ADMIN,
    "admin.application_reject": ADMIN,
    "admin.allocations": ADMIN,
    "admin.allocation_run": ADMIN,
    "admin.contributions": ADMIN,
    "admin.contribution_record": ADMIN,
    "admin.contribution_cancel": ADMIN,
    "admin.contributions_import": ADMIN,
    "admin.contributions_preview": ADMIN,
    "admin.contributions_import_confirm": ADMIN,
    "admin.corrections": ADMIN,
    "admin.correction": ADMIN,
    "admin.journal": ADMIN,
    "admin.merchants": ADMIN,
    "admin.merchant_new": ADMIN,
    "admin.merchant_detail": ADMIN,
    "admin.merchant_edit": ADMIN,
    "admin.merchant_invite": ADMIN,
    "admin.merchant_market_link": ADMIN,
    "admin.merchant_market_unlink": ADMIN,
    "admin.merchant_suspend": ADMIN,
    "admin.merchant_reactivate": ADMIN,
    "admin.merchant_cashier_access": ADMIN,
    "admin.merchant_cashier_resend": ADMIN,
    "admin.settlements": ADMIN,
    "admin.settlement_statement": ADMIN,
    "admin.settlement_statement_csv": ADMIN,
    "admin.settlement_pay": ADMIN,
    "admin.settlement_pay_all": ADMIN,
    "admin.settlement_sepa": ADMIN,
    "admin.content": ADMIN,
    "admin.events": ADMIN,
    "admin.event_new": ADMIN,
    "admin.event_edit": ADMIN,
    "admin.event_duplicate": ADMIN,
    "admin.event_publish": ADMIN,
    "admin.faq": ADMIN,
    "admin.faq_new": ADMIN,
    "admin.faq_edit": ADMIN,
    "admin.faq_move": ADMIN,
    "admin.faq_publish": ADMIN,
    "admin.faq_delete": ADMIN,
    "admin.feedback": ADMIN,
    "admin.pages": ADMIN,
    "admin.page_edit": ADMIN,
    "admin.subscribers": ADMIN,
    "admin.subscribers_csv": ADMIN,
    "admin.subscriber_delete": ADMIN,
    "admin.settings": ADMIN,
    "admin.settings_identity": ADMIN,
    "admin.settings_bank": ADMIN,
    "admin.settings_allocation": ADMIN,
    "admin.settings_payment": ADMIN,
    "admin.settings_backups": ADMIN,
    "admin.list_categories": ADMIN,
    "admin.list_category_delete": ADMIN,
    "admin.list_category_edit": ADMIN,
    "admin.list_category_move": ADMIN,
    "admin.list_commune_edit": ADMIN,
    "admin.list_commune_eligible": ADMIN,
    "admin.list_communes": ADMIN,
    "admin.list_market_active": ADMIN,
    "admin.list_market_edit": ADMIN,
    "admin.list_markets": ADMIN,
    "admin.list_pickup_point_delete": ADMIN,
    "admin.list_pickup_point_edit": ADMIN,
    "admin.list_pickup_point_move": ADMIN,
    "admin.list_pickup_points": ADMIN,
}

EXPECTED: dict[str, str] = {**PUBLIC_SITE, **AUTH, **ACCOUNT, **MERCHANT, **EVENTS, **ADMIN_AREA}

# --- the actors ------------------------------------------------------------------------------

ACTORS = ("anonymous", "member", "other_member", "cashier", "admin")
ROLE_OF = {
    "anonymous": None,
    "member": MEMBER,
    "other_member": MEMBER,
    "cashier": CASHIER,
    "admin": ADMIN,
}


class Actors:
    """One test client per actor, whose session is put back before every request.

    Signing in is tested elsewhere: a sign-in is opened on the server and the user (and the admin's
    second factor) is written into the session directly, with a CSRF token, so that POSTs are decided by the access guard and not by
    the CSRF check, and so that a request that signs out (logout, locking the register) does not
    change what the next request sees.
    """

    def __init__(self, app, users: dict):
        self.app = app
        self.users = users
        self.clients: dict = {}
        self.sessions: dict = {}

    def _prepare(self, actor: str) -> None:
        client = self.app.test_client()
        values = {} if actor == "anonymous" else open_sign_in(self.users[actor])
        with client.session_transaction() as session:
            session.update(values)
        page = client.get("/confidentialite").get_data(as_text=True)
        with client.session_transaction() as session:
            values["csrf_token"] = session["csrf_token"]
        self.clients[actor] = client
        self.sessions[actor] = (values, _TOKEN.search(page).group(1))

    def request(self, actor: str, method: str, url: str, htmx: bool = False):
        if actor not in self.clients:
            self._prepare(actor)
        client = self.clients[actor]
        values, token = self.sessions[actor]
        if "_user_id" in values and not sign_in_holds(values):
            # The previous request ended it (a sign-out, a lock): sign in again on the server.
            values.update(open_sign_in(self.users[actor]))
        with client.session_transaction() as session:
            session.clear()
            session.update(values)
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
        response.get_data()
        response.close()
        return response


@pytest.fixture
def actors(app):
    member = make_member(
        first_name="Apolline", last_name="Access", email="access.member@example.test"
    )
    other = make_member(first_name="Barnabé", last_name="Other", email="access.other@example.test")
    cashier = make_cashier(email="access.cashier@example.test")
    admin = make_admin(email="access.admin@example.test")
    db.session.commit()
    team = Actors(
        app, {"member": member.user, "other_member": other.user, "cashier": cashier, "admin": admin}
    )
    team.member = member
    return team


_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


SIGN_OUTS = ("merchant.lock", "account.sign_out_everywhere")


def _refused_to_log_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/connexion")


# --- the tests -------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_table_and_declares_that_audience(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - EXPECTED.keys())
    assert not missing, f"endpoints without an entry in tests/web/test_access.py: {missing}"
    stale = sorted(EXPECTED.keys() - endpoints)
    assert not stale, f"entries for endpoints that no longer exist: {stale}"
    undeclared = sorted(e for e in endpoints if view_access(app, e) is None)
    assert not undeclared, f"views without @access(...): {undeclared}"
    different = {
        e: (sorted(view_access(app, e)), EXPECTED[e])
        for e in endpoints
        if view_access(app, e) != AUDIENCES[EXPECTED[e]]
    }
    assert not different, f"@access differs from the table: {different}"


def test_an_undeclared_view_is_refused(database_url):
    from tests.support.apps import make_app

    probe = make_app(database_url)
    probe.add_url_rule("/undeclared-probe", "undeclared_probe", lambda: "open to all?")
    try:
        with probe.app_context():
            assert probe.test_client().get("/undeclared-probe").status_code == 403
    finally:
        with probe.app_context():
            db.session.remove()
            db.engine.dispose()


def test_every_route_answers_only_its_audience(app, actors):
    problems = []
    checked = 0
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    for rule in rules:
        audience = AUDIENCES[EXPECTED[rule.endpoint]]
        url = sample_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for actor in ACTORS:
                role = ROLE_OF[actor]
                response = actors.request(actor, method, url)
                checked += 1
                where = f"{actor} {method} {url} ({rule.endpoint}: {EXPECTED[rule.endpoint]})"
                if PUBLIC in audience:
                    if response.status_code == 403 or _refused_to_log_in(response):
                        problems.append(f"{where}: a public route refused ({response.status_code})")
                elif role is None:
                    if not _refused_to_log_in(response):
                        problems.append(
                            f"{where}: anonymous got {response.status_code}, not the login page"
                        )
                    elif method == "GET" and "next=" not in response.headers["Location"]:
                        problems.append(f"{where}: the login redirect forgets where to come back")
                elif role in audience:
                    # Locking the register, signing out of every device: they sign out and
                    # show the login page, that is their job.
                    if response.status_code == 403 or (
                        _refused_to_log_in(response) and rule.endpoint not in SIGN_OUTS
                    ):
                        problems.append(
                            f"{where}: its own audience refused ({response.status_code})"
                        )
                elif response.status_code != 403:
                    problems.append(f"{where}: a wrong role got {response.status_code}, not 403")
    assert checked > 5 * len(rules) * 0.9
    assert not problems, "\n".join(problems)


def test_anonymous_htmx_requests_get_401_and_hx_redirect(app, actors):
    protected = [
        r
        for r in app.url_map.iter_rules()
        if PUBLIC not in AUDIENCES[EXPECTED[r.endpoint]] and "GET" in r.methods
    ]
    assert protected
    for rule in protected:
        response = actors.request("anonymous", "GET", sample_url(app, rule), htmx=True)
        assert response.status_code == 401, rule.rule
        assert response.headers["HX-Redirect"].startswith("/connexion"), rule.rule


def test_another_member_never_sees_the_first_members_data(app, actors):
    member = actors.member
    secrets = (
        member.first_name,
        member.last_name,
        member.number,
        member.card_token,
        member.user.email,
    )
    for rule in app.url_map.iter_rules():
        if EXPECTED[rule.endpoint] != MEMBER or "GET" not in rule.methods:
            continue
        url = sample_url(app, rule)
        mine = actors.request("member", "GET", url)
        theirs = actors.request("other_member", "GET", url)
        assert mine.status_code == theirs.status_code == 200, url
        mine_text, theirs_text = mine.get_data(as_text=True), theirs.get_data(as_text=True)
        if url in ("/compte", "/compte/carte", "/compte/donnees.json"):
            assert member.first_name in mine_text, url  # the page does show the member's own data
        for secret in secrets:
            # Whole words only: the other member's random pseudonym may hold the same digits.
            shown = re.search(rf"(?<![\w@.-]){re.escape(secret)}(?![\w@.-])", theirs_text)
            assert shown is None, f"{url} shows {secret!r} to another member"
