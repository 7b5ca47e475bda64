"""The admins' second factor: every admin-only page needs it, verified in this session.

The global guard (`app.core.security.enforce_access`) sends an admin without it here. The two pages
below are the only admin-only ones reached with the password alone.
"""

from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import SecondFactorForm
from app.core.extensions import db
from app.core.htmx import render
from app.core.security import ADMIN, access
from app.core.settings import association
from app.core.web import safe_next
from app.members import twofactor
from app.members.errors import AlreadyEnrolled, InvalidTotpCode, TotpBlocked, TotpCodeReused


def _done():
    session[twofactor.SESSION_KEY] = twofactor.session_marker(current_user)
    return redirect(safe_next(request.args.get("next")) or url_for("admin.dashboard"))


@bp.route("/securite/verification", methods=["GET", "POST"])
@access(ADMIN, second_factor=False)
def second_factor_verify():
    if not twofactor.is_enrolled(current_user):
        return redirect(
            url_for("admin.second_factor_enrol", next=safe_next(request.args.get("next")))
        )
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
    return render("admin/security/verify.html", form=form, error=error, status=status)


@bp.route("/securite/inscription", methods=["GET", "POST"])
@access(ADMIN, second_factor=False)
def second_factor_enrol():
    if twofactor.is_enrolled(current_user):
        return redirect(
            url_for("admin.second_factor_verify", next=safe_next(request.args.get("next")))
        )
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
            flash(
                _(
                    "Your second factor is set up. You will type a code from your app at each sign-in."
                ),
                "success",
            )
            return _done()
        db.session.commit()
    elif form.errors:
        status = 400
    uri = twofactor.provisioning_uri(credential, current_user, association()["name"])
    return render(
        "admin/security/enrol.html",
        form=form,
        error=error,
        qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped_secret(credential.secret),
        status=status,
    )
