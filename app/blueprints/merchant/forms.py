"""Register forms. Field names are short on purpose: each sale posts them over flaky 4G."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.i18n import AmountError, parse_amount
from app.services import cards
from app.services.errors import InvalidMemberNumber, InvalidPin


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
    category = RadioField(_l("Category (optional)"), choices=[], validators=[Optional()], coerce=str)
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


class CancelForm(PinMixin, FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    pin = PasswordField(_l("PIN"), validators=[Length(max=40)])
