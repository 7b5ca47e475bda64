"""Applications to join (/adherer): cleaning what people type, and storing a pending application.

The form checks the formats and shows every problem at once; `submit_application` checks the
association's rules again (eligible commune, minimum contribution, a way to reach the person),
so that no other caller can store an application that breaks them.
"""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.i18n import money
from app.models import Application, Commune
from app.services.errors import ContributionTooLow, MissingContact, NotEligible
from app.services.mail import queue_mail
from app.services.settings import association

NAME_MAX = 80
ADDRESS_MAX = 300
EMAIL_MAX = 254

# A letter, then letters, or a single space, hyphen or apostrophe followed by a letter.
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’-](?=[^\W\d_]))*$")
_FRENCH_PHONE = re.compile(r"^0[1-9]\d{8}$")


def strip_controls(text: str | None, keep_newlines: bool = False) -> str:
    """Remove control and format characters (NUL, escape sequences, bidi overrides, ...).

    Tabs and line breaks become spaces, or stay line breaks in a postal address.
    """
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for char in text:
        if char == "\n" and keep_newlines:
            kept.append(char)
        elif char in "\t\n":
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"):
            kept.append(char)
    return "".join(kept)


def clean_line(text: str | None) -> str:
    """One line of text: controls removed, spaces collapsed, trimmed."""
    return " ".join(strip_controls(text).split())


def clean_address(text: str | None) -> str:
    """A postal address: controls removed, each line trimmed, empty lines dropped."""
    lines = (" ".join(line.split()) for line in strip_controls(text, keep_newlines=True).split("\n"))
    return "\n".join(line for line in lines if line)


def is_valid_name(name: str) -> bool:
    """Letters (any alphabet, with accents), single spaces, hyphens and apostrophes."""
    return bool(_NAME.match(name))


def normalize_phone(text: str | None) -> str | None:
    """A French number in any usual writing -> '06 12 34 56 78'; None if it is not one.

    Accepts spaces, dots, hyphens, slashes and parentheses, and the +33 / 0033 / +33 (0) prefixes.
    """
    raw = (text or "").strip().replace("(0)", "")
    digits = re.sub(r"[\s.\-/()]", "", raw)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if not _FRENCH_PHONE.match(digits):
        return None
    return " ".join(digits[i:i + 2] for i in range(0, 10, 2))


def minimum_contribution_cents() -> int:
    return int(association().get("min_contribution_cents") or 0)


def contribution_problem(cents: int):
    """The message for a contribution below the association's minimum, or None."""
    minimum = minimum_contribution_cents()
    if cents < minimum:
        return _l("The minimum monthly contribution is %(amount)s.", amount=money(minimum))
    return None


def submit_application(
    *,
    first_name: str,
    last_name: str,
    commune: Commune | None,
    address: str,
    email: str | None,
    phone: str | None,
    contribution_cents: int,
    language: str = "fr",
) -> Application:
    """Store a pending application and, when an e-mail was given, queue the acknowledgement."""
    if commune is None or not commune.eligible:
        raise NotEligible(_l("Only residents of the experiment’s communes may join."))
    problem = contribution_problem(contribution_cents)
    if problem is not None or contribution_cents < 0:
        raise ContributionTooLow(problem)
    email = (email or "").strip() or None
    phone = (phone or "").strip() or None
    if not email and not phone:
        raise MissingContact(_l("Give an e-mail address or a phone number, so that we can reach you."))
    application = Application(
        first_name=clean_line(first_name)[:NAME_MAX],
        last_name=clean_line(last_name)[:NAME_MAX],
        commune=commune,
        address=clean_address(address)[:ADDRESS_MAX],
        email=email,
        phone=phone,
        contribution_cents=contribution_cents,
        language=language if language in ("fr", "en") else "fr",
        status="pending",
    )
    db.session.add(application)
    db.session.flush()
    if email:
        queue_mail(email, "application_received", application.language, application=application, association=association())
    return application
