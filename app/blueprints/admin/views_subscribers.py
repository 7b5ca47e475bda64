"""Subscribers `/admin/contenu/abonnes`: the addresses left on the public "stay informed" form
(people outside the communes). Coordinators list and search them, download them as a
spreadsheet, and remove one (a person asking to be forgotten, an address that bounces)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.forms import ConfirmForm, SubscriberSearchForm
from app.content import admin as content_admin
from app.content.models import Subscriber
from app.core.calendar import today
from app.core.extensions import db
from app.core.htmx import render
from app.core.pagination import requested_page
from app.core.security import ADMIN, access
from app.core.spreadsheet import download
from app.core.web import submit

INVALID = 422


def _subscriber_or_404(subscriber_id: int) -> Subscriber:
    return db.session.get(Subscriber, subscriber_id) or abort(404)


@bp.get("/contenu/abonnes")
@access(ADMIN)
def subscribers():
    form = SubscriberSearchForm(request.args)
    results = content_admin.subscribers(form.q.data or "", page=requested_page())
    return render(
        "admin/content/subscribers.html",
        "admin/content/_subscribers.html",
        form=form,
        results=results,
        everyone=content_admin.subscriber_count(),
    )


@bp.get("/contenu/abonnes.csv")
@access(ADMIN)
def subscribers_csv():
    day = today().isoformat()
    return download(content_admin.subscribers_csv(), f"patias-abonnes-{day}.csv")


@bp.route("/contenu/abonnes/<int:subscriber_id>/supprimer", methods=["GET", "POST"])
@access(ADMIN)
def subscriber_delete(subscriber_id: int):
    subscriber = _subscriber_or_404(subscriber_id)
    form = ConfirmForm()
    email = subscriber.email
    if submit(form, lambda: content_admin.delete_subscriber(subscriber, current_user.id)).ok:
        flash(_("%(email)s is removed from the list.", email=email), "success")
        return redirect(url_for("admin.subscribers"), 303)
    return render(
        "admin/content/subscriber_delete.html",
        status=INVALID if form.is_submitted() else 200,
        subscriber=subscriber,
        form=form,
    )
