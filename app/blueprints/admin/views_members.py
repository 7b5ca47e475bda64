"""Members: search, applications to review, a member's file, status and card actions."""
from __future__ import annotations

import segno
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import ConfirmForm, MemberSearchForm, RejectForm
from app.extensions import db
from app.htmx import render
from app.models import Application, Member
from app.security import ADMIN, access
from app.services import applications, backoffice, membership
from app.services.errors import ApplicationNotPending, DomainError, EmailTaken, MemberErased


def _member(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _application(application_id: int) -> Application:
    return db.session.get(Application, application_id) or abort(404)


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@bp.get("/adherents")
@access(ADMIN)
def members():
    form = MemberSearchForm(request.args)
    valid = form.validate()
    results = backoffice.search_members(
        form.q.data or "" if valid else "", form.status.data or "" if valid else "", page=_page_arg()
    )
    return render(
        "admin/members/index.html", "admin/members/_results.html", status=200 if valid else 400,
        form=form, results=results, applications=backoffice.pending_applications(),
    )


@bp.get("/adherents/<int:member_id>")
@access(ADMIN)
def member(member_id: int):
    record = backoffice.member_file(_member(member_id), page=_page_arg())
    return render_template("admin/members/detail.html", file=record, member=record.member, form=ConfirmForm())


def _member_action(member_id: int, action, done: str):
    member = _member(member_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(member, current_user.id)
    except MemberErased as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.member", member_id=member.id))
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("admin.member", member_id=member.id))


@bp.post("/adherents/<int:member_id>/suspendre")
@access(ADMIN)
def member_suspend(member_id: int):
    return _member_action(member_id, backoffice.suspend_member, _("Membership suspended: the card no longer pays."))


@bp.post("/adherents/<int:member_id>/reactiver")
@access(ADMIN)
def member_reactivate(member_id: int):
    return _member_action(member_id, backoffice.reactivate_member, _("Membership active again."))


@bp.post("/adherents/<int:member_id>/debloquer")
@access(ADMIN)
def member_unlock(member_id: int):
    return _member_action(member_id, backoffice.unlock_card, _("Card unlocked: the member can pay with their PIN again."))


@bp.post("/adherents/<int:member_id>/carte/remplacer")
@access(ADMIN)
def member_replace_card(member_id: int):
    return _member_action(member_id, backoffice.replace_card,
                          _("New card made: the old one no longer pays. Print the new card."))


@bp.get("/adherents/<int:member_id>/carte")
@access(ADMIN)
def member_card(member_id: int):
    member = _member(member_id)
    if member.status == "erased" or not member.card_token:
        abort(404)
    qr = segno.make(member.card_token, error="m").svg_data_uri(scale=1, border=4)
    return render_template("admin/members/card.html", member=member, qr=qr)


@bp.post("/adherents/<int:member_id>/activation")
@access(ADMIN)
def member_activation(member_id: int):
    """E-mail the activation link again, or print a letter with a new code (earlier ones stop working)."""
    member = _member(member_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if member.status == "erased" or member.user is None or member.user.password_hash:
        flash(_("This member’s account is already activated."), "error")
        return redirect(url_for("admin.member", member_id=member.id))
    issued = backoffice.send_activation(member, current_user.id)
    db.session.commit()
    if issued is None:
        flash(_("The activation e-mail was sent again to %(email)s.", email=member.user.email), "success")
        return redirect(url_for("admin.member", member_id=member.id))
    return membership.render_activation_letter(member, issued)


@bp.get("/adherents/demandes/<int:application_id>")
@access(ADMIN)
def application(application_id: int):
    record = _application(application_id)
    return render_template(
        "admin/members/application.html", application=record, approve_form=ConfirmForm(),
        reject_form=RejectForm(), duplicates=_duplicates(record),
    )


def _duplicates(application: Application) -> list[applications.PossibleDuplicate]:
    """Only a pending application is decided on this page: warn about the same person only then."""
    return applications.possible_duplicates(application) if application.status == "pending" else []


@bp.post("/adherents/demandes/<int:application_id>/accepter")
@access(ADMIN)
def application_approve(application_id: int):
    application = _application(application_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approval = backoffice.approve_application(application, current_user.id)
    except ApplicationNotPending as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.application", application_id=application.id))
    except EmailTaken as exc:
        db.session.rollback()
        return render_template(
            "admin/members/application.html", application=application, approve_form=form,
            reject_form=RejectForm(formdata=None), error=exc.message, duplicates=_duplicates(application),
        ), 409
    db.session.commit()
    member = approval.member
    if approval.letter is not None:
        # No e-mail: the letter, with its one-time code, is shown now (and only now) to print.
        return membership.render_activation_letter(member, approval.letter)
    flash(_("Application approved: member number %(number)s. The activation e-mail is on its way.",
            number=member.number), "success")
    return redirect(url_for("admin.member", member_id=member.id))


@bp.post("/adherents/demandes/<int:application_id>/refuser")
@access(ADMIN)
def application_reject(application_id: int):
    application = _application(application_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            backoffice.reject_application(application, form.reason.data, current_user.id)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("admin.application", application_id=application.id))
        db.session.commit()
        flash(_("Application rejected."), "success")
        return redirect(url_for("admin.members"))
    return render_template(
        "admin/members/application.html", application=application, approve_form=ConfirmForm(), reject_form=form,
        duplicates=_duplicates(application),
    ), 400
