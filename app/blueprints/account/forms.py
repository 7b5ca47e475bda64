"""Forms of the member's space."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from app.core.i18n import AmountError, parse_amount
from app.members.auth import MAX_PASSWORD_LENGTH


def _password_field(label=None):
    return PasswordField(
        label or _l("Your password"),
        validators=[
            DataRequired(_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("This password is too long.")),
        ],
    )


class PledgeForm(FlaskForm):
    amount = StringField(
        _l("Monthly contribution (€)"),
        validators=[Length(max=40, message=_l("Enter an amount in euros, for example 12.50."))],
    )

    def validate_amount(self, field):
        try:
            self.amount_cents = parse_amount(field.data, allow_zero=True)
        except AmountError as exc:
            raise ValidationError(str(exc.message)) from exc


class PinForm(FlaskForm):
    password = _password_field()
    pin = PasswordField(
        _l("New PIN (4 digits)"),
        validators=[
            DataRequired(_l("Choose a PIN of 4 digits.")),
            Regexp(r"^[0-9]{4}$", message=_l("The PIN has 4 digits.")),
        ],
    )
    pin_confirm = PasswordField(
        _l("The same PIN again"),
        validators=[
            DataRequired(_l("Type the PIN a second time.")),
            EqualTo("pin", message=_l("The two PINs are not the same.")),
        ],
    )


class LostCardForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that my current card stops working at once."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class ErasureForm(FlaskForm):
    password = _password_field()
    confirm = BooleanField(
        _l("I understand that my account is closed and my personal data erased, for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class PasswordChangeForm(FlaskForm):
    current = _password_field(_l("Your current password"))
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a new password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("This password is too long.")),
        ],
    )
    confirm = PasswordField(
        _l("The new password again"),
        validators=[
            DataRequired(_l("Type the new password a second time.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


class SignOutEverywhereForm(FlaskForm):
    """No field: the CSRF token is what the button sends."""
