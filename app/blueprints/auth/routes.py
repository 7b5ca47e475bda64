"""Signing in and out, password reset, activation (by e-mailed link or by letter code)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import (
    ActivationForm,
    CodeActivationForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
)
from app.core.errors import RateLimited
from app.core.security import PUBLIC, ROLES, access
from app.core.session_cookie import EXPIRES_KEY
from app.core.web import Result, perform, safe_next, submit
from app.members import auth, sessions
from app.members.errors import (
    InvalidMemberNumber,
    InvalidPin,
    InvalidToken,
    WeakPassword,
)


def home_for(user) -> str:
    """Where each role lands after signing in (`user`: a User, or an `Opened` sign-in)."""
    from app.core.i18n import has_endpoint

    endpoint = {
        "member": "account.index",
        "cashier": "merchant.register",
        "admin": "admin.dashboard",
    }.get(user.role)
    return url_for(endpoint) if endpoint and has_endpoint(endpoint) else url_for("public.index")


def open_session(user, remember: bool = False) -> sessions.Opened:
    """The operation part of signing in: the sign-in's row on the server (`members.sessions`)."""
    return sessions.open_session(
        user, remember=remember, user_agent=request.headers.get("User-Agent", "")
    )


def start_session(opened: sessions.Opened) -> None:
    """Sign the user of `opened` (a committed sign-in) in with a brand-new cookie.

    The session is a signed cookie, so its "id" is its content: clearing it first means nothing
    set before sign-in (a value planted by someone else, an old CSRF token) survives; Flask-Login
    then writes "user id:version:token" (`User.get_id`), and the cookie changes entirely. Its
    Expires is the sign-in's end, or none (a browser session) for members and admins.
    """
    session.clear()
    # Flask-WTF caches the CSRF token of the request in `g`: it belonged to the cleared session.
    g.pop("csrf_token", None)
    login_user(opened.user, force=True)  # `authenticate` refused a disabled account
    session.permanent = opened.permanent
    if opened.permanent:
        session[EXPIRES_KEY] = int(opened.expires_at.timestamp())


def end_session() -> None:
    """Sign out of this device only: its sign-in is revoked on the server, the cookie emptied."""
    perform(lambda: sessions.end(getattr(current_user, "current_session", None)))
    logout_user()
    session.clear()


def _too_many_attempts(exc: RateLimited) -> str:
    minutes = max(1, -(-exc.retry_after // 60))
    return ngettext(
        "Too many attempts from this connection. Try again in %(num)d minute.",
        "Too many attempts from this connection. Try again in %(num)d minutes.",
        minutes,
    )


@bp.route("/connexion", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or home_for(current_user))
    form = LoginForm()
    # A failed attempt counts: its error keeps the count (committed by `submit`).
    result = submit(
        form,
        lambda: open_session(
            auth.authenticate(form.login.data, form.password.data, client=request.remote_addr),
            remember=form.remember.data,
        ),
        {InvalidMemberNumber: "login"},
    )
    if result.ok:
        start_session(result.value)
        return redirect(safe_next(request.args.get("next")) or home_for(result.value))
    return render_template("auth/login.html", form=form, error=_problem(result)), _status(result)


def _problem(result: Result) -> str | None:
    """The form-level message: the connection's limit says how long to wait."""
    if isinstance(result.error, RateLimited):
        return _too_many_attempts(result.error)
    return result.message


def _status(result: Result) -> int:
    """These pages answer 200 for a form sent back with errors on its fields."""
    return result.status if result.message else 200


@bp.post("/deconnexion")
@access(*ROLES)
def logout():
    end_session()
    flash(_("You are logged out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@access(PUBLIC)
def forgot_password():
    form = ForgotPasswordForm()
    if submit(form, lambda: auth.request_password_reset(form.email.data)).ok:
        # The same answer whether the address is known or not.
        return render_template("auth/forgot_password_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def reset_password(token: str):
    try:
        user = auth.user_for_reset_token(token)
    except InvalidToken as exc:
        return render_template("auth/link_invalid.html", message=exc.message, reset=True), 400
    form = ResetPasswordForm()
    if submit(form, lambda: auth.set_password(user, form.password.data), "password").ok:
        flash(_("Your password is changed. You can log in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/activation/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def activate(token: str):
    try:
        user = auth.user_for_activation_token(token)
    except InvalidToken as exc:
        return render_template("auth/link_invalid.html", message=exc.message, reset=False), 400
    form = ActivationForm()

    def activate_and_sign_in():
        auth.activate(user, form.password.data, form.pin.data)
        return open_session(user)

    result = submit(form, activate_and_sign_in, {WeakPassword: "password", InvalidPin: "pin"})
    if result.ok:
        start_session(result.value)
        flash(_("Your account is ready. Welcome!"), "success")
        return redirect(home_for(result.value))
    return render_template("auth/activate.html", form=form, with_code=False)


@bp.route("/activation", methods=["GET", "POST"])
@access(PUBLIC)
def activate_with_code():
    form = CodeActivationForm()
    # The attempt counts against the limits: its error keeps the count.
    result = submit(
        form,
        lambda: open_session(
            auth.activate_with_code(
                form.number.data,
                form.code.data,
                form.password.data,
                form.pin.data,
                client=request.remote_addr,
            )
        ),
        {InvalidMemberNumber: "number", WeakPassword: "password", InvalidPin: "pin"},
    )
    if result.ok:
        start_session(result.value)
        flash(_("Your account is ready. Welcome!"), "success")
        return redirect(home_for(result.value))
    return render_template(
        "auth/activate.html", form=form, with_code=True, error=_problem(result)
    ), _status(result)
