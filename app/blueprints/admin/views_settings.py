"""The association's settings `/admin/parametres`: identity, bank account, monthly allocation and
roll-over rule (with a preview of the next run before saving), where to pay, backups. Each section
is a form of its own posted to its own address; a refusal shows the whole page again with the
message next to the field and what was typed kept. The reference lists (communes, categories,
pickup points, markets) have pages of their own under the same address."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    AllocationSettingsForm,
    BackupSettingsForm,
    BankForm,
    IdentityForm,
    PayPlacesForm,
)
from app.core.htmx import hx_redirect, render
from app.core.security import ADMIN, access
from app.core.settings import association
from app.core.web import Result, perform, submit
from app.ledger import allocation
from app.payouts.bank_details import format_iban
from app.setup import settings_admin
from app.setup.errors import ConfirmationNeeded

SECTIONS = ("identity", "bank", "allocation", "payment", "backups")


def _forms() -> dict:
    """Every section's form filled with the current settings."""
    rules = association()
    period = allocation.next_period()
    rollover = rules.get("rollover") or {"rule": "cap", "cap_months": 2}
    places = list(rules.get("pay_places") or [])
    rows = [*places, {}][: settings_admin.PAY_PLACES_MAX]
    return {
        "identity": IdentityForm(
            formdata=None,
            data={
                key: rules.get(key) or ""
                for key in (
                    "name",
                    "contact_email",
                    "contact_phone",
                    "address",
                    *settings_admin.IDENTITY_TEXTS,
                )
            },
        ),
        "bank": BankForm(
            formdata=None,
            data={
                "bank_holder": rules.get("bank_holder") or "",
                "iban": format_iban(rules.get("iban") or ""),
                "bic": rules.get("bic") or "",
                "payment_reference_prefix": rules.get("payment_reference_prefix") or "",
            },
        ),
        "allocation": AllocationSettingsForm(
            formdata=None,
            data={
                "amount": _euros(allocation.allocation_cents(period, rules)),
                "start": period,
                "rule": rollover.get("rule", "cap"),
                "cap_months": rollover.get("cap_months", 2) if rollover.get("rule") == "cap" else 2,
            },
        ),
        "payment": PayPlacesForm(formdata=None, data={"places": rows}),
        "backups": BackupSettingsForm(
            formdata=None,
            data={
                "backup_dir": rules.get("backup_dir") or "",
                "keep_daily": rules.get("backup_keep_daily", 14),
                "keep_monthly": rules.get("backup_keep_monthly", 12),
            },
        ),
    }


def _euros(cents: int) -> str:
    """An amount as a person types it back (`100`, `87,50`)."""
    whole, rest = divmod(int(cents), 100)
    return str(whole) if not rest else f"{whole},{rest:02d}"


def _page(status: int = 200, plan=None, confirm: bool = False, message=None, **forms):
    """The settings page, with the forms given in place of the current settings' ones."""
    rules = association()
    period = allocation.next_period()
    return render(
        "admin/settings/index.html",
        status=status,
        forms={**_forms(), **forms},
        rules=rules,
        next_period=period,
        next_amount=allocation.allocation_cents(period, rules),
        schedule=sorted(rules.get("allocation_schedule") or [], key=lambda e: str(e.get("from"))),
        plan=plan,
        confirm=confirm,
        message=message,
        backup_default=_default_backup_dir(),
    )


def _default_backup_dir() -> str:
    from flask import current_app

    return f"{current_app.instance_path}/backups"


def _saved(result: Result, section: str):
    if result.value:
        flash(_("The settings are saved."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return hx_redirect(url_for("admin.settings") + f"#{section}")


@bp.get("/parametres")
@access(ADMIN)
def settings():
    return _page()


@bp.post("/parametres/identite")
@access(ADMIN)
def settings_identity():
    form = IdentityForm()
    result = submit(
        form,
        lambda: settings_admin.save_identity(
            form.name.data,
            form.contact_email.data,
            form.contact_phone.data or "",
            form.address.data,
            current_user.id,
            **{key: form[key].data or "" for key in settings_admin.IDENTITY_TEXTS},
        ),
    )
    if result.ok:
        return _saved(result, "identity")
    return _page(result.status, message=result.message, identity=form)


@bp.post("/parametres/banque")
@access(ADMIN)
def settings_bank():
    form = BankForm()
    result = submit(
        form,
        lambda: settings_admin.save_bank(
            form.bank_holder.data,
            form.iban.data,
            form.bic.data,
            current_user.id,
            form.payment_reference_prefix.data or "",
        ),
    )
    if result.ok:
        return _saved(result, "bank")
    return _page(result.status, message=result.message, bank=form)


@bp.post("/parametres/allocation")
@access(ADMIN)
def settings_allocation():
    """ "Preview" computes what the next run would do under the typed rules; "Save" saves them,
    once confirmed when they make balances expire that the current rules would keep."""
    form = AllocationSettingsForm()

    def proposed():
        rule = form.rule.data
        cap = form.cap_months.data if rule == "cap" else None
        return settings_admin.plan_allocation(form.amount.cents, form.start.data, rule, cap)

    if request.form.get("action") != "save":
        result = submit(form, proposed)
        plan = result.value
        return _page(
            result.status,
            plan=plan,
            confirm=bool(plan and plan.more_expiry),
            message=result.message,
            allocation=form,
        )
    result = submit(
        form,
        lambda: settings_admin.save_allocation(
            form.amount.cents,
            form.start.data,
            form.rule.data,
            form.cap_months.data if form.rule.data == "cap" else None,
            bool(form.confirm.data),
            current_user.id,
        ),
    )
    if result.ok:
        return _saved(result, "allocation")
    plan = None
    if isinstance(result.error, ConfirmationNeeded):
        plan = perform(proposed).value
    return _page(
        result.status, plan=plan, confirm=plan is not None, message=result.message, allocation=form
    )


@bp.post("/parametres/paiement")
@access(ADMIN)
def settings_payment():
    form = PayPlacesForm()
    result = submit(
        form,
        lambda: settings_admin.save_pay_places(
            [(row.place.data, row.times.data) for row in form.places], current_user.id
        ),
    )
    if result.ok:
        return _saved(result, "payment")
    return _page(result.status, message=result.message, payment=form)


@bp.post("/parametres/sauvegardes")
@access(ADMIN)
def settings_backups():
    form = BackupSettingsForm()
    result = submit(
        form,
        lambda: settings_admin.save_backups(
            form.backup_dir.data or "",
            form.keep_daily.data,
            form.keep_monthly.data,
            current_user.id,
        ),
    )
    if result.ok:
        return _saved(result, "backups")
    return _page(result.status, message=result.message, backups=form)
