"""Form validators shared by every blueprint's forms."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError


class Email:
    """A well-formed address (no DNS lookup). Unlike WTForms' `Email`, it accepts the reserved
    `.test` domain that the demo accounts use."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        try:
            validate_email(field.data or "", check_deliverability=False, test_environment=True)
        except EmailNotValidError as error:
            raise ValidationError(self.message) from error
