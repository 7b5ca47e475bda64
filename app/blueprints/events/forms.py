"""Forms of the events pages: registering, changing a registration, offering, booking and
requesting a ride. Every message is shown next to its field, in the reader's language."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
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

from app.core.forms import Email  # accepts the demo accounts' reserved .test domain
from app.events.models import MAX_PEOPLE, MAX_SEATS
from app.events.registrations import new_key, normalise_phone

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_line(value):
    """One line of text: control characters dropped, runs of spaces collapsed."""
    if value is None:
        return value
    return " ".join(_CONTROL.sub(" ", value).split())


def clean_text(value):
    """Several lines: control characters other than the line break dropped."""
    if value is None:
        return value
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()


class WholeNumberField(IntegerField):
    """An integer field whose "not a number" message is ours (translated, next to the field)."""

    def __init__(self, label=None, validators=None, not_a_number=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.not_a_number = not_a_number or _l("Enter a whole number.")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        if not text:
            self.data = None
            return
        if not re.fullmatch(r"\d{1,3}", text):
            self.data = None
            raise ValueError(str(self.not_a_number))
        self.data = int(text)


class ClockField(TimeField):
    """A time of day (HH:MM) with our own message for what is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(str(_l("Give a time such as 08:45."))) from exc


class ChoiceField(SelectField):
    """A select whose messages for a value not in the list are ours."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(str(_l("Choose an option from the list."))) from exc

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Choose an option from the list."))


def people_field(label=None):
    message = _l("Between 1 and %(max)d people.", max=MAX_PEOPLE)
    return WholeNumberField(
        label or _l("Number of people"),
        default=1,
        not_a_number=message,
        validators=[InputRequired(message), NumberRange(min=1, max=MAX_PEOPLE, message=message)],
        render_kw={"min": 1, "max": MAX_PEOPLE, "inputmode": "numeric"},
    )


PHONE_MESSAGE = _l("Enter a phone number, for example 06 12 34 56 78.")


class RegistrationForm(FlaskForm):
    # DataRequired, not InputRequired: a name of spaces only is empty once cleaned.
    name = StringField(
        _l("Name"),
        filters=[clean_line],
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=120, message=_l("At most 120 characters.")),
        ],
    )
    email = EmailField(
        _l("E-mail"),
        filters=[clean_line],
        validators=[
            Optional(),
            Length(max=254, message=_l("This e-mail address is too long.")),
            Email(_l("Enter a valid e-mail address, for example name@example.fr.")),
        ],
    )
    phone = TelField(
        _l("Phone"),
        filters=[clean_line],
        validators=[Optional(), Length(max=40, message=PHONE_MESSAGE)],
    )
    commune = ChoiceField(_l("Commune"), coerce=int, default=0)
    people = people_field()
    needs_ride = BooleanField(_l("I need a ride"))
    offers_ride = BooleanField(_l("I can offer a ride"))
    # Made when the form is shown: the same form sent twice registers once (see events.register).
    key = HiddenField(
        validators=[
            Optional(),
            Regexp(
                r"^[A-Za-z0-9_-]{16,64}$", message=_l("This form has expired: reload the page.")
            ),
        ]
    )

    def __init__(self, *args, communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = new_key()
        self.commune.choices = [SelectChoice(0, _l("Another commune"))] + [
            SelectChoice(c.id, c.name) for c in communes
        ]

    def validate_phone(self, field):
        try:
            number = normalise_phone(field.data)
        except ValueError as exc:
            raise ValidationError(PHONE_MESSAGE) from exc
        if number is None and field.data:
            # Separators only ("--", "()"): no number, although the field is not empty.
            raise ValidationError(PHONE_MESSAGE)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if (
            not self.email.errors
            and not self.phone.errors
            and not self.email.data
            and not self.phone.data
        ):
            self.email.errors = [
                *self.email.errors,
                _l("Give an e-mail address or a phone number, so that we can reach you."),
            ]
            return False
        return valid


class ChangeForm(FlaskForm):
    people = people_field()
    needs_ride = BooleanField(_l("I need a ride"))
    offers_ride = BooleanField(_l("I can offer a ride"))


class ConfirmForm(FlaskForm):
    """A button that changes something (cancel): only the CSRF token."""


def _has_pickup(form) -> bool:
    """A point from the list or a place in words (the text field is optional on its own)."""
    if form.pickup_point.errors or form.pickup_point.data or form.pickup_text.data:
        return True
    form.pickup_text.errors = [
        *form.pickup_text.errors,
        _l("Choose a departure point or describe the place."),
    ]
    return False


def _pickup_choices(points, other_label):
    return [SelectChoice(0, other_label)] + [SelectChoice(p.id, p.name) for p in points]


class RideOfferForm(FlaskForm):
    pickup_point = ChoiceField(_l("Departure point"), coerce=int)
    pickup_text = StringField(
        _l("Other departure place"),
        filters=[clean_line],
        validators=[Optional(), Length(max=160, message=_l("At most 160 characters."))],
    )
    departure = ClockField(
        _l("Departure time"),
        format="%H:%M",
        validators=[InputRequired(_l("Give the departure time, for example 08:45."))],
    )
    seats = WholeNumberField(
        _l("Seats offered"),
        default=3,
        not_a_number=_l("Between 1 and %(max)d seats.", max=MAX_SEATS),
        validators=[
            InputRequired(_l("Between 1 and %(max)d seats.", max=MAX_SEATS)),
            NumberRange(
                min=1, max=MAX_SEATS, message=_l("Between 1 and %(max)d seats.", max=MAX_SEATS)
            ),
        ],
        render_kw={"min": 1, "max": MAX_SEATS, "inputmode": "numeric"},
    )
    note = TextAreaField(
        _l("Note for passengers"),
        filters=[clean_text],
        validators=[Optional(), Length(max=300, message=_l("At most 300 characters."))],
    )

    def __init__(self, *args, points=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.pickup_point.choices = _pickup_choices(points, _l("Another place (describe it below)"))

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) & _has_pickup(self)


class PartySeats:
    """Seats for a passenger's party: at most as many as the people registered (`party`)."""

    def __init__(self, *args, party: int = MAX_PEOPLE, **kwargs):
        super().__init__(*args, **kwargs)
        self.party = party
        self.seats.render_kw = {**(self.seats.render_kw or {}), "max": party}

    def validate_seats(self, field):
        if field.data is not None and field.data > self.party:
            raise ValidationError(
                ngettext(
                    "At most %(num)d seat: the size of your party.",
                    "At most %(num)d seats: the size of your party.",
                    self.party,
                )
            )


class BookingForm(PartySeats, FlaskForm):
    seats = WholeNumberField(
        _l("Seats"),
        default=1,
        not_a_number=_l("Enter a number of seats."),
        validators=[
            InputRequired(_l("Enter a number of seats.")),
            NumberRange(min=1, max=MAX_PEOPLE, message=_l("Enter a number of seats.")),
        ],
        render_kw={"min": 1, "max": MAX_PEOPLE, "inputmode": "numeric"},
    )


class RideRequestForm(PartySeats, FlaskForm):
    pickup_point = ChoiceField(_l("I would leave from"), coerce=int)
    pickup_text = StringField(
        _l("Other place"),
        filters=[clean_line],
        validators=[Optional(), Length(max=160, message=_l("At most 160 characters."))],
    )
    seats = WholeNumberField(
        _l("Seats needed"),
        default=1,
        not_a_number=_l("Enter a number of seats."),
        validators=[
            InputRequired(_l("Enter a number of seats.")),
            NumberRange(min=1, max=MAX_PEOPLE, message=_l("Enter a number of seats.")),
        ],
        render_kw={"min": 1, "max": MAX_PEOPLE, "inputmode": "numeric"},
    )

    def __init__(self, *args, points=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.pickup_point.choices = _pickup_choices(points, _l("Another place (describe it below)"))

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) & _has_pickup(self)
