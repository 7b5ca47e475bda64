"""Who may use which route, and the headers every response carries.

Every view declares its audience with `@access(...)`. A view without a declaration is refused
(secure by default), and `tests/web/test_access.py` walks `app.url_map` to fail on any such route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user

PUBLIC = "public"  # anyone, signed in or not
MEMBER = "member"
CASHIER = "cashier"
ADMIN = "admin"
ROLES = (MEMBER, CASHIER, ADMIN)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# On every response, the static files served by WhiteNoise (app/core/static.py) included.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}
# On the hashed static files (WhiteNoise): they are no pages, so framing, referrer and permissions
# do not apply, and a policy that allows nothing is the strictest should one (an SVG) be opened
# as a page. A page's scripts and styles obey the page's policy, not their own response's. Every
# byte counts on the register's slow 3G (bench/slow3g.py): 60 bytes instead of about 500.
STATIC_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def access(*audience: str, second_factor: bool = True) -> Callable:
    """Declare who may call a view: `PUBLIC`, or one or more of the roles.

    Views for admins only also need the admin's second factor, verified in this session, except
    the pages that verify it (`second_factor=False`).
    """
    unknown = set(audience) - {PUBLIC, *ROLES}
    if not audience or unknown:
        raise ValueError(f"bad audience: {audience!r}")

    def decorate(view: Callable) -> Callable:
        view.access = frozenset(audience)
        view.second_factor = second_factor and view.access == {ADMIN}
        return view

    return decorate


def light_user(view: Callable) -> Callable:
    """Mark a busy view that needs of the signed-in user only its plain columns: the user loader
    then reads them by hand instead of loading the ORM's user (`members.sessions.SignedIn`,
    with the same checks of the sign-in). Anything else it asks of the user loads the ORM's."""
    view.light_user = True
    return view


def wants_light_user() -> bool:
    """Whether this request's view is marked `@light_user`."""
    if not has_request_context() or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "light_user", False)


@dataclass(frozen=True)
class SecondFactor:
    """The admins' second factor as the guard sees it. It lives in the members domain, below
    which the core sits: the factory plugs it in with `use_second_factor`."""

    verified: Callable[[], bool]
    enrolled: Callable[[], bool]


def use_second_factor(app: Flask, checks: SecondFactor) -> None:
    app.extensions["patias.second_factor"] = checks


def _second_factor() -> SecondFactor:
    return current_app.extensions["patias.second_factor"]


def second_factor_verified() -> bool:
    """The signed-in admin typed a valid code from their authenticator app in this session."""
    return _second_factor().verified()


def is_acting_admin() -> bool:
    """An admin with the second factor verified: only then do admin powers apply, on any page."""
    return current_user.is_authenticated and current_user.role == ADMIN and second_factor_verified()


def _second_factor_redirect():
    enrolled = _second_factor().enrolled()
    endpoint = "admin.second_factor_verify" if enrolled else "admin.second_factor_enrol"
    target = url_for(endpoint, next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def view_access(app: Flask, endpoint: str | None) -> frozenset[str] | None:
    if endpoint is None:
        return frozenset({PUBLIC})  # 404 and 405: let the router answer
    if endpoint == "static":
        return frozenset({PUBLIC})
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_access():
    """`before_request`: refuse what the view's declaration does not allow."""
    audience = view_access(current_app, request.endpoint)
    if audience is None:
        current_app.logger.error("route %s declares no access", request.endpoint)
        abort(403)
    if PUBLIC in audience:
        return None
    if not current_user.is_authenticated:
        login = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request"):
            response = current_app.response_class(status=401)
            response.headers["HX-Redirect"] = login
            return response
        return redirect(login)
    if current_user.role not in audience:
        abort(403)
    view = current_app.view_functions[request.endpoint]
    if getattr(view, "second_factor", False) and not second_factor_verified():
        return _second_factor_redirect()
    return None


_SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())


def set_security_headers(response):
    headers = response.headers
    # What `headers.setdefault` would do, with one look at the names present instead of a scan
    # (and a KeyError raised) per header: 30 µs of every request otherwise.
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 - Headers, not a dict
    for lowered, name, value in _SECURITY_HEADERS:
        if lowered not in present:
            headers.add(name, value)
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", current_app.config["HSTS"])
    # Signed-in pages are private; static files are not, and the cashier's tablet on 4G must
    # keep them cached. Decided from the session's user id (Flask-Login's key), not by loading
    # the user: /healthz and the static files touch no database, signed in or not.
    if request.endpoint != "static" and "_user_id" in session:
        headers["Cache-Control"] = "no-store"
    return response
