"""Sign-in, password reset and activation forms. Formats are checked here; the services check
again (password length, PIN format, member number check digit)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from app.core.forms import Email
from app.members import cards
from app.members.auth import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.members.errors import InvalidMemberNumber

_MEMBER_NUMBER_LIKE = re.compile(r"[\d\s.-]+")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _member_number(form, field):
    """A typo in the number is caught here, before any lookup."""
    try:
        field.data = cards.check_member_number(field.data)
    except InvalidMemberNumber as exc:
        raise ValidationError(str(exc.message)) from exc


class LoginForm(FlaskForm):
    # Keep the field names: tests and password managers post `login` and `password`.
    login = StringField(
        _l("E-mail or member number"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your e-mail or your member number.")),
            Length(max=254, message=_l("This is too long for an e-mail or a member number.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("This password is too long.")),
        ],
    )
    # Members only (the sign-in ignores it for admins and cashiers): 30 days on this device.
    remember = BooleanField(_l("Stay signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        _l("Your e-mail address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254, message=_l("This e-mail address is too long.")),
        ],
    )

    def validate_email(self, field):
        # Members without e-mail sign in with their number: no link can reach them, so say so
        # rather than "a message is on its way".
        if _MEMBER_NUMBER_LIKE.fullmatch(field.data):
            raise ValidationError(
                _l(
                    "A link can only be sent to an e-mail address. If you sign in with your member "
                    "number, ask the association for a new activation letter (see below)."
                )
            )
        Email(_l("Enter a valid e-mail address, for example name@example.fr."))(self, field)


def _new_password_fields():
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l(
                    "The password needs %(min)d to %(max)d characters.",
                    min=MIN_PASSWORD_LENGTH,
                    max=MAX_PASSWORD_LENGTH,
                ),
            ),
        ],
    )
    confirm = PasswordField(
        _l("The same password again"),
        validators=[
            DataRequired(_l("Type the password a second time.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
    return password, confirm


def _pin_fields():
    pin = PasswordField(
        _l("Card PIN (4 digits)"),
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
    return pin, pin_confirm


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ActivationForm(FlaskForm):
    password, confirm = _new_password_fields()
    pin, pin_confirm = _pin_fields()


class CodeActivationForm(FlaskForm):
    number = StringField(
        _l("Member number"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your member number (6 digits).")),
            Length(max=20),
            _member_number,
        ],
    )
    code = StringField(
        _l("Activation code"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the code printed on your letter.")),
            Length(max=20, message=_l("The code has 8 letters and digits.")),
        ],
    )
    password, confirm = _new_password_fields()
    pin, pin_confirm = _pin_fields()
