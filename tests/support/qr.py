"""Reading QR codes in tests: zxing-cpp (its native reader ships in the wheel) on an image opened
with Pillow, from a PNG (a Chromium screenshot) or from a segno code."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def decode_png(data: bytes) -> list[str]:
    """The texts of the QR codes found in a PNG image."""
    image = Image.open(io.BytesIO(data)).convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


def decode_segno(qr, scale: int = 4, border: int = 4) -> list[str]:
    """Read a segno code back through zxing-cpp, from its PNG at `scale` pixels a module."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=border)
    return decode_png(buffer.getvalue())


def epc_fields(payload: str) -> dict:
    """The lines of an EPC QR payload (the "BCD" format of a SEPA credit transfer), by name."""
    names = (
        "service",
        "version",
        "charset",
        "identification",
        "bic",
        "name",
        "iban",
        "amount",
        "purpose",
        "reference",
        "text",
    )
    lines = payload.replace("\r\n", "\n").split("\n")
    return dict(zip(names, lines + [""] * (len(names) - len(lines)), strict=False))
