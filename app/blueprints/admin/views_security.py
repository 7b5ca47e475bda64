"""The admins' second factor: every back-office page needs it, verified in this session.

`require_second_factor` runs before every view of the blueprint (after the global guard, which
already refused anyone but an admin). The two pages below are the only ones an admin reaches
with the password alone.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import SecondFactorForm
from app.blueprints.auth.routes import safe_next
from app.extensions import db
from app.htmx import is_htmx
from app.security import ADMIN, access
from app.services import twofactor
from app.services.errors import AlreadyEnrolled, InvalidTotpCode, TotpBlocked, TotpCodeReused
from app.services.settings import association

EXEMPT = frozenset({"admin.second_factor_enrol", "admin.second_factor_verify"})


@bp.before_request
def require_second_factor():
    if request.endpoint in EXEMPT or not current_user.is_authenticated or current_user.role != ADMIN:
        return None
    if twofactor.session_is_verified(current_user, session.get(twofactor.SESSION_KEY)):
        return None
    endpoint = "admin.second_factor_verify" if twofactor.is_enrolled(current_user) else "admin.second_factor_enrol"
    target = url_for(endpoint, next=safe_next(request.full_path) if request.method == "GET" else None)
    if is_htmx():
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _done():
    session[twofactor.SESSION_KEY] = twofactor.session_marker(current_user)
    return redirect(safe_next(request.args.get("next")) or url_for("admin.dashboard"))


@bp.route("/securite/verification", methods=["GET", "POST"])
@access(ADMIN)
def second_factor_verify():
    if not twofactor.is_enrolled(current_user):
        return redirect(url_for("admin.second_factor_enrol", next=safe_next(request.args.get("next"))))
    if twofactor.session_is_verified(current_user, session.get(twofactor.SESSION_KEY)):
        return redirect(safe_next(request.args.get("next")) or url_for("admin.dashboard"))
    form = SecondFactorForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            twofactor.verify(current_user, form.code.data)
        except (InvalidTotpCode, TotpCodeReused) as exc:
            form.code.errors.append(exc.message)
            status = 400
        except TotpBlocked as exc:
            error, status = exc.message, 429
        else:
            db.session.commit()
            return _done()
        db.session.commit()  # a wrong code counts
    elif form.errors:
        status = 400
    return render_template("admin/security/verify.html", form=form, error=error), status


@bp.route("/securite/inscription", methods=["GET", "POST"])
@access(ADMIN)
def second_factor_enrol():
    if twofactor.is_enrolled(current_user):
        return redirect(url_for("admin.second_factor_verify", next=safe_next(request.args.get("next"))))
    try:
        credential = twofactor.start_enrolment(current_user)
    except AlreadyEnrolled:  # confirmed meanwhile in another tab
        return redirect(url_for("admin.second_factor_verify"))
    db.session.commit()
    form = SecondFactorForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            twofactor.confirm_enrolment(current_user, form.code.data)
        except (InvalidTotpCode, TotpCodeReused) as exc:
            form.code.errors.append(exc.message)
            status = 400
        except TotpBlocked as exc:
            error, status = exc.message, 429
        except AlreadyEnrolled:
            return redirect(url_for("admin.second_factor_verify"))
        else:
            db.session.commit()
            flash(_("Your second factor is set up. You will type a code from your app at each sign-in."), "success")
            return _done()
        db.session.commit()
    elif form.errors:
        status = 400
    uri = twofactor.provisioning_uri(credential, current_user, association()["name"])
    return render_template(
        "admin/security/enrol.html", form=form, error=error, qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped_secret(credential.secret),
    ), status
