"""Back-office forms (dashboard, members, contributions, allocations, corrections, journal, 2FA).

Formats are checked here, with a message next to the field; the services check the rules again.
Money forms carry `key`, a server-made idempotency key: a double click records once.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from app.core.i18n import AmountError, parse_amount
from app.members import cards
from app.members.applications import clean_line
from app.members.errors import InvalidMemberNumber

REASON_MAX = 500
# The browser's date picker sends ISO dates; a person typing may write the French way.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
BAD_DATE = _l("Enter a date like 2026-03-05 or 05/03/2026.")
OLDEST_PAYMENT_YEARS = 5
JOURNAL_FIRST_YEAR, JOURNAL_LAST_YEAR = 2000, 2099


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _line(value):
    """One line, control characters (NUL, escapes, bidi overrides) removed: PostgreSQL refuses NUL."""
    return clean_line(value) if isinstance(value, str) else value


def _member_number(form, field):
    try:
        field.data = cards.check_member_number(field.data)
    except InvalidMemberNumber as exc:
        raise ValidationError(str(exc.message)) from exc


class _KeyedForm(FlaskForm):
    """A form that moves money: the hidden key is made when the form is first shown."""

    key = HiddenField(
        validators=[
            DataRequired(_l("This form has expired: reload the page.")),
            Regexp(r"^[A-Za-z0-9_-]{8,60}$", message=_l("This form has expired: reload the page.")),
        ]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_submitted() and not self.key.data:
            self.key.data = new_key()


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Type the 6-digit code.")),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code has 6 digits.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something (approve, suspend, unlock...): CSRF only."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason given to the applicant"),
        filters=[_line],
        validators=[
            DataRequired(_l("Give the reason: the applicant receives it.")),
            Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX)),
        ],
    )


class MemberSuspendForm(FlaskForm):
    """Suspending stops the card at once: the reason, required, is the confirmation (and goes to
    the audit log, as for merchants)."""

    reason = StringField(
        _l("Reason of the suspension (kept in the audit log)"),
        filters=[_line],
        validators=[
            DataRequired(_l("Give the reason of the suspension.")),
            Length(max=300, message=_l("At most %(max)d characters.", max=300)),
        ],
    )


class ReplaceCardForm(FlaskForm):
    """A new card stops the old one at once: a box to tick confirms it. `card` identifies the
    card shown when the page was drawn, so that a form sent again does not replace the new one."""

    confirm = BooleanField(
        _l("The old card is lost or stolen: it stops paying at once."),
        validators=[
            DataRequired(_l("Tick the box to confirm: the old card stops paying at once."))
        ],
    )
    card = HiddenField()


class MemberSearchForm(FlaskForm):
    """GET filters of the members' list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name, number or commune"), filters=[_line], validators=[Optional(), Length(max=80)]
    )
    status = SelectField(
        _l("Status"),
        choices=choices(
            [
                ("", _l("All")),
                ("active", _l("Active")),
                ("suspended", _l("Suspended")),
                ("locked", _l("Card locked")),
                ("erased", _l("Erased")),
            ]
        ),
        validate_choice=True,
        default="",
    )


class AmountField(StringField):
    """Euros typed by a person, parsed to cents in `cents` (with the amount's own messages)."""

    cents: int | None = None

    def pre_validate(self, form):
        self.cents = None
        if not self.data:
            return
        try:
            self.cents = parse_amount(self.data)
        except AmountError as exc:
            raise ValidationError(str(exc.message)) from exc


METHOD_CHOICES = choices(
    [
        ("transfer", _l("Bank transfer")),
        ("cash", _l("Cash")),
        ("cheque", _l("Cheque")),
        ("direct_debit", _l("Direct debit")),
    ]
)


class ContributionForm(_KeyedForm):
    number = StringField(
        _l("Member number"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the member number (6 digits).")),
            Length(max=20),
            _member_number,
        ],
    )
    amount = AmountField(
        _l("Amount (€)"),
        filters=[_strip],
        validators=[DataRequired(_l("Enter an amount.")), Length(max=30)],
    )
    paid_on = DateField(
        _l("Date of the payment"),
        format=DATE_FORMATS,
        invalid_value_message=BAD_DATE,
        # InputRequired, not DataRequired: an unreadable date keeps its own message.
        validators=[InputRequired(_l("Enter the date of the payment, for example 2026-03-05."))],
    )
    method = SelectField(_l("Paid by"), choices=METHOD_CHOICES, default="transfer")
    reference = StringField(
        _l("Reference (cheque number, bank label)"),
        filters=[_line],
        validators=[
            Optional(),
            Length(max=200, message=_l("At most %(max)d characters.", max=200)),
        ],
    )

    def validate_paid_on(self, field):
        from app.ledger.transfers import today

        if field.data and field.data.year < today().year - OLDEST_PAYMENT_YEARS:
            raise ValidationError(_l("This date is too far in the past: check the year."))


class MonthForm(FlaskForm):
    """A month to look at (GET)."""

    class Meta:
        csrf = False

    month = StringField(
        _l("Month"),
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(
                r"^\d{4}-(0[1-9]|1[0-2])$",
                message=_l("Write the month as YYYY-MM, for example 2026-03."),
            ),
        ],
    )


class StatementUploadForm(FlaskForm):
    statement = FileField(
        _l("Bank statement (CSV file)"),
        validators=[FileRequired(_l("Choose the CSV file exported from the bank."))],
    )


class StatementConfirmForm(FlaskForm):
    """The previewed rows, signed; each row carries its own idempotency key."""

    batch = HiddenField(
        validators=[DataRequired(_l("This preview has expired: import the file again."))]
    )


class ContributionCancelForm(_KeyedForm):
    """Cancelling a contribution: the reason, required, is the confirmation (audit log, ledger memo)."""

    reason = TextAreaField(
        _l("Reason of the cancellation (kept in the audit log)"),
        filters=[_line],
        validators=[
            DataRequired(_l("Give the reason of the cancellation.")),
            Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX)),
        ],
    )


class AllocationRunForm(FlaskForm):
    period = HiddenField(validators=[DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$")])


class SaleSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        _l("Receipt reference or member number"),
        filters=[_line],
        validators=[Optional(), Length(max=20)],
    )


class CorrectionForm(_KeyedForm):
    reason = TextAreaField(
        _l("Reason (the member sees it in their history)"),
        filters=[_line],
        validators=[
            DataRequired(_l("Give the reason of the correction.")),
            Length(max=REASON_MAX, message=_l("At most %(max)d characters.", max=REASON_MAX)),
        ],
    )


class JournalFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validate_choice=True, default="")
    actor = SelectField(_l("By"), validate_choice=True, default="")
    since = DateField(
        _l("From"), format=DATE_FORMATS, invalid_value_message=BAD_DATE, validators=[Optional()]
    )
    until = DateField(
        _l("To"), format=DATE_FORMATS, invalid_value_message=BAD_DATE, validators=[Optional()]
    )

    def validate_since(self, field):
        _journal_year(field)

    def validate_until(self, field):
        _journal_year(field)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))


def _journal_year(field):
    """The journal starts with the software: a year out of 2000-2099 is a typo (and 9999-12-31
    or 0001-01-01 would overflow the search's bounds)."""
    if field.data and not JOURNAL_FIRST_YEAR <= field.data.year <= JOURNAL_LAST_YEAR:
        raise ValidationError(
            _l(
                "Enter a date between %(first)d and %(last)d.",
                first=JOURNAL_FIRST_YEAR,
                last=JOURNAL_LAST_YEAR,
            )
        )
