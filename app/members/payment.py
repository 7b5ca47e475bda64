"""How a member pays their contribution: the reference to write on a transfer (the one the bank
statement import recognises), the association's bank details, the EPC QR code that banking apps
scan ("virement par QR code") and the places where cash and cheques are taken.

Everything is read from the association's settings (`app.core.settings.association()`): an
empty IBAN leaves the transfer out (the member is told to ask the association), a holder's name,
IBAN or BIC that the EPC format refuses leaves the QR code out; nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import segno
import segno.helpers
from markupsafe import Markup
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from app.core.settings import association

DEFAULT_PREFIX = "PATIAS"
PREFIX_MAX = 12
# What the EPC format (European Payments Council, SEPA credit transfer QR code) accepts.
EPC_MIN_CENTS = 1
EPC_MAX_CENTS = 999_999_999_99
EPC_NAME_MAX = 70
_BIC = re.compile(r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")


def reference_prefix() -> str:
    """The word before the member number in a transfer's label: the setting
    `payment_reference_prefix` (default `PATIAS`), kept to unaccented capital letters so that
    it survives every bank's label and cannot be mistaken for a digit of the number."""
    raw = association().get("payment_reference_prefix") or DEFAULT_PREFIX
    cleaned = re.sub(r"[^A-Z]", "", str(raw).upper())[:PREFIX_MAX]
    return cleaned or DEFAULT_PREFIX


def payment_reference(number: str) -> str:
    """What a member writes on a transfer: `PATIAS 000018` (prefix, space, member number)."""
    return f"{reference_prefix()} {number}"


def compact_iban(text: str | None) -> str:
    return re.sub(r"\s+", "", str(text or "")).upper()


def grouped(text: str, size: int = 4) -> str:
    """`FR7630001000...` as `FR76 3000 1000 ...`, easier to read and to copy by hand."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def iban_is_valid(text: str | None) -> bool:
    try:
        IBAN(compact_iban(text))
    except (SchwiftyException, ValueError):
        return False
    return True


def epc_qr(
    *, holder: str, iban: str, bic: str, amount_cents: int, reference: str
) -> segno.QRCode | None:
    """The EPC QR code of a SEPA credit transfer of `amount_cents` to the association with the
    reference as the transfer's text, or None when the EPC format cannot hold these values."""
    if not isinstance(amount_cents, int) or not EPC_MIN_CENTS <= amount_cents <= EPC_MAX_CENTS:
        return None
    iban = compact_iban(iban)
    bic = compact_iban(bic)
    if not iban_is_valid(iban) or (bic and not _BIC.match(bic)) or not reference:
        return None
    name = " ".join(str(holder or "").split())[:EPC_NAME_MAX]
    if not name:
        return None
    try:
        return segno.helpers.make_epc_qr(
            name=name,
            iban=iban,
            amount=Decimal(amount_cents) / 100,
            text=reference,
            bic=bic or None,
        )
    except ValueError:
        return None


def _svg(qr: segno.QRCode, label: str) -> str:
    """The QR code as an SVG element, black on white with its quiet zone, named for screen readers."""
    svg = qr.svg_inline(
        scale=4, border=4, omitsize=True, dark="#000", light="#fff", svgclass="epc-qr"
    )
    return svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)


@dataclass(frozen=True)
class HowToPay:
    """What the "how to pay" block shows. `reference` is None before the member has a number;
    `amount_cents` is the monthly pledge (0: none chosen yet)."""

    holder: str
    iban: str
    bic: str
    reference: str | None
    amount_cents: int
    places: list[dict] = field(default_factory=list)
    contact_phone: str = ""
    contact_email: str = ""
    qr: segno.QRCode | None = None

    @property
    def has_qr(self) -> bool:
        return self.qr is not None

    @property
    def iban_grouped(self) -> str:
        return grouped(self.iban)

    @property
    def has_transfer(self) -> bool:
        return bool(self.iban)

    def qr_svg(self, label: str) -> Markup | None:
        """The EPC QR code as inline SVG (role img, `label` as its name), or None."""
        return Markup(_svg(self.qr, label)) if self.qr is not None else None

    def qr_data_uri(self) -> str | None:
        """The EPC QR code as a `data:` URI, for an <img> (the printable letter)."""
        if self.qr is None:
            return None
        return self.qr.svg_data_uri(scale=4, border=4, dark="#000", light="#fff")


def how_to_pay(number: str | None, amount_cents: int | None) -> HowToPay:
    """How the member with this number (None: an applicant, no number yet) pays `amount_cents`
    a month."""
    settings = association()
    holder = str(settings.get("bank_holder") or "").strip() or str(settings.get("name") or "")
    iban = compact_iban(settings.get("iban"))
    bic = compact_iban(settings.get("bic"))
    listed = settings.get("pay_places")
    places = [
        {"place": str(p.get("place") or ""), "times": str(p.get("times") or "")}
        for p in (listed if isinstance(listed, list) else [])
        if isinstance(p, dict) and p.get("place")
    ]
    reference = payment_reference(number) if number else None
    amount = amount_cents if isinstance(amount_cents, int) and amount_cents > 0 else 0
    qr = (
        epc_qr(holder=holder, iban=iban, bic=bic, amount_cents=amount, reference=reference)
        if iban and reference and amount
        else None
    )
    return HowToPay(
        holder=holder,
        iban=iban,
        bic=bic,
        reference=reference,
        amount_cents=amount,
        places=places,
        contact_phone=str(settings.get("contact_phone") or ""),
        contact_email=str(settings.get("contact_email") or ""),
        qr=qr,
    )
