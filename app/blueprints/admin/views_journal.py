"""The audit log `/admin/journal`: who did what and when, filtered; read only (no edit route)."""

from __future__ import annotations

from flask import request

from app.audit import log as audit
from app.blueprints.admin import bp
from app.blueprints.admin.forms import JournalFilterForm, choices
from app.core.htmx import render
from app.core.pagination import requested_page
from app.core.security import ADMIN, access


@bp.context_processor
def audit_labels():
    return {
        "action_label": audit.action_label,
        "detail_label": audit.detail_label,
        "value_label": audit.value_label,
    }


@bp.get("/journal")
@access(ADMIN)
def journal():
    form = JournalFilterForm(request.args)
    form.action.choices = choices(
        [("", _all()), *((key, str(label)) for key, label in audit.ACTIONS.items())]
    )
    form.actor.choices = choices(
        [
            ("", _all()),
            *((str(u.id), u.display_name or u.email or f"#{u.id}") for u in audit.actors()),
        ]
    )
    valid = form.validate()
    entries = audit.journal(
        action=form.action.data or None if valid else None,
        actor_id=int(form.actor.data) if valid and form.actor.data else None,
        since=form.since.data if valid else None,
        until=form.until.data if valid else None,
        page=requested_page(),
    )
    return render("admin/journal.html", form=form, entries=entries, status=200 if valid else 400)


def _all() -> str:
    from flask_babel import gettext

    return gettext("All")
