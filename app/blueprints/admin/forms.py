"""Back-office forms: dashboard, members, contributions, allocations, corrections, audit log,
second factor, merchants, settlements and content (FAQ, pages, events, subscribers).

Formats are checked here, with a message next to the field; the services check the rules again
(both languages, dates in order, a valid IBAN) and their refusals come back onto the form.
Money forms carry `key`, a server-made idempotency key: a double click records once.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.content.admin import ANSWER_MAX, BODY_MAX, QUESTION_MAX, SEARCH_MAX, TITLE_MAX
from app.core.forms import Email
from app.core.i18n import AmountError, parse_amount
from app.events.admin import FIRST_YEAR as EVENT_FIRST_YEAR
from app.events.admin import YEARS_AHEAD
from app.events.admin import latest_day as latest_event_day
from app.events.models import EVENT_KINDS
from app.members import cards
from app.members.applications import clean_line
from app.members.errors import InvalidMemberNumber
from app.merchants.admin import ADDRESS_MAX, DESCRIPTION_MAX, NAME_MAX, parse_time
from app.payouts.bank_details import parse_iban
from app.payouts.errors import InvalidIban

REASON_MAX = 500
# The browser's date picker sends ISO dates; a person typing may write the French way.
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
BAD_DATE = _l("Enter a date like 2026-03-05 or 05/03/2026.")
BAD_DATETIME = _l("Enter a date and time like 2026-03-05 18:30.")
OLDEST_PAYMENT_YEARS = 5
JOURNAL_FIRST_YEAR, JOURNAL_LAST_YEAR = 2000, 2099


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters.", max=limit))


def _line(value):
    """One line, control characters (NUL, escapes, bidi overrides) removed: PostgreSQL refuses NUL."""
    return clean_line(value) if isinstance(value, str) else value


def _member_number(form, field):
    try:
        field.data = cards.check_member_number(field.data)
    except InvalidMemberNumber as exc:
        raise ValidationError(str(exc.message)) from exc


# --- fields ---------------------------------------------------------------------------------


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


class PeopleField(IntegerField):
    """A whole number of people, with our own message when it is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a whole number of people, for example 30.")) from exc


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --- access and confirmations ---------------------------------------------------------------


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
    """A button that changes something (approve, unlock, publish, move...): CSRF only."""


# --- members --------------------------------------------------------------------------------


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason given to the applicant"),
        filters=[_line],
        validators=[
            DataRequired(_l("Give the reason: the applicant receives it.")),
            _at_most(REASON_MAX),
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
            _at_most(300),
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


# --- contributions --------------------------------------------------------------------------


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
            _at_most(200),
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

    def validate_month(self, field):
        """In the range every month of the caisse lies in (`9999-12` broke the dashboard)."""
        from app.core.calendar import Month
        from app.core.errors import InvalidPeriod

        if field.data:
            try:
                Month.parse(field.data)
            except InvalidPeriod as exc:
                raise ValidationError(exc.message) from None


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
            _at_most(REASON_MAX),
        ],
    )


# --- allocations ----------------------------------------------------------------------------


class AllocationRunForm(FlaskForm):
    period = HiddenField(validators=[DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$")])


# --- corrections ----------------------------------------------------------------------------


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
            _at_most(REASON_MAX),
        ],
    )


# --- audit log ------------------------------------------------------------------------------


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


# --- merchants ------------------------------------------------------------------------------


class MerchantSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or commune"), filters=[_strip], validators=[Optional(), _at_most(80)])
    status = SelectField(
        _l("Status"),
        choices=choices(
            [
                ("", _l("All")),
                ("active", _l("Conventioned")),
                ("pending", _l("Waiting for the convention")),
                ("suspended", _l("Suspended")),
            ]
        ),
        validate_choice=True,
        default="",
    )


class MerchantForm(FlaskForm):
    name = StringField(
        _l("Name of the farm or shop"),
        filters=[_strip],
        validators=[DataRequired(_l("Enter the merchant’s name.")), _at_most(NAME_MAX)],
    )
    kind = RadioField(
        _l("Kind"),
        choices=choices([("producer", _l("Producer")), ("shop", _l("Shop"))]),
        default="producer",
        validators=[InputRequired(_l("Choose producer or shop."))],
    )
    commune = SelectField(
        _l("Commune"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose the commune."))],
    )
    address = TextAreaField(
        _l("Address"), filters=[_strip], validators=[Optional(), _at_most(ADDRESS_MAX)]
    )
    description_fr = TextAreaField(
        _l("Description in French"),
        filters=[_strip],
        validators=[Optional(), _at_most(DESCRIPTION_MAX)],
    )
    description_en = TextAreaField(
        _l("Description in English"),
        filters=[_strip],
        validators=[Optional(), _at_most(DESCRIPTION_MAX)],
    )
    conventioned_since = DateField(
        _l("Convention signed on"),
        format=DATE_FORMATS,
        invalid_value_message=BAD_DATE,
        validators=[Optional()],
    )
    categories = MultiCheckboxField(
        _l("Product categories of the convention"), coerce=int, validate_choice=True
    )
    iban = StringField(
        _l("IBAN (where the association pays the merchant)"),
        filters=[_strip],
        validators=[Optional(), _at_most(60)],
    )

    def validate_iban(self, field):
        if not field.data:
            return
        try:
            field.data = parse_iban(field.data)
        except InvalidIban as exc:
            raise ValidationError(str(exc.message)) from exc

    def validate_conventioned_since(self, field):
        from app.ledger.transfers import today

        if field.data is None:
            return
        if field.data.year < 2000:
            raise ValidationError(_l("This date is too far in the past: check the year."))
        if (field.data - today()).days > 366:
            raise ValidationError(_l("This date is more than a year ahead: check the year."))

    def validate_categories(self, field):
        if self.conventioned_since.data and not field.data:
            raise ValidationError(
                _l("A conventioned merchant sells at least one product category: tick them.")
            )

    def validate_description_en(self, field):
        if bool(self.description_fr.data) != bool(field.data):
            raise ValidationError(
                _l("Write the description in both languages, or leave both empty.")
            )


class MerchantSuspendForm(FlaskForm):
    """Suspending a merchant: the reason, optional, goes to the audit log."""

    reason = StringField(
        _l("Reason (kept in the audit log)"),
        filters=[_strip],
        validators=[Optional(), _at_most(300)],
    )


class MerchantMarketForm(FlaskForm):
    market = SelectField(
        _l("Market"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose a market from the list."))],
    )


class InviteCashierForm(FlaskForm):
    email = EmailField(
        _l("E-mail address of the cashier"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the e-mail address.")),
            _at_most(254),
            Email(_l("This e-mail address is not valid.")),
        ],
    )
    name = StringField(
        _l("Name shown on the register"), filters=[_strip], validators=[Optional(), _at_most(120)]
    )
    language = SelectField(
        _l("Language of the invitation"),
        choices=choices([("fr", "Français"), ("en", "English")]),
        validate_choice=True,
        default="fr",
    )


# --- settlements ----------------------------------------------------------------------------


class SettlementMonthForm(FlaskForm):
    """The month to look at (GET)."""

    class Meta:
        csrf = False

    mois = StringField(
        _l("Month"),
        filters=[_strip],
        validators=[DataRequired(_l("Choose a month.")), _at_most(20)],
    )


class PayForm(FlaskForm):
    """Mark one merchant's month paid. `key` is the settlement's idempotency key, made by the
    server when the page is drawn; `amount` is the amount the treasurer saw (cents)."""

    key = HiddenField(
        validators=[DataRequired(_l("This form has expired: reload the page.")), _at_most(80)]
    )
    amount = IntegerField(
        widget=HiddenField.widget,
        validators=[
            InputRequired(_l("This form has expired: reload the page.")),
            NumberRange(min=1),
        ],
    )


class PayAllForm(FlaskForm):
    key = HiddenField(
        validators=[DataRequired(_l("This form has expired: reload the page.")), _at_most(80)]
    )
    total = IntegerField(
        widget=HiddenField.widget,
        validators=[
            InputRequired(_l("This form has expired: reload the page.")),
            NumberRange(min=1),
        ],
    )


# --- the association's settings -------------------------------------------------------------


def _text(value):
    """Several lines, each cleaned of control characters (NUL, escapes, bidi overrides)."""
    if not isinstance(value, str):
        return value
    return "\n".join(clean_line(line) for line in value.splitlines()).strip()


class WholeNumberField(IntegerField):
    """A whole number, with our own message when it is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a whole number, for example 2.")) from exc


class IdentityForm(FlaskForm):
    name = StringField(
        _l("Name of the association"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the association’s name.")), _at_most(60)],
    )
    contact_email = EmailField(
        _l("Contact e-mail"),
        filters=[_line],
        validators=[
            DataRequired(_l("Enter the contact e-mail address.")),
            _at_most(120),
            Email(_l("Enter an e-mail address like name@example.org.")),
        ],
    )
    contact_phone = StringField(
        _l("Contact phone"),
        filters=[_line],
        validators=[
            Optional(),
            _at_most(30),
            Regexp(
                r"^\+?[0-9][0-9 .\-]{5,}$",
                message=_l("Enter a phone number like 04 77 00 00 00."),
            ),
        ],
    )
    address = TextAreaField(
        _l("Postal address"),
        filters=[_text],
        validators=[DataRequired(_l("Enter the postal address.")), _at_most(300)],
    )
    long_name_fr = StringField(
        _l("Full name, in French"), filters=[_line], validators=[Optional(), _at_most(200)]
    )
    long_name_en = StringField(
        _l("Full name, in English"), filters=[_line], validators=[Optional(), _at_most(200)]
    )
    area_fr = StringField(
        _l("Area of the experiment, in French"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the area of the experiment.")), _at_most(120)],
    )
    area_en = StringField(
        _l("Area of the experiment, in English"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the area of the experiment.")), _at_most(120)],
    )
    origin_fr = TextAreaField(
        _l("Where the experiment comes from, in French"),
        filters=[_text],
        validators=[Optional(), _at_most(1000)],
    )
    origin_en = TextAreaField(
        _l("Where the experiment comes from, in English"),
        filters=[_text],
        validators=[Optional(), _at_most(1000)],
    )


class BankForm(FlaskForm):
    bank_holder = StringField(
        _l("Account holder"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the account holder’s name.")), _at_most(70)],
    )
    iban = StringField(
        _l("IBAN"), filters=[_line], validators=[DataRequired(_l("Enter the IBAN.")), _at_most(60)]
    )
    bic = StringField(
        _l("BIC"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the BIC (8 or 11 characters).")), _at_most(20)],
    )
    payment_reference_prefix = StringField(
        _l("Word before the member number in transfer labels"),
        filters=[_line],
        validators=[
            DataRequired(_l("Enter the word members write before their number.")),
            _at_most(12),
            Regexp(
                r"^[A-Za-z]{2,12}$",
                message=_l("From 2 to 12 letters without accents, for example SSA."),
            ),
        ],
    )


class AllocationSettingsForm(FlaskForm):
    amount = AmountField(
        _l("Monthly allocation per member (€)"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the amount, for example 100.")), _at_most(20)],
    )
    start = StringField(
        _l("Applies from the month (YYYY-MM)"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the month, for example 2026-03.")), _at_most(20)],
    )
    rule = RadioField(
        _l("Roll-over rule"),
        choices=choices(
            [
                ("cap", _l("Carry over, up to a cap")),
                ("expire", _l("Expire at the end of the month")),
                ("none", _l("Carry over without a cap")),
            ]
        ),
        validators=[InputRequired(_l("Choose one of the roll-over rules."))],
    )
    cap_months = WholeNumberField(
        _l("Cap, in monthly allocations"),
        validators=[Optional()],
    )
    confirm = BooleanField(
        _l("I have read the preview: balances will expire, save these rules anyway.")
    )

    def validate_cap_months(self, field):
        if self.rule.data == "cap" and field.data is None:
            raise ValidationError(_l("Enter the cap, a whole number of monthly allocations."))
        if self.rule.data == "cap" and not 1 <= field.data <= 24:
            raise ValidationError(
                _l("The cap is a whole number of monthly allocations, from 1 to %(max)d.", max=24)
            )


class PayPlaceRow(Form):
    place = StringField(_l("Place"), filters=[_line], validators=[Optional(), _at_most(120)])
    times = StringField(
        _l("Days and times"), filters=[_line], validators=[Optional(), _at_most(120)]
    )

    def validate(self, extra_validators=None):
        # `Optional` stops the place's own validators when it is empty: checked here instead.
        valid = super().validate(extra_validators)
        if self.times.data and not self.place.data:
            self.place.errors = [*self.place.errors, _l("Enter the place, or empty the times.")]
            return False
        return valid


class PayPlacesForm(FlaskForm):
    places = FieldList(FormField(PayPlaceRow), min_entries=1, max_entries=6)


class BackupSettingsForm(FlaskForm):
    backup_dir = StringField(
        _l("Backup directory"), filters=[_line], validators=[Optional(), _at_most(300)]
    )
    keep_daily = WholeNumberField(
        _l("Daily copies kept"),
        validators=[
            InputRequired(_l("Enter a whole number, for example 14.")),
            NumberRange(1, 366, _l("A whole number from 1 to %(max)d.", max=366)),
        ],
    )
    keep_monthly = WholeNumberField(
        _l("Monthly copies kept"),
        validators=[
            InputRequired(_l("Enter a whole number, for example 12.")),
            NumberRange(1, 366, _l("A whole number from 1 to %(max)d.", max=366)),
        ],
    )


# --- content --------------------------------------------------------------------------------


class FaqForm(FlaskForm):
    question_fr = StringField(
        _l("Question in French"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the question in French.")), _at_most(QUESTION_MAX)],
    )
    question_en = StringField(
        _l("Question in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the question in English.")), _at_most(QUESTION_MAX)],
    )
    answer_fr = TextAreaField(
        _l("Answer in French"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the answer in French.")), _at_most(ANSWER_MAX)],
    )
    answer_en = TextAreaField(
        _l("Answer in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the answer in English.")), _at_most(ANSWER_MAX)],
    )
    published = BooleanField(_l("Published (shown on the FAQ page)"), default=True)


class PageForm(FlaskForm):
    title_fr = StringField(
        _l("Title in French"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the title in French.")), _at_most(TITLE_MAX)],
    )
    title_en = StringField(
        _l("Title in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the title in English.")), _at_most(TITLE_MAX)],
    )
    body_fr = TextAreaField(
        _l("Text in French"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the text in French.")), _at_most(BODY_MAX)],
    )
    body_en = TextAreaField(
        _l("Text in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the text in English.")), _at_most(BODY_MAX)],
    )


class SubscriberSearchForm(FlaskForm):
    """GET filter of the subscribers' list (no CSRF: it changes nothing). Over-long text is cut,
    not refused: a search never fails."""

    class Meta:
        csrf = False

    q = StringField(
        _l("E-mail contains"),
        filters=[lambda value: clean_line(value)[:SEARCH_MAX] if isinstance(value, str) else value],
    )


KIND_LABELS = {
    "meeting": _l("Meeting"),
    "workshop": _l("Workshop"),
    "screening": _l("Film screening"),
    "party": _l("Party"),
    "visit": _l("Visit"),
    "other": _l("Other"),
}


class EventForm(FlaskForm):
    kind = SelectField(
        _l("Kind of event"),
        choices=choices([(k, KIND_LABELS[k]) for k in EVENT_KINDS]),
        validate_choice=True,
    )
    title_fr = StringField(
        _l("Title in French"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the title in French.")), _at_most(200)],
    )
    title_en = StringField(
        _l("Title in English"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the title in English.")), _at_most(200)],
    )
    description_fr = TextAreaField(
        _l("Description in French"), filters=[_strip], validators=[Optional(), _at_most(10_000)]
    )
    description_en = TextAreaField(
        _l("Description in English"), filters=[_strip], validators=[Optional(), _at_most(10_000)]
    )
    starts_at = DateTimeLocalField(
        _l("Starts on"),
        format=DATETIME_FORMATS,
        invalid_value_message=BAD_DATETIME,
        validators=[
            InputRequired(_l("Enter when the event starts, for example 2026-03-05 18:30."))
        ],
    )
    ends_at = DateTimeLocalField(
        _l("Ends on"),
        format=DATETIME_FORMATS,
        invalid_value_message=BAD_DATETIME,
        validators=[InputRequired(_l("Enter when the event ends, for example 2026-03-05 20:30."))],
    )
    place_name = StringField(
        _l("Place (hall, farm...)"), filters=[_strip], validators=[Optional(), _at_most(160)]
    )
    address = StringField(_l("Address"), filters=[_strip], validators=[Optional(), _at_most(300)])
    commune = SelectField(
        _l("Commune"),
        coerce=lambda v: int(v) if str(v or "").isdigit() else None,
        validate_choice=True,
    )
    town = StringField(
        _l("Town, if outside the communes"),
        filters=[_strip],
        validators=[Optional(), _at_most(120)],
    )
    capacity = PeopleField(
        _l("Capacity (people; empty for no limit)"),
        validators=[
            Optional(),
            NumberRange(
                min=1, max=10_000, message=_l("Enter a number of people between 1 and 10000.")
            ),
        ],
    )
    registration_enabled = BooleanField(_l("Registration on the website"), default=True)
    carpool = BooleanField(_l("Carpools from the town-hall squares"), default=True)
    registration_opens_at = DateTimeLocalField(
        _l("Registrations open on (optional)"),
        format=DATETIME_FORMATS,
        invalid_value_message=BAD_DATETIME,
        validators=[Optional()],
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registrations close on (optional)"),
        format=DATETIME_FORMATS,
        invalid_value_message=BAD_DATETIME,
        validators=[Optional()],
    )

    def validate_starts_at(self, field):
        _event_date(field)

    def validate_ends_at(self, field):
        _event_date(field)

    def validate_registration_opens_at(self, field):
        _event_date(field)

    def validate_registration_closes_at(self, field):
        _event_date(field)

    def validate(self, extra_validators=None):
        """The fields' checks, the end after the start, and "a commune or a town" (which
        Optional() would skip on an empty town), reported together: the admin corrects
        everything in one go (the service checks them again)."""
        ok = super().validate(extra_validators)
        starts, ends = self.starts_at.data, self.ends_at.data
        if starts and ends and not self.ends_at.errors and ends <= starts:
            self.ends_at.errors.append(_l("The end must be after the start."))
            ok = False
        if self.commune.data is None and not self.town.data and not self.town.errors:
            self.town.errors.append(
                _l("Choose one of the communes, or write the town of the event.")
            )
            ok = False
        return ok


def _event_date(field):
    """A typed event date (Paris wall-clock) out of the back office's range is a typo (9999), and
    would break "duplicate for next month"."""
    if field.data is None:
        return
    if field.data.year < EVENT_FIRST_YEAR:
        raise ValidationError(
            _l("This date is before %(year)d: check the year.", year=EVENT_FIRST_YEAR)
        )
    if field.data.date() > latest_event_day():
        raise ValidationError(
            _l("This date is more than %(years)d years ahead: check the year.", years=YEARS_AHEAD)
        )


# --- the association's lists (communes, categories, pickup points, markets) -------------------


def _time_of_day(form, field):
    if field.data and parse_time(field.data) is None:
        raise ValidationError(_l("Enter a time such as 08:00 or 12:30."))


class CommuneForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the commune’s name.")), _at_most(80)],
    )
    postcode = StringField(
        _l("Postcode"),
        filters=[_line],
        validators=[
            DataRequired(_l("The postcode has 5 digits, for example 42130.")),
            Regexp(r"^[0-9]{5}$", message=_l("The postcode has 5 digits, for example 42130.")),
        ],
    )
    aliases = TextAreaField(
        _l("Delegated communes (one per line)"),
        validators=[Optional(), _at_most(4000)],
    )


class CategoryForm(FlaskForm):
    name_fr = StringField(
        _l("Name in French"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the category’s name.")), _at_most(80)],
    )
    name_en = StringField(
        _l("Name in English"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the category’s name.")), _at_most(80)],
    )


class PickupPointForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[_line],
        validators=[DataRequired(_l("Enter the pickup point’s name.")), _at_most(160)],
    )
    commune = SelectField(
        _l("Commune"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose the commune."))],
    )


class MarketForm(FlaskForm):
    place = StringField(
        _l("Place"),
        filters=[_line],
        validators=[DataRequired(_l("Enter where the market is held.")), _at_most(160)],
    )
    commune = SelectField(_l("Commune (optional)"), coerce=int, validate_choice=True, default=0)
    weekday = SelectField(
        _l("Day of the week"),
        coerce=int,
        validate_choice=True,
        validators=[InputRequired(_l("Choose the day of the week."))],
    )
    opens = StringField(
        _l("Opens at"),
        filters=[_line],
        validators=[
            DataRequired(_l("Enter the opening time, for example 08:00.")),
            _at_most(10),
            _time_of_day,
        ],
    )
    closes = StringField(
        _l("Closes at"),
        filters=[_line],
        validators=[
            DataRequired(_l("Enter the closing time, for example 12:30.")),
            _at_most(10),
            _time_of_day,
        ],
    )
    merchants = MultiCheckboxField(_l("Merchants at this market"), coerce=int)
