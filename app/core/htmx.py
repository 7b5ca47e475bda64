"""The one place that decides between a full page and an htmx fragment."""

from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, partial: str | None = None, status: int = 200, **context):
    """Render `partial` for htmx requests, `page` otherwise; responses vary on HX-Request."""
    template = partial if partial and is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = _vary(response.headers.get("Vary"))
    return response


def hx_redirect(location: str, status: int = 303):
    """Redirect that works for htmx (HX-Redirect) and for plain forms (303)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", status)
    response.headers["Location"] = location
    return response


def _vary(existing: str | None) -> str:
    values = [v.strip() for v in (existing or "").split(",") if v.strip()]
    if "HX-Request" not in values:
        values.append("HX-Request")
    return ", ".join(values)
