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
from app.core.htmx import render
from app.core.security import ADMIN, access
from app.core.settings import association
from app.core.web import Result, perform, safe_next, submit
from app.members import twofactor
from app.members.errors import AlreadyEnrolled, InvalidTotpCode, TotpCodeReused

CODE_FIELD = {InvalidTotpCode: "code", TotpCodeReused: "code"}


def _status(result: Result) -> int:
    """A form that did not validate answers 400 here, like a wrong code."""
    return 400 if not result.valid else result.status


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
    # A wrong code counts: its error keeps the count.
    result = submit(form, lambda: twofactor.verify(current_user, form.code.data), CODE_FIELD)
    if result.ok:
        return _done()
    return render(
        "admin/security/verify.html", form=form, error=result.message, status=_status(result)
    )


@bp.route("/securite/inscription", methods=["GET", "POST"])
@access(ADMIN, second_factor=False)
def second_factor_enrol():
    if twofactor.is_enrolled(current_user):
        return redirect(
            url_for("admin.second_factor_verify", next=safe_next(request.args.get("next")))
        )
    started = perform(lambda: twofactor.start_enrolment(current_user))
    if isinstance(started.error, AlreadyEnrolled):  # confirmed meanwhile in another tab
        return redirect(url_for("admin.second_factor_verify"))
    credential = started.value
    form = SecondFactorForm()
    result = submit(
        form, lambda: twofactor.confirm_enrolment(current_user, form.code.data), CODE_FIELD
    )
    if isinstance(result.error, AlreadyEnrolled):
        return redirect(url_for("admin.second_factor_verify"))
    if result.ok:
        flash(
            _("Your second factor is set up. You will type a code from your app at each sign-in."),
            "success",
        )
        return _done()
    uri = twofactor.provisioning_uri(credential, current_user, association()["name"])
    return render(
        "admin/security/enrol.html",
        form=form,
        error=result.message,
        qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped_secret(credential.secret),
    ), _status(result)
