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
from app.core.extensions import db
from app.core.security import PUBLIC, ROLES, access
from app.core.web import safe_next
from app.members import auth
from app.members.errors import (
    InvalidActivationCode,
    InvalidMemberNumber,
    InvalidPin,
    InvalidToken,
    LoginBlocked,
    LoginFailed,
    WeakPassword,
)


def home_for(user) -> str:
    """Where each role lands after signing in."""
    from app.core.i18n import has_endpoint

    endpoint = {
        "member": "account.index",
        "cashier": "merchant.register",
        "admin": "admin.dashboard",
    }.get(user.role)
    return url_for(endpoint) if endpoint and has_endpoint(endpoint) else url_for("public.index")


def start_session(user) -> None:
    """Sign `user` in with a brand-new session.

    The session is a signed cookie, so its "id" is its content: clearing it first means nothing
    set before sign-in (a value planted by someone else, an old CSRF token) survives; Flask-Login
    then writes a fresh user id and session identifier, and the cookie changes entirely.
    """
    session.clear()
    # Flask-WTF caches the CSRF token of the request in `g`: it belonged to the cleared session.
    g.pop("csrf_token", None)
    login_user(user)
    session.permanent = True


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
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = auth.authenticate(
                form.login.data, form.password.data, client=request.remote_addr
            )
        except InvalidMemberNumber as exc:
            form.login.errors.append(exc.message)
        except (LoginFailed, LoginBlocked) as exc:
            error, status = exc.message, 429 if isinstance(exc, LoginBlocked) else 401
        except RateLimited as exc:
            error, status = _too_many_attempts(exc), 429
        else:
            db.session.commit()
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        # A failed attempt counts: keep it.
        db.session.commit()
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/deconnexion")
@access(*ROLES)
def logout():
    logout_user()
    session.clear()
    flash(_("You are logged out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@access(PUBLIC)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        auth.request_password_reset(form.email.data)
        db.session.commit()
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
    if form.validate_on_submit():
        try:
            auth.set_password(user, form.password.data)
        except WeakPassword as exc:
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
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
    if form.validate_on_submit():
        try:
            auth.activate(user, form.password.data, form.pin.data)
        except WeakPassword as exc:
            form.password.errors.append(exc.message)
        except InvalidPin as exc:
            form.pin.errors.append(exc.message)
        else:
            db.session.commit()
            start_session(user)
            flash(_("Your account is ready. Welcome!"), "success")
            return redirect(home_for(user))
    return render_template("auth/activate.html", form=form, with_code=False)


@bp.route("/activation", methods=["GET", "POST"])
@access(PUBLIC)
def activate_with_code():
    form = CodeActivationForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = auth.activate_with_code(
                form.number.data,
                form.code.data,
                form.password.data,
                form.pin.data,
                client=request.remote_addr,
            )
        except InvalidMemberNumber as exc:
            form.number.errors.append(exc.message)
        except WeakPassword as exc:
            form.password.errors.append(exc.message)
        except InvalidPin as exc:
            form.pin.errors.append(exc.message)
        except InvalidActivationCode as exc:
            error, status = exc.message, 400
        except RateLimited as exc:
            error, status = _too_many_attempts(exc), 429
        else:
            db.session.commit()
            start_session(user)
            flash(_("Your account is ready. Welcome!"), "success")
            return redirect(home_for(user))
        db.session.commit()  # the attempt counts against the limits
    return render_template("auth/activate.html", form=form, with_code=True, error=error), status
