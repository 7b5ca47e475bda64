"""`/caisse`: the register for a tablet at a market stall, the day's sales and the day report.

Each step is a plain form that also works without JavaScript; with htmx the register swaps
only its `#register` region. Refusals are 4xx fragments (422 for what the cashier or member
can correct, 403 for a closed register, 429 for too many lookups) that register.js swaps in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import abort, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from app.blueprints.merchant import (
    bp,
    statements,  # noqa: F401  (the monthly statements, /caisse/releves)
)
from app.blueprints.merchant.forms import (
    CancelForm,
    IdentifyForm,
    SaleForm,
    SaleInput,
    parse_sale,
)
from app.core.database import reads_first
from app.core.errors import RateLimited
from app.core.extensions import db
from app.core.htmx import is_htmx, render
from app.core.i18n import euros_plain, money
from app.core.security import CASHIER, access, light_user
from app.core.web import perform, submit
from app.ledger.errors import AlreadyReversed, IdempotencyConflict, InsufficientBalance
from app.members import sessions
from app.members.errors import (
    CardLocked,
    CardNotActivated,
    InvalidMemberNumber,
    InvalidPin,
    LostCard,
    MemberSuspended,
    UnknownMember,
    WrongPin,
)
from app.members.models import Member
from app.register import sales as register
from app.register.errors import (
    IdentificationExpired,
    RegisterClosed,
    SaleNotFound,
    SaleRecordedOtherwise,
    UnknownCategory,
)

PAGE = "merchant/register.html"


def _merchant():
    return register.merchant_of(current_user)


def _closed_reason() -> str | None:
    try:
        register.open_merchant(current_user)
    except RegisterClosed as exc:
        return str(exc.message)
    return None


def _screen(step: str, status: int = 200, **context):
    """The register page, or only its `#register` region for htmx.

    A fragment needs neither the merchant (header) nor the sale template: after the commit,
    loading them would start a second transaction for nothing.
    """
    if is_htmx():
        return render(PAGE, f"merchant/_{step}.html", status=status, step=step, **context)
    merchant = _merchant()
    blank_sale = _sale_form(data={}) if merchant else None
    return render(
        PAGE, PAGE, status=status, step=step, merchant=merchant, blank_sale=blank_sale, **context
    )


def _sale_form(**kwargs) -> SaleForm:
    """The sale form with the merchant's category chips; `data=` makes a fresh one."""
    merchant = _merchant()
    categories = register.categories_for(merchant) if merchant else []
    if "data" in kwargs:
        kwargs["formdata"] = None
    return SaleForm(max_cents=register.max_sale_cents(), categories=categories, **kwargs)


def _notice(message, status: int, **context):
    return _screen("notice", status=status, message=message, closed=status == 403, **context)


@bp.get("", endpoint="register")
@access(CASHIER)
def register_screen():
    closed = _closed_reason()
    if closed:
        return _notice(closed, 403)
    return _screen("identify", form=IdentifyForm(formdata=None))


@bp.post("/membre")
@access(CASHIER)
def identify():
    form = IdentifyForm()

    def identified() -> tuple[str, str, str]:
        # Read before the commit: afterwards the member would be loaded again.
        member = register.identify(current_user, number=form.number.data, card=form.card.data)
        return register.member_ref(current_user, member), register.new_key(), member.short_name

    # The look-up counts against the limit: its refusals keep the count.
    result = submit(
        form,
        identified,
        {InvalidMemberNumber: "number", UnknownMember: "number", LostCard: "number"},
    )
    if not result.valid or result.placed:
        return _screen("identify", status=result.status, form=_without_card(form))
    if isinstance(result.error, RateLimited):
        minutes = max(1, -(-result.error.retry_after // 60))
        return _notice(
            ngettext(
                "Too many member look-ups from this register. Try again in %(num)d minute.",
                "Too many member look-ups from this register. Try again in %(num)d minutes.",
                minutes,
            ),
            result.status,
        )
    if isinstance(result.error, RegisterClosed):
        return _notice(result.message, result.status)
    if result.error:  # MemberSuspended, CardLocked, CardNotActivated
        return _notice(result.message, result.status, card_refused=True)
    reference, key, name = result.value
    if is_htmx():
        # Only the name, the reference and the key: the page holds the sale form already.
        return render(
            PAGE, "merchant/_identified.html", member_ref=reference, key=key, member_name=name
        )
    return _screen(
        "sale", form=_sale_form(data={"member": reference, "key": key}), member_name=name
    )


@bp.post("/debit")
@access(CASHIER)
@light_user  # the user's id, role and shop only: no ORM load (members.sessions.SignedIn)
@reads_first
def debit():
    """The sale. Its values are checked without building the form (`parse_sale`), the register's
    busiest request; the form is built only to show what needs correcting.

    Not a `perform()`: the member's name is read before each commit (after it, a second
    transaction would start), and a short balance commits the right PIN's reset.
    """
    try:
        member_id = register.read_member_ref(current_user, request.form.get("member"))
    except IdentificationExpired as exc:
        return _notice(exc.message, 422)
    sale = parse_sale(request.form, max_cents=register.max_sale_cents())
    if sale is None:
        form = _sale_form()
        if not form.validate_on_submit():
            return _screen(
                "sale", status=422, form=_without_pin(form), member_name=_member_name(member_id)
            )
        sale = SaleInput.of(form)
    try:
        receipt = register.charge(
            current_user,
            member_id=member_id,
            amount_cents=sale.amount_cents,
            category_id=sale.category_id,
            key=sale.key,
            pin=sale.pin,
            approval=sale.approval,
        )
    except SaleRecordedOtherwise as exc:
        # Sent again with other values (edited while its answer was awaited): the sale its key
        # made is the one that counts; show its receipt and say what differed.
        return _screen(
            "receipt", receipt=exc.receipt, changed=_changes(exc.differences, sale.amount_cents)
        )
    except IdempotencyConflict as exc:  # a twin with other values raced it to the ledger
        return _notice(exc.message, 422)
    except RegisterClosed as exc:
        return _notice(exc.message, 403)
    except UnknownCategory:
        form = _sale_form()
        form.validate()  # the category field says which chips there are
        return _screen(
            "sale", status=422, form=_without_pin(form), member_name=_member_name(member_id)
        )
    except InsufficientBalance as exc:
        member_name = _member_name(member_id)  # read before the commit ends the write transaction
        db.session.commit()  # the right PIN reset the attempt counter
        form = _sale_form()
        return _screen(
            "sale",
            status=422,
            form=_without_pin(form),
            member_name=member_name,
            short=_offer(form, member_id, exc.available_cents),
        )
    except (WrongPin, InvalidPin) as exc:
        member_name = _member_name(member_id)
        db.session.commit()  # a wrong PIN counts even though no money moved
        form = _without_pin(_sale_form())
        form.pin.errors = [exc.message]
        return _screen("sale", status=422, form=form, member_name=member_name)
    except (CardLocked, MemberSuspended, CardNotActivated, UnknownMember) as exc:
        db.session.commit()
        return _notice(exc.message, 422, card_refused=True)
    db.session.commit()
    return _screen("receipt", receipt=receipt)


def _changes(differences: tuple[str, ...], sent_cents: int) -> list[str]:
    """What a sale sent again changed, in the cashier's words, under the recorded receipt."""
    words = {
        "amount": _("The amount sent again (%(sent)s) was not recorded.", sent=money(sent_cents)),
        "category": _("The category sent again was not recorded."),
        "member": _("The sale recorded is for the member shown here."),
    }
    return [
        _("This sale was already recorded: nothing was charged a second time."),
        *(words[name] for name in differences),
    ]


def _member_name(member_id: int) -> str:
    """The name shown above a sale form sent back to be corrected."""
    member = db.session.get(Member, member_id)
    return member.short_name if member else ""


def _without_card(form: IdentifyForm) -> IdentifyForm:
    """A scanned token is not kept: the next try is a typed number or a new scan."""
    form.card.data = ""
    return form


def _without_pin(form: SaleForm) -> SaleForm:
    """Re-rendered forms never send the PIN back to the browser."""
    form.pin.data = ""
    form.approval.data = ""
    return form


def _offer(form: SaleForm, member_id: int, available_cents: int) -> dict:
    """The one-tap offer to debit exactly what is left (a new key for the new amount)."""
    if available_cents <= 0:
        return {"available_cents": 0}
    key = register.new_key()
    offer = _sale_form(
        data={
            "member": form.member.data,
            "key": key,
            "category": form.category.data or "",
            "amount": euros_plain(available_cents),  # the sale form's way, whatever the language
            "approval": register.approval_for(current_user, member_id, available_cents, key),
        }
    )
    return {"available_cents": available_cents, "form": offer}


# --- the day's sales and cancellation ----------------------------------------------------------


@bp.get("/ventes")
@access(CASHIER)
def sales():
    merchant = _merchant()
    if merchant is None:
        return _notice(_closed_reason(), 403)
    report = register.day_report(merchant, register.today())
    return render("merchant/sales.html", merchant=merchant, report=report)


@bp.route("/ventes/<int:sale_id>/annuler", methods=["GET", "POST"])
@access(CASHIER)
def cancel(sale_id: int):
    merchant = _merchant()
    try:
        sale = register.find_sale(merchant, sale_id)
    except SaleNotFound:
        abort(404)
    line = _line(merchant, sale)
    form = (
        CancelForm()
        if request.method == "POST"
        else CancelForm(formdata=None, data={"key": register.new_key()})
    )
    status, error = 200, None
    if request.method == "POST":
        result = submit(
            form,
            lambda: register.cancel(current_user, sale.id, pin=form.pin.data, key=form.key.data),
            {WrongPin: "pin", InvalidPin: "pin"},
            # Cancelled meanwhile by another tablet after the right PIN: keep the PIN's reset.
            keep=(AlreadyReversed,),
        )
        if result.ok:
            return render(
                "merchant/cancelled.html", merchant=merchant, line=line, refund=result.value
            )
        status, error = result.status, result.message
        form.pin.data = ""
    elif line.cancelled:
        error, status = _("This sale has already been cancelled."), 409
    elif sale.occurred_on != register.today():
        error, status = (
            _(
                "Only today’s sales can be cancelled here. For an older sale, please contact the association’s treasurer."
            ),
            422,
        )
    return render(
        "merchant/cancel.html", status=status, merchant=merchant, line=line, form=form, error=error
    )


def _line(merchant, sale) -> register.SaleLine:
    report = register.day_report(merchant, sale.occurred_on)
    return next(line for line in report.lines if line.sale.id == sale.id)


# --- the day report --------------------------------------------------------------------------


@bp.get("/rapport")
@access(CASHIER)
def report():
    merchant = _merchant()
    if merchant is None:
        return _notice(_closed_reason(), 403)
    today = register.today()
    error, day = None, today
    asked = request.args.get("jour", "").strip()
    if asked:
        day = _parse_day(asked, today)
        if day is None:
            error, day = _("This date is not valid: use the format YYYY-MM-DD."), today
    report_ = register.day_report(merchant, day)
    return render(
        "merchant/report.html",
        status=400 if error else 200,
        merchant=merchant,
        report=report_,
        error=error,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        today=today,
        now=datetime.now(UTC),
    )


def _parse_day(text: str, today: date) -> date | None:
    """`YYYY-MM-DD` within a sensible range (a year 1 would overflow the previous-day link)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if 2000 <= day.year <= today.year + 1 else None


# --- lock ------------------------------------------------------------------------------------


@bp.post("/verrouiller")
@access(CASHIER)
def lock():
    """End the cashier's session on the server: the next person needs the password, and a copy
    of the cookie opens nothing. The stall's other tablets, signed in apart, keep working."""
    perform(lambda: sessions.end(current_user.current_session))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", next=url_for("merchant.register")))
