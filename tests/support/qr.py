"""Reading QR codes in tests: zxing-cpp (its native reader ships in the wheel) on a grayscale
image, from a PNG (a Chromium screenshot) or from a segno code's matrix. The PNG decoder is the
few lines a screenshot needs (8-bit RGB or RGBA, not interlaced), so no imaging library is needed."""

from __future__ import annotations

import struct
import zlib

import zxingcpp

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_to_gray(data: bytes) -> tuple[bytes, int, int]:
    """The pixels of an 8-bit RGB/RGBA PNG as grayscale bytes, with width and height."""
    assert data.startswith(_SIGNATURE), "not a PNG"
    offset, idat = len(_SIGNATURE), b""
    width = height = channels = 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    gray = bytearray()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, upper_left)) & 0xFF
        for i in range(0, stride, channels):
            gray.append((line[i] * 299 + line[i + 1] * 587 + line[i + 2] * 114) // 1000)
        previous = line
    return bytes(gray), width, height


def decode_gray(gray: bytes, width: int, height: int) -> list[str]:
    """The texts of the QR codes found in a grayscale image."""
    view = memoryview(gray).cast("B", (height, width))
    found = zxingcpp.read_barcodes(view, formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


def decode_png(data: bytes) -> list[str]:
    return decode_gray(*png_to_gray(data))


def decode_segno(qr, scale: int = 4, border: int = 4) -> list[str]:
    """Read a segno code back through zxing-cpp, from its matrix drawn at `scale` pixels a module."""
    modules = [[bool(cell) for cell in row] for row in qr.matrix]
    size = (len(modules) + 2 * border) * scale
    gray = bytearray(b"\xff" * size * size)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                for dy in range((y + border) * scale, (y + border + 1) * scale):
                    start = dy * size + (x + border) * scale
                    gray[start : start + scale] = b"\x00" * scale
    return decode_gray(bytes(gray), size, size)


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
