"""Members: search, applications to review, a member's file, status and card actions."""

from __future__ import annotations

import hashlib

import segno
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    ConfirmForm,
    MemberSearchForm,
    MemberSuspendForm,
    RejectForm,
    ReplaceCardForm,
)
from app.core.extensions import db
from app.core.htmx import render
from app.core.pagination import requested_page
from app.core.security import ADMIN, access
from app.core.web import perform, submit
from app.members import admin as member_admin
from app.members import applications, membership
from app.members.errors import ApplicationNotPending
from app.members.models import Application, Member


def _member(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _application(application_id: int) -> Application:
    return db.session.get(Application, application_id) or abort(404)


@bp.get("/adherents")
@access(ADMIN)
def members():
    form = MemberSearchForm(request.args)
    valid = form.validate()
    results = member_admin.search_members(
        form.q.data or "" if valid else "",
        form.status.data or "" if valid else "",
        page=requested_page(),
    )
    return render(
        "admin/members/index.html",
        "admin/members/_results.html",
        status=200 if valid else 400,
        form=form,
        results=results,
        applications=member_admin.pending_applications(),
    )


@bp.get("/adherents/<int:member_id>")
@access(ADMIN)
def member(member_id: int):
    return _member_page(_member(member_id))


def _member_page(
    member: Member,
    status: int = 200,
    suspend: MemberSuspendForm | None = None,
    replace: ReplaceCardForm | None = None,
):
    replace = replace or ReplaceCardForm(formdata=None)
    replace.card.data = card_fingerprint(member)
    record = member_admin.member_file(member, page=requested_page())
    return render(
        "admin/members/detail.html",
        file=record,
        member=record.member,
        form=ConfirmForm(),
        suspend=suspend or MemberSuspendForm(formdata=None),
        replace=replace,
        status=status,
    )


def card_fingerprint(member: Member) -> str:
    """Which card the page showed, without putting the card's secret token in the page."""
    return hashlib.sha256((member.card_token or "").encode()).hexdigest()[:16]


def _member_action(member_id: int, action, done: str, already: str):
    member = _member(member_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return _run(member, lambda: action(member, current_user.id), done, already)


def _run(member: Member, action, done: str, already: str):
    """Do `action`; say what happened: `done`, or `already` when it found nothing to change
    (an outdated page, a form sent twice)."""
    result = perform(action)
    if result.error:  # MemberErased
        flash(result.message, "error")
        return redirect(url_for("admin.member", member_id=member.id))
    changed = result.value
    flash(done if changed else already, "success" if changed else "info")
    return redirect(url_for("admin.member", member_id=member.id))


@bp.post("/adherents/<int:member_id>/suspendre")
@access(ADMIN)
def member_suspend(member_id: int):
    member = _member(member_id)
    form = MemberSuspendForm()
    if not form.validate_on_submit():
        return _member_page(member, 422, suspend=form)
    return _run(
        member,
        lambda: member_admin.suspend_member(member, current_user.id, form.reason.data),
        _("Membership suspended: the card no longer pays."),
        _("This membership was already suspended: nothing was changed."),
    )


@bp.post("/adherents/<int:member_id>/reactiver")
@access(ADMIN)
def member_reactivate(member_id: int):
    return _member_action(
        member_id,
        member_admin.reactivate_member,
        _("Membership active again."),
        _("This membership was already active: nothing was changed."),
    )


@bp.post("/adherents/<int:member_id>/debloquer")
@access(ADMIN)
def member_unlock(member_id: int):
    return _member_action(
        member_id,
        member_admin.unlock_card,
        _("Card unlocked: the member can pay with their PIN again."),
        _("The card was not locked: nothing was changed."),
    )


@bp.post("/adherents/<int:member_id>/carte/remplacer")
@access(ADMIN)
def member_replace_card(member_id: int):
    member = _member(member_id)
    form = ReplaceCardForm()
    if not form.validate_on_submit():
        return _member_page(member, 422, replace=form)
    # The page showed another card: it was replaced since (a form sent twice). The new card stays.
    fresh = form.card.data == card_fingerprint(member)
    return _run(
        member,
        lambda: fresh and member_admin.replace_card(member, current_user.id),
        _("New card made: the old one no longer pays. Print the new card."),
        _(
            "The card was already replaced since this page was shown: nothing was changed. "
            "Print the current card."
        ),
    )


@bp.get("/adherents/<int:member_id>/carte")
@access(ADMIN)
def member_card(member_id: int):
    member = _member(member_id)
    if member.status == "erased" or not member.card_token:
        abort(404)
    qr = segno.make(member.card_token, error="m").svg_data_uri(scale=1, border=4)
    return render("admin/members/card.html", member=member, qr=qr)


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
    result = perform(lambda: member_admin.send_activation(member, current_user.id))
    if result.error:
        flash(result.message, "error")
        return redirect(url_for("admin.member", member_id=member.id))
    issued = result.value
    if issued is None:
        flash(
            _("The activation e-mail was sent again to %(email)s.", email=member.user.email),
            "success",
        )
        return redirect(url_for("admin.member", member_id=member.id))
    return membership.render_activation_letter(member, issued)


@bp.get("/adherents/demandes/<int:application_id>")
@access(ADMIN)
def application(application_id: int):
    record = _application(application_id)
    return render(
        "admin/members/application.html",
        application=record,
        approve_form=ConfirmForm(),
        reject_form=RejectForm(),
        duplicates=_duplicates(record),
    )


def _duplicates(application: Application) -> list[applications.PossibleDuplicate]:
    """Only a pending application is decided on this page: warn about the same person only then."""
    return applications.possible_duplicates(application) if application.status == "pending" else []


@bp.post("/adherents/demandes/<int:application_id>/accepter")
@access(ADMIN)
def application_approve(application_id: int):
    application = _application(application_id)
    form = ConfirmForm()
    result = submit(form, lambda: member_admin.approve_application(application, current_user.id))
    if not result.valid:
        abort(400)
    if isinstance(result.error, ApplicationNotPending):
        flash(result.message, "error")
        return redirect(url_for("admin.application", application_id=application.id))
    if result.error:  # EmailTaken
        return render(
            "admin/members/application.html",
            application=application,
            approve_form=form,
            reject_form=RejectForm(formdata=None),
            error=result.message,
            duplicates=_duplicates(application),
            status=result.status,
        )
    approval = result.value
    member = approval.member
    if approval.letter is not None:
        # No e-mail: the letter, with its one-time code, is shown now (and only now) to print.
        return membership.render_activation_letter(member, approval.letter)
    flash(
        _(
            "Application approved: member number %(number)s. The activation e-mail is on its way.",
            number=member.number,
        ),
        "success",
    )
    return redirect(url_for("admin.member", member_id=member.id))


@bp.post("/adherents/demandes/<int:application_id>/refuser")
@access(ADMIN)
def application_reject(application_id: int):
    application = _application(application_id)
    form = RejectForm()
    result = submit(
        form,
        lambda: member_admin.reject_application(application, form.reason.data, current_user.id),
    )
    if result.error:
        flash(result.message, "error")
        return redirect(url_for("admin.application", application_id=application.id))
    if result.ok:
        flash(_("Application rejected."), "success")
        return redirect(url_for("admin.members"))
    return render(
        "admin/members/application.html",
        application=application,
        approve_form=ConfirmForm(),
        reject_form=form,
        duplicates=_duplicates(application),
        status=400,
    )
