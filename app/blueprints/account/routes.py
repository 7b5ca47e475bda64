"""The member's pages. Each works on `current_user`'s member: there is no id to change in a URL."""

from __future__ import annotations

import json

import segno
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.blueprints.account import bp
from app.blueprints.account.forms import (
    ErasureForm,
    LostCardForm,
    PasswordChangeForm,
    PinForm,
    PledgeForm,
    SignOutEverywhereForm,
)
from app.core.extensions import db
from app.core.htmx import render
from app.core.i18n import amount_input, money
from app.core.pagination import requested_page
from app.core.security import MEMBER, access
from app.core.spreadsheet import download
from app.core.web import submit
from app.members import auth, cards, membership, payment, sessions
from app.members.errors import InvalidPin, LoginBlocked, MemberErased, WeakPassword, WrongPassword
from app.members.models import Member

HISTORY_PER_PAGE = 50


def _member() -> Member:
    """The signed-in user's member record: the only one these pages ever show."""
    member = db.session.scalar(db.select(Member).where(Member.user_id == current_user.id))
    if member is None or member.status == "erased":
        abort(404)
    return member


@bp.get("")
@access(MEMBER)
def index():
    member = _member()
    return render_template(
        "account/index.html",
        member=member,
        pay=payment.how_to_pay(member.number, member.pledge_cents),
        **membership.summary(member),
    )


@bp.get("/historique")
@access(MEMBER)
def history():
    member = _member()
    history = membership.movements(member, page=requested_page(), per_page=HISTORY_PER_PAGE)
    return render(
        "account/history.html",
        "account/_movements.html",
        member=member,
        history=history,
        balance_cents=membership.current_balance(member),
    )


@bp.get("/historique.csv")
@access(MEMBER)
def history_csv():
    member = _member()
    return download(membership.movements_csv(member), f"patias-historique-{member.number}.csv")


@bp.route("/cotisation", methods=["GET", "POST"])
@access(MEMBER)
def pledge():
    member = _member()
    form = PledgeForm()
    if request.method == "GET":
        form.amount.data = amount_input(member.pledge_cents)
    if submit(form, lambda: membership.change_pledge(member, form.amount_cents), "amount").ok:
        flash(
            _("Your monthly contribution is now %(amount)s.", amount=money(member.pledge_cents)),
            "success",
        )
        return redirect(url_for("account.pledge"))
    return render_template(
        "account/pledge.html",
        member=member,
        form=form,
        contributions=membership.contributions(member),
        pay=payment.how_to_pay(member.number, member.pledge_cents),
    )


@bp.get("/carte")
@access(MEMBER)
def card():
    member = _member()
    qr = (
        segno.make(member.card_token, error="m").svg_data_uri(scale=1, border=4)
        if member.card_token
        else None
    )
    return render_template(
        "account/card.html", member=member, qr=qr, locked=cards.is_locked(member)
    )


@bp.route("/carte/perdue", methods=["GET", "POST"])
@access(MEMBER)
def lost_card():
    member = _member()
    form = LostCardForm()
    result = submit(form, lambda: membership.report_lost_card(member))
    if isinstance(result.error, MemberErased):
        abort(404)
    if result.ok:
        flash(
            _(
                "Your old card no longer works. Here is your new card: print it, or show this page at the stall."
            ),
            "success",
        )
        return redirect(url_for("account.card"))
    return render_template("account/lost_card.html", member=member, form=form)


@bp.route("/pin", methods=["GET", "POST"])
@access(MEMBER)
def pin():
    member = _member()
    form = PinForm()
    # A wrong password counts against the account's limit: its error keeps the count.
    result = submit(
        form,
        lambda: membership.change_pin(member, form.password.data, form.pin.data),
        {WrongPassword: "password", InvalidPin: "pin"},
    )
    if result.ok:
        flash(_("Your new PIN is saved. Your card works again if it was locked."), "success")
        return redirect(url_for("account.index"))
    return render_template(
        "account/pin.html",
        member=member,
        form=form,
        error=result.message,
        locked=cards.is_locked(member),
    )


def _devices_page(status: int = 200, **forms):
    return render_template(
        "account/devices.html",
        member=_member(),
        signed_in=sessions.active(current_user),
        current=current_user.current_session,
        form=forms.get("form") or SignOutEverywhereForm(formdata=None),
        password_form=forms.get("password_form") or PasswordChangeForm(formdata=None),
    ), status


@bp.get("/appareils")
@access(MEMBER)
def devices():
    return _devices_page()


@bp.post("/appareils/mot-de-passe")
@access(MEMBER)
def change_password():
    """A new password, the current one asked again: the member's other devices are signed out,
    this one stays signed in."""
    form = PasswordChangeForm()
    result = submit(
        form,
        lambda: auth.change_password(
            current_user,
            form.current.data,
            form.password.data,
            keep=current_user.current_session,
        ),
        {WrongPassword: "current", LoginBlocked: "current", WeakPassword: "password"},
    )
    if result.ok:
        flash(_("Your password is changed. Your other devices are signed out."), "success")
        return redirect(url_for("account.devices"), 303)
    return _devices_page(result.status, password_form=form)


@bp.post("/appareils/deconnexion")
@access(MEMBER)
def sign_out_everywhere():
    """End every sign-in of the member, this one too: a copy of any of their cookies, on a
    forgotten computer or a lost phone, opens nothing any more."""
    _member()
    form = SignOutEverywhereForm()
    if not submit(form, lambda: sessions.end_all(current_user)).ok:
        return _devices_page(422, form=form)
    logout_user()
    session.clear()
    flash(_("You are signed out of every device. Log in again to continue."), "success")
    return redirect(url_for("auth.login"))


@bp.get("/donnees")
@access(MEMBER)
def data():
    member = _member()
    return render_template("account/data.html", member=member, form=ErasureForm())


@bp.get("/donnees.json")
@access(MEMBER)
def data_json():
    member = _member()
    body = json.dumps(membership.export_data(member), ensure_ascii=False, indent=2)
    return download(body, f"patias-donnees-{member.number}.json", "application/json")


@bp.get("/donnees.csv")
@access(MEMBER)
def data_csv():
    member = _member()
    return download(membership.export_csv(member), f"patias-donnees-{member.number}.csv")


@bp.post("/donnees/effacement")
@access(MEMBER)
def erase():
    member = _member()
    form = ErasureForm()
    # A wrong password counts against the account's limit: its error keeps the count.
    result = submit(
        form,
        lambda: membership.erase_own_account(member, form.password.data),
        {WrongPassword: "password"},
    )
    if result.ok:
        logout_user()
        session.clear()
        flash(
            _("Your account is closed and your personal data erased. Thank you for taking part."),
            "success",
        )
        return redirect(url_for("public.index"))
    return render_template("account/data.html", member=member, form=form, error=result.message)
