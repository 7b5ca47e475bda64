"""Merchants `/admin/commercants`: list and search, create and edit (with the convention: date,
categories, IBAN), suspend and reactivate, invite cashier accounts."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    ConfirmForm,
    InviteCashierForm,
    MerchantForm,
    MerchantMarketForm,
    MerchantSearchForm,
    MerchantSuspendForm,
    choices,
)
from app.blueprints.admin.views_lists import weekday_names
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.htmx import render
from app.core.security import ADMIN, access
from app.core.web import perform, submit
from app.members.communes import offered_communes
from app.members.errors import EmailTaken
from app.members.models import User
from app.merchants import admin as merchants_admin
from app.merchants.admin import MerchantData
from app.merchants.models import Category, Market, Merchant
from app.payouts.bank_details import format_iban, iban_is_valid
from app.payouts.errors import InvalidIban

INVALID = 422


def _merchant_or_404(merchant_id: int) -> Merchant:
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


def _merchant_form(merchant: Merchant | None = None) -> MerchantForm:
    if request.method == "POST" or merchant is None:
        form = MerchantForm()
    else:
        form = MerchantForm(
            data={
                "name": merchant.name,
                "kind": merchant.kind,
                "commune": merchant.commune_id,
                "address": merchant.address,
                "description_fr": merchant.description_fr,
                "description_en": merchant.description_en,
                "conventioned_since": merchant.conventioned_since,
                "categories": [c.id for c in merchant.categories],
                "iban": format_iban(merchant.iban),
            },
        )
    # Retired communes are not offered, except the one the merchant already has.
    communes = offered_communes(keep=merchant.commune_id if merchant else None)
    form.commune.choices = choices([(c.id, c.name) for c in communes])
    form.categories.choices = choices(
        [
            (c.id, c.tr("name"))
            for c in db.session.scalars(select(Category).order_by(Category.position))
        ]
    )
    return form


def _data(form: MerchantForm) -> MerchantData:
    return MerchantData(
        name=form.name.data,
        kind=form.kind.data,
        commune_id=form.commune.data,
        address=form.address.data or "",
        description_fr=form.description_fr.data or "",
        description_en=form.description_en.data or "",
        conventioned_since=form.conventioned_since.data,
        category_ids=list(form.categories.data or []),
        iban=form.iban.data or "",
    )


def _refusal_onto(form: MerchantForm, exc: Exception) -> None:
    """A service's refusal shown next to the field it is about."""
    name = "iban" if isinstance(exc, InvalidIban) else exc.details.get("field", "name")
    target = getattr(form, name, form.name)
    target.errors = [*target.errors, exc.message]


@bp.get("/commercants")
@access(ADMIN)
def merchants():
    form = MerchantSearchForm(request.args)
    valid = form.validate()
    found = merchants_admin.search(
        form.q.data if valid else None, form.status.data if valid else None
    )
    return render(
        "admin/merchants/index.html",
        "admin/merchants/_results.html",
        status=200 if valid else 400,
        form=form,
        merchants=found,
        counts=merchants_admin.counts(),
        iban_is_valid=iban_is_valid,
    )


@bp.route("/commercants/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def merchant_new():
    form = _merchant_form()
    status = 200
    if form.validate_on_submit():
        try:
            merchant, created = merchants_admin.create_once(_data(form), current_user.id)
        except (InvalidContent, InvalidIban) as exc:
            db.session.rollback()
            _refusal_onto(form, exc)
            status = INVALID
        else:
            db.session.commit()
            if created:
                flash(_("The merchant %(name)s is created.", name=merchant.name), "success")
            else:
                flash(
                    _(
                        "The merchant %(name)s was already created a moment ago (the form was sent twice): "
                        "here it is, nothing was added.",
                        name=merchant.name,
                    ),
                    "info",
                )
            return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), 303)
    elif form.is_submitted():
        status = INVALID
    return render("admin/merchants/form.html", status=status, form=form, merchant=None)


@bp.get("/commercants/<int:merchant_id>")
@access(ADMIN)
def merchant_detail(merchant_id: int):
    merchant = _merchant_or_404(merchant_id)
    return _detail(merchant)


def _market_label(market: Market, days: list[str]) -> str:
    return f"{market.place}, {days[market.weekday]} {market.opens:%H:%M}–{market.closes:%H:%M}"


def _market_form(merchant: Merchant, formdata=None) -> MerchantMarketForm:
    """The markets the merchant does not stand at yet, those still held."""
    days = weekday_names()
    linked = {stall.market_id for stall in merchant.stalls}
    offered = [m for m in merchants_admin.markets() if m.active and m.id not in linked]
    form = MerchantMarketForm() if formdata else MerchantMarketForm(formdata=None)
    form.market.choices = choices([(m.id, _market_label(m, days)) for m in offered])
    return form


def _detail(
    merchant: Merchant,
    status: int = 200,
    invite: InviteCashierForm | None = None,
    suspend: MerchantSuspendForm | None = None,
    market_form: MerchantMarketForm | None = None,
):
    days = weekday_names()
    stalls = sorted(
        merchant.stalls, key=lambda s: (not s.market.active, s.weekday, s.opens, s.place)
    )
    return render(
        "admin/merchants/detail.html",
        status=status,
        merchant=merchant,
        stalls=[(stall.market, _market_label(stall.market, days)) for stall in stalls],
        market_form=market_form or _market_form(merchant),
        cashiers=merchants_admin.cashiers(merchant),
        invite=invite or InviteCashierForm(formdata=None),
        suspend=suspend or MerchantSuspendForm(formdata=None),
        action=ConfirmForm(),
        iban_ok=iban_is_valid(merchant.iban),
        format_iban=format_iban,
    )


@bp.post("/commercants/<int:merchant_id>/marches")
@access(ADMIN)
def merchant_market_link(merchant_id: int):
    """The merchant stands at one more market (the market's page makes the same link)."""
    merchant = _merchant_or_404(merchant_id)
    form = _market_form(merchant, formdata=True)
    result = submit(
        form,
        lambda: merchants_admin.link_merchant_market(merchant, form.market.data, current_user.id),
        "market",
    )
    if result.ok:
        flash(_("The market is added to this merchant."), "success")
        return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id) + "#markets", 303)
    return _detail(merchant, result.status, market_form=form)


@bp.post("/commercants/<int:merchant_id>/marches/<int:market_id>/retirer")
@access(ADMIN)
def merchant_market_unlink(merchant_id: int, market_id: int):
    merchant = _merchant_or_404(merchant_id)
    market = db.session.get(Market, market_id)
    if market is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: merchants_admin.unlink_merchant_market(merchant, market, current_user.id))
    flash(
        _(
            "%(merchant)s no longer stands at %(place)s.",
            merchant=merchant.name,
            place=market.place,
        ),
        "success",
    )
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id) + "#markets", 303)


@bp.route("/commercants/<int:merchant_id>/modifier", methods=["GET", "POST"])
@access(ADMIN)
def merchant_edit(merchant_id: int):
    merchant = _merchant_or_404(merchant_id)
    form = _merchant_form(merchant)
    status = 200
    if form.validate_on_submit():
        try:
            changed = merchants_admin.update(merchant, _data(form), current_user.id)
        except (InvalidContent, InvalidIban) as exc:
            db.session.rollback()
            _refusal_onto(form, exc)
            status = INVALID
        else:
            db.session.commit()
            flash(_("The changes are saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), 303)
    elif form.is_submitted():
        status = INVALID
    return render("admin/merchants/form.html", status=status, form=form, merchant=merchant)


@bp.post("/commercants/<int:merchant_id>/suspendre")
@access(ADMIN)
def merchant_suspend(merchant_id: int):
    merchant = _merchant_or_404(merchant_id)
    form = MerchantSuspendForm()
    if not form.validate_on_submit():
        return _detail(merchant, INVALID, suspend=form)
    if merchants_admin.suspend(merchant, current_user.id, form.reason.data or ""):
        db.session.commit()
        flash(
            _("%(name)s is suspended: its cash register refuses payments.", name=merchant.name),
            "success",
        )
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), 303)


@bp.post("/commercants/<int:merchant_id>/reactiver")
@access(ADMIN)
def merchant_reactivate(merchant_id: int):
    merchant = _merchant_or_404(merchant_id)
    if not ConfirmForm().validate_on_submit():
        return _detail(merchant, INVALID)
    if merchants_admin.reactivate(merchant, current_user.id):
        db.session.commit()
        flash(_("%(name)s is no longer suspended.", name=merchant.name), "success")
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id), 303)


@bp.post("/commercants/<int:merchant_id>/caissiers")
@access(ADMIN)
def merchant_invite(merchant_id: int):
    merchant = _merchant_or_404(merchant_id)
    form = InviteCashierForm()
    if form.validate_on_submit():
        try:
            user = merchants_admin.invite_cashier(
                merchant, form.email.data, form.name.data or "", form.language.data, current_user.id
            )
        except EmailTaken as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, exc.message]
        else:
            db.session.commit()
            flash(_("An invitation was sent to %(email)s.", email=user.email), "success")
            return redirect(
                url_for("admin.merchant_detail", merchant_id=merchant.id) + "#cashiers", 303
            )
    return _detail(merchant, INVALID, invite=form)


def _cashier_or_404(merchant: Merchant, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != "cashier" or user.merchant_id != merchant.id:
        abort(404)
    return user


@bp.post("/commercants/<int:merchant_id>/caissiers/<int:user_id>/renvoyer")
@access(ADMIN)
def merchant_cashier_resend(merchant_id: int, user_id: int):
    merchant = _merchant_or_404(merchant_id)
    user = _cashier_or_404(merchant, user_id)
    if not ConfirmForm().validate_on_submit():
        return _detail(merchant, INVALID)
    merchants_admin.resend_invitation(merchant, user, current_user.id)
    db.session.commit()
    flash(_("A new invitation was sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id) + "#cashiers", 303)


@bp.post("/commercants/<int:merchant_id>/caissiers/<int:user_id>/acces")
@access(ADMIN)
def merchant_cashier_access(merchant_id: int, user_id: int):
    merchant = _merchant_or_404(merchant_id)
    user = _cashier_or_404(merchant, user_id)
    if not ConfirmForm().validate_on_submit():
        return _detail(merchant, INVALID)
    enable = request.form.get("enable") == "1"
    merchants_admin.set_cashier_enabled(merchant, user, enable, current_user.id)
    db.session.commit()
    flash(
        _("Access reopened for %(email)s.", email=user.email)
        if enable
        else _("Access closed for %(email)s.", email=user.email),
        "success",
    )
    return redirect(url_for("admin.merchant_detail", merchant_id=merchant.id) + "#cashiers", 303)
