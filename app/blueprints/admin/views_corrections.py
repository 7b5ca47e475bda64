"""Corrections: give a sale back to the member with a reason (a correction transfer)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import CorrectionForm, SaleSearchForm
from app.core.extensions import db
from app.core.htmx import render
from app.core.security import ADMIN, access
from app.core.web import submit
from app.ledger.errors import InsufficientBalance
from app.ledger.models import Transfer
from app.members import cards, membership
from app.members.errors import InvalidMemberNumber, UnknownMember
from app.register import corrections as sale_corrections


def _search(form: SaleSearchForm):
    """Sales matching the search: one receipt reference, or a member's latest sales."""
    text = (form.q.data or "").strip()
    if not text:
        return [], None
    digits = "".join(text.split())
    if digits.isdigit():
        try:
            member = membership.find_by_number(cards.check_member_number(digits))
        except (InvalidMemberNumber, UnknownMember) as exc:
            return [], exc.message
        return sale_corrections.sale_lines(sale_corrections.sales_of_member(member)), None
    sale = sale_corrections.find_sale(text)
    if sale is None:
        return [], _("No sale has this receipt reference.")
    return sale_corrections.sale_lines([sale]), None


@bp.get("/corrections")
@access(ADMIN)
def corrections():
    form = SaleSearchForm(request.args)
    lines, problem = _search(form) if form.validate() else ([], None)
    return render(
        "admin/corrections/index.html",
        form=form,
        lines=lines,
        problem=problem,
        recent=sale_corrections.recent_corrections(),
        status=400 if form.errors else 200,
    )


def _sale(sale_id: int) -> Transfer:
    sale = db.session.get(Transfer, sale_id)
    if sale is None or sale.kind != "purchase":
        abort(404)
    return sale


@bp.route("/corrections/<int:sale_id>", methods=["GET", "POST"])
@access(ADMIN)
def correction(sale_id: int):
    sale = _sale(sale_id)
    line = sale_corrections.sale_lines([sale])[0]
    form = CorrectionForm()
    result = submit(
        form,
        lambda: sale_corrections.correct_sale(
            sale,
            form.reason.data,
            current_user.id,
            idempotency_key=f"admin-correction:{form.key.data}",
        ),
    )
    if result.ok:
        flash(
            _(
                "Sale %(sale)s corrected: %(amount)s given back to the member (correction %(reference)s).",
                sale=sale.reference,
                amount=_money(sale.amount_cents),
                reference=result.value.reference,
            ),
            "success",
        )
        return redirect(url_for("admin.corrections", q=sale.reference))
    error, status = result.message, (400 if not result.valid else result.status)
    if isinstance(result.error, InsufficientBalance):
        # The merchant's account was paid out: a conflict with the ledger, not a typo.
        error, status = _insufficient(), 409
    return render("admin/corrections/sale.html", line=line, form=form, error=error, status=status)


def _insufficient() -> str:
    return _(
        "The merchant’s account no longer holds this amount (it was paid out): the correction cannot be made from here. Deduct it from the merchant’s next settlement."
    )


def _money(cents: int) -> str:
    from app.core.i18n import money

    return money(cents)
