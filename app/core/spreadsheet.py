"""Files people download: one helper sets the type and the attachment name."""

from __future__ import annotations

from flask import Response, make_response


def download(
    body: bytes | str, filename: str, mimetype: str = "text/csv; charset=utf-8"
) -> Response:
    """`body` as an attachment called `filename` (ASCII: the names are built from slugs)."""
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
