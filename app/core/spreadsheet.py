"""Files people download: the one CSV writer for French spreadsheets and the one download helper.

`french_csv` writes what French Excel and LibreOffice open right with a double click: UTF-8 with
a byte-order mark, `;` separators, amounts with a decimal comma. Every other cell is text, and
text that a spreadsheet would run as a formula (a leading = + - @, tab or CR) gets a quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Response, make_response

from app.core.i18n import euros_plain

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Euros:
    """A cell holding an amount: written as a number (`-12,50`), never neutralised."""

    cents: int


def neutralise(value) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    CR) gets a leading quote. None is an empty cell."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _cell(value, decimal: str) -> str:
    if isinstance(value, Euros):
        return euros_plain(value.cents, decimal)
    return neutralise(value)


def french_csv(
    headers: Iterable, rows: Iterable[Iterable], *, decimal: str = ",", bom: bool = True
) -> bytes:
    """`headers` then `rows` as CSV bytes (an empty row is a blank line). `Euros` cells are
    amounts with `decimal` as separator (a comma for French spreadsheets); `bom=False` for a
    part appended to another file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([_cell(value, decimal) for value in headers])
    for row in rows:
        writer.writerow([_cell(value, decimal) for value in row])
    return ((BOM if bom else "") + buffer.getvalue()).encode("utf-8")


def download(
    body: bytes | str,
    filename: str,
    mimetype: str = "text/csv; charset=utf-8",
    *,
    inline: bool = False,
) -> Response:
    """`body` as an attachment called `filename` (ASCII: the names are built from slugs);
    `inline` for a file the browser may open itself (a calendar)."""
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response
