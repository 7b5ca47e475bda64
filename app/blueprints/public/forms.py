"""Public forms: the eligibility checker, staying informed, the application, the feedback widget.

Every field is checked on the server with a message in the reader's language; what was typed is
kept (cleaned of control characters) and shown back escaped.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.core.forms import Email
from app.core.i18n import AmountError, parse_amount
from app.members import communes as commune_service
from app.members.applications import (
    ADDRESS_MAX,
    EMAIL_MAX,
    NAME_MAX,
    clean_address,
    clean_line,
    contribution_problem,
    is_valid_name,
    normalize_phone,
)


def _line(value):
    return clean_line(value) if isinstance(value, str) else value


def _address(value):
    return clean_address(value) if isinstance(value, str) else value


class CheckerForm(FlaskForm):
    """The eligibility checker: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    commune = StringField(_l("Your commune"), filters=[_line])


class SubscribeForm(FlaskForm):
    email = StringField(
        _l("Your e-mail address"),
        filters=[_line],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("This e-mail address is too long.")),
            Email(_l("Enter a valid e-mail address, for example name@example.fr.")),
        ],
    )
    commune = HiddenField(filters=[_line], validators=[Optional(), Length(max=2000)])


class ApplicationForm(FlaskForm):
    first_name = StringField(
        _l("First name"), filters=[_line], validators=[DataRequired(_l("Enter your first name."))]
    )
    last_name = StringField(
        _l("Last name"), filters=[_line], validators=[DataRequired(_l("Enter your last name."))]
    )
    commune = StringField(
        _l("Commune where you live"),
        filters=[_line],
        validators=[DataRequired(_l("Enter your commune."))],
    )
    address = TextAreaField(
        _l("Postal address"),
        filters=[_address],
        validators=[
            DataRequired(_l("Enter your postal address.")),
            Length(min=5, message=_l("This address looks incomplete.")),
            Length(
                max=ADDRESS_MAX,
                message=_l(
                    "The address is too long (at most %(max)d characters).", max=ADDRESS_MAX
                ),
            ),
        ],
    )
    email = StringField(
        _l("E-mail address (optional)"),
        filters=[_line],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message=_l("This e-mail address is too long.")),
            Email(_l("Enter a valid e-mail address, for example name@example.fr.")),
        ],
    )
    phone = StringField(_l("Phone (optional)"), filters=[_line])
    contribution = StringField(_l("Monthly contribution, in euros"), filters=[_line])
    consent = BooleanField(
        _l(
            "I have read the privacy notice and I agree that the association keeps these details to process my application."
        )
    )

    commune_match: commune_service.Eligibility | None = None
    contribution_cents: int | None = None
    phone_normalized: str | None = None

    def _check_name(self, field):
        if len(field.data or "") > NAME_MAX:
            raise ValidationError(_l("At most %(max)d characters.", max=NAME_MAX))
        if field.data and not is_valid_name(field.data):
            raise ValidationError(_l("Use letters only, with spaces, hyphens or apostrophes."))

    validate_first_name = _check_name
    validate_last_name = _check_name

    def validate_commune(self, field):
        # gettext, not _l: these messages quote what was typed, and Flask-Babel's lazy strings
        # declare themselves safe HTML (`__html__`), so Jinja would not escape them.
        match = commune_service.check_eligibility(field.data)
        self.commune_match = match
        if match.eligible or not (field.data or "").strip():
            return  # DataRequired says that the field is empty
        if match.status == commune_service.EMPTY:  # a postcode, or only punctuation
            raise ValidationError(
                gettext("Type the name of your commune: the postcode alone is not enough.")
            )
        typed = (field.data or "")[:60]
        names = ", ".join(c.name for c in match.candidates[:8])
        if match.status == commune_service.CHOOSE and names:
            raise ValidationError(
                gettext(
                    "Several communes match “%(text)s”: %(names)s. Type the full name.",
                    text=typed,
                    names=names,
                )
            )
        if match.status == commune_service.OUTSIDE and names:
            raise ValidationError(
                gettext(
                    "“%(text)s” is not one of the experiment’s communes. Did you mean %(names)s?",
                    text=typed,
                    names=names,
                )
            )
        if match.status == commune_service.SHORT:
            raise ValidationError(gettext("Type the full name of your commune."))
        raise ValidationError(
            gettext(
                "“%(text)s” is not in the experiment’s area (yet): only residents of its communes may join.",
                text=typed,
            )
        )

    def validate_phone(self, field):
        if not field.data:
            self.phone_normalized = None
            return
        if len(field.data) > 30 or (normalized := normalize_phone(field.data)) is None:
            raise ValidationError(_l("Enter a French phone number, for example 06 12 34 56 78."))
        self.phone_normalized = normalized

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.email.data and not self.phone.data:
            # Beside the e-mail field, the first of the two; the phone field's hint says "or".
            self.email.errors = [
                *self.email.errors,
                _l("Give an e-mail address or a phone number, so that we can reach you."),
            ]
            return False
        return valid

    def validate_contribution(self, field):
        try:
            cents = parse_amount(field.data, allow_zero=True)
        except AmountError as error:
            raise ValidationError(error.message) from error
        problem = contribution_problem(cents)
        if problem is not None:
            raise ValidationError(problem)
        self.contribution_cents = cents

    def validate_consent(self, field):
        if not field.data:
            raise ValidationError(
                _l(
                    "Please tick this box to send your application: we need your agreement to keep your details."
                )
            )


class FeedbackForm(FlaskForm):
    page = HiddenField(validators=[DataRequired()])
    next = HiddenField()
