"""Register forms. Field names are short on purpose: each sale posts them over flaky 4G."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.core.i18n import AmountError, parse_amount
from app.members import cards
from app.members.errors import InvalidMemberNumber, InvalidPin


class IdentifyForm(FlaskForm):
    """Step 1: the member number typed on the keypad, or the card's QR token from the scanner."""

    number = StringField(_l("Member number"))
    card = HiddenField(validators=[Optional(), Length(max=300)])

    def validate_number(self, field):
        if self.card.data:
            return
        try:
            field.data = cards.check_member_number(field.data)
        except InvalidMemberNumber as exc:
            raise ValidationError(exc.message) from exc


class PinMixin:
    def validate_pin(self, field):
        try:
            cards.check_pin_format(field.data)
        except InvalidPin as exc:
            raise ValidationError(exc.message) from exc


class SaleForm(PinMixin, FlaskForm):
    """Step 2: amount (euros as typed, `12,50`), optional category, the member's PIN.

    `member` is the signed reference issued by step 1; `key` the server-made idempotency key.
    With a balance too low, the offer to debit what is left carries `approval` instead of a PIN.
    """

    member = HiddenField(validators=[DataRequired(), Length(max=300)])
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    approval = HiddenField(validators=[Optional(), Length(max=400)])
    amount = StringField(_l("Amount"), validators=[Length(max=40)])
    category = RadioField(
        _l("Category (optional)"), choices=[], validators=[Optional()], coerce=str
    )
    pin = PasswordField(_l("PIN"), validators=[Length(max=40)])

    def __init__(self, *args, max_cents: int, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.max_cents = max_cents
        self.category.choices = [("", _l("None"))] + [(str(c.id), c.tr("name")) for c in categories]
        self.amount_cents: int | None = None

    def validate_amount(self, field):
        try:
            self.amount_cents = parse_amount(field.data, max_cents=self.max_cents)
        except AmountError as exc:
            raise ValidationError(exc.message) from exc

    def validate_pin(self, field):
        if self.approval.data:
            return
        super().validate_pin(field)

    @property
    def category_id(self) -> int | None:
        return int(self.category.data) if self.category.data else None


@dataclass(frozen=True)
class SaleInput:
    """A sale form's values once checked."""

    amount_cents: int
    category_id: int | None
    key: str
    pin: str
    approval: str

    @classmethod
    def of(cls, form: SaleForm) -> SaleInput:
        return cls(
            form.amount_cents,
            form.category_id,
            form.key.data,
            form.pin.data or "",
            form.approval.data or "",
        )


def parse_sale(formdata, *, max_cents: int) -> SaleInput | None:
    """The sale form's values checked as `SaleForm` checks them, without building it: the
    register's hot path, at every sale. None when anything is off: `SaleForm` then says what,
    in the cashier's language. (The CSRF token is checked for every POST by CSRFProtect; the
    category chip against the shop's by `register.charge`.)"""
    key, approval, pin = (
        formdata.get("key", ""),
        formdata.get("approval", ""),
        formdata.get("pin", ""),
    )
    amount, category = formdata.get("amount", ""), formdata.get("category", "")
    if not (16 <= len(key) <= 64 and key.strip()) or len(approval) > 400 or len(amount) > 40:
        return None
    if category and not (category.isascii() and category.isdigit() and len(category) < 10):
        return None
    if not approval and not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        return None
    try:
        amount_cents = parse_amount(amount, max_cents=max_cents)
    except AmountError:
        return None
    return SaleInput(amount_cents, int(category) if category else None, key, pin, approval)


class CancelForm(PinMixin, FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    pin = PasswordField(_l("PIN"), validators=[Length(max=40)])
