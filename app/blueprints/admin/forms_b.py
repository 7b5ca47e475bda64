"""Back-office forms for merchants, settlements and content (FAQ, pages, events).

Formats are checked here with a message next to the field; the services check the rules again
(both languages, dates in order, a valid IBAN) and their refusals come back onto the form.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
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
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.content.admin import ANSWER_MAX, BODY_MAX, QUESTION_MAX, SEARCH_MAX, TITLE_MAX
from app.core.forms import Email
from app.events.admin import FIRST_YEAR as EVENT_FIRST_YEAR
from app.events.admin import YEARS_AHEAD
from app.events.admin import latest_day as latest_event_day
from app.events.models import EVENT_KINDS
from app.members.applications import clean_line
from app.merchants.admin import ADDRESS_MAX, DESCRIPTION_MAX, NAME_MAX
from app.payouts.bank_details import parse_iban
from app.payouts.errors import InvalidIban

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
BAD_DATE = _l("Enter a date like 2026-03-05 or 05/03/2026.")
BAD_DATETIME = _l("Enter a date and time like 2026-03-05 18:30.")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters.", max=limit))


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


class ActionForm(FlaskForm):
    """A button that changes something (publish, suspend, move...): CSRF only."""


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


class SuspendForm(FlaskForm):
    reason = StringField(
        _l("Reason (kept in the audit log)"),
        filters=[_strip],
        validators=[Optional(), _at_most(300)],
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
