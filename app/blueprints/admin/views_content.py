"""Content `/admin/contenu`: the FAQ (order, publish), the static pages, the events (create,
edit, publish, duplicate for next month) and the answers to "was this page useful?" (the
"stay informed" subscribers are in `views_subscribers`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    KIND_LABELS,
    ConfirmForm,
    EventForm,
    FaqForm,
    PageForm,
    choices,
)
from app.content import admin as content_admin
from app.content.admin import FaqData, PageData
from app.content.models import FaqEntry
from app.core.calendar import PARIS
from app.core.extensions import db
from app.core.htmx import render
from app.core.i18n import datetime_short
from app.core.security import ADMIN, access
from app.core.web import perform, submit
from app.events import admin as events_admin
from app.events import registrations as event_service
from app.events.admin import EventData
from app.events.models import Event
from app.members.models import Commune

INVALID = 422
Saved = TypeVar("Saved")


def _save_form(
    form: FlaskForm,
    save: Callable[[], Saved],
    field: str,
    saved: Callable[[Saved], tuple[str, str]],
    show: Callable[[int], Response],
) -> Response:
    """The body of a create or edit view.

    A valid POST runs `save()` and commits, then flashes the message and redirects (303) to the
    location that `saved(result)` gives. A service's refusal is rolled back and shown next to its
    field (`field` when it names none). Otherwise `show(status)` renders the form: 200, or 422
    after a refused or invalid submission.
    """
    result = submit(form, save, field)
    if result.ok:
        message, location = saved(result.value)
        flash(message, "success")
        return redirect(location, 303)
    return show(INVALID if result.submitted else 200)


# --- hub ------------------------------------------------------------------------------------


@bp.get("/contenu")
@access(ADMIN)
def content():
    entries = content_admin.faq_entries()
    coming, _past = events_admin.admin_list()
    return render(
        "admin/content/index.html",
        faq_count=len(entries),
        faq_published=sum(1 for e in entries if e.published),
        pages=content_admin.pages(),
        coming=len(coming),
        drafts=sum(1 for e in coming if e.status == "draft"),
        feedback=content_admin.feedback_table()[:5],
        subscribers=content_admin.subscriber_count(),
    )


# --- FAQ ------------------------------------------------------------------------------------


def _faq_or_404(entry_id: int) -> FaqEntry:
    entry = db.session.get(FaqEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _faq_data(form: FaqForm) -> FaqData:
    return FaqData(
        question_fr=form.question_fr.data,
        question_en=form.question_en.data,
        answer_fr=form.answer_fr.data,
        answer_en=form.answer_en.data,
        published=form.published.data,
    )


@bp.get("/contenu/faq")
@access(ADMIN)
def faq():
    return render(
        "admin/content/faq.html", entries=content_admin.faq_entries(), action=ConfirmForm()
    )


@bp.route("/contenu/faq/nouvelle", methods=["GET", "POST"])
@access(ADMIN)
def faq_new():
    form = FaqForm()
    return _save_form(
        form,
        lambda: content_admin.create_faq(_faq_data(form), current_user.id),
        "question_fr",
        saved=lambda entry: (
            _("The question is added to the FAQ."),
            url_for("admin.faq") + f"#faq-{entry.id}",
        ),
        show=lambda status: render(
            "admin/content/faq_form.html", status=status, form=form, entry=None
        ),
    )


@bp.route("/contenu/faq/<int:entry_id>", methods=["GET", "POST"])
@access(ADMIN)
def faq_edit(entry_id: int):
    entry = _faq_or_404(entry_id)
    form = FaqForm() if request.method == "POST" else FaqForm(obj=entry)
    return _save_form(
        form,
        lambda: content_admin.update_faq(entry, _faq_data(form), current_user.id),
        "question_fr",
        saved=lambda _result: (
            _("The question is saved."),
            url_for("admin.faq") + f"#faq-{entry.id}",
        ),
        show=lambda status: render(
            "admin/content/faq_form.html", status=status, form=form, entry=entry
        ),
    )


@bp.route("/contenu/faq/<int:entry_id>/supprimer", methods=["GET", "POST"])
@access(ADMIN)
def faq_delete(entry_id: int):
    entry = _faq_or_404(entry_id)
    form = ConfirmForm()
    if submit(form, lambda: content_admin.delete_faq(entry, current_user.id)).ok:
        flash(_("The question is deleted."), "success")
        return redirect(url_for("admin.faq"), 303)
    return render(
        "admin/content/faq_delete.html",
        status=INVALID if form.is_submitted() else 200,
        entry=entry,
        form=form,
    )


@bp.post("/contenu/faq/<int:entry_id>/deplacer")
@access(ADMIN)
def faq_move(entry_id: int):
    entry = _faq_or_404(entry_id)
    direction = request.form.get("direction", "")
    if not ConfirmForm().validate_on_submit() or direction not in ("up", "down"):
        return render(
            "admin/content/faq.html",
            status=INVALID,
            entries=content_admin.faq_entries(),
            action=ConfirmForm(),
            error=_("This action is not possible: reload the page."),
        )
    perform(lambda: content_admin.move_faq(entry, direction, current_user.id))
    return redirect(url_for("admin.faq") + f"#faq-{entry.id}", 303)


@bp.post("/contenu/faq/<int:entry_id>/publication")
@access(ADMIN)
def faq_publish(entry_id: int):
    entry = _faq_or_404(entry_id)
    if not ConfirmForm().validate_on_submit():
        return render(
            "admin/content/faq.html",
            status=INVALID,
            entries=content_admin.faq_entries(),
            action=ConfirmForm(),
            error=_("This action is not possible: reload the page."),
        )
    published = request.form.get("published") == "1"
    perform(lambda: content_admin.set_faq_published(entry, published, current_user.id))
    flash(
        _("The question is published.") if published else _("The question is hidden from the FAQ."),
        "success",
    )
    return redirect(url_for("admin.faq") + f"#faq-{entry.id}", 303)


# --- pages ----------------------------------------------------------------------------------


@bp.get("/contenu/pages")
@access(ADMIN)
def pages():
    return render("admin/content/pages.html", pages=content_admin.pages())


def _page_data(form: PageForm) -> PageData:
    return PageData(
        title_fr=form.title_fr.data,
        title_en=form.title_en.data,
        body_fr=form.body_fr.data,
        body_en=form.body_en.data,
    )


@bp.route("/contenu/pages/<slug>", methods=["GET", "POST"])
@access(ADMIN)
def page_edit(slug: str):
    page = content_admin.page(slug)
    if page is None:
        abort(404)
    form = PageForm() if request.method == "POST" else PageForm(obj=page)
    return _save_form(
        form,
        lambda: content_admin.update_page(slug, _page_data(form), current_user.id),
        "title_fr",
        saved=lambda _result: (_("The page is saved."), url_for("admin.pages")),
        show=lambda status: render(
            "admin/content/page_form.html", status=status, form=form, edited=page
        ),
    )


# --- events ---------------------------------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment else None


def _aware(moment: datetime | None) -> datetime | None:
    """A time typed in the form is a wall-clock time in Europe/Paris."""
    return moment.replace(tzinfo=PARIS) if moment else None


def _event_form(event: Event | None = None) -> EventForm:
    if request.method == "POST":
        form = EventForm()
    elif event is None:
        form = EventForm(formdata=None)
    else:
        form = EventForm(
            formdata=None,
            data={
                "kind": event.kind,
                "title_fr": event.title_fr,
                "title_en": event.title_en,
                "description_fr": event.description_fr,
                "description_en": event.description_en,
                "starts_at": _local(event.starts_at),
                "ends_at": _local(event.ends_at),
                "place_name": event.place_name,
                "address": event.address,
                "commune": event.commune_id,
                "town": event.town,
                "capacity": event.capacity,
                "registration_enabled": event.registration_enabled,
                "carpool": event.carpool,
                "registration_opens_at": _local(event.registration_opens_at),
                "registration_closes_at": _local(event.registration_closes_at),
            },
        )
    communes = db.session.scalars(select(Commune).order_by(Commune.name)).all()
    form.commune.choices = choices(
        [("", _("Outside the communes (write the town)"))] + [(c.id, c.name) for c in communes]
    )
    return form


def _event_data(form: EventForm) -> EventData:
    return EventData(
        kind=form.kind.data,
        title_fr=form.title_fr.data,
        title_en=form.title_en.data,
        description_fr=form.description_fr.data or "",
        description_en=form.description_en.data or "",
        starts_at=_aware(form.starts_at.data),
        ends_at=_aware(form.ends_at.data),
        place_name=form.place_name.data or "",
        address=form.address.data or "",
        commune_id=form.commune.data,
        town=form.town.data or "",
        capacity=form.capacity.data,
        registration_enabled=form.registration_enabled.data,
        carpool=form.carpool.data,
        registration_opens_at=_aware(form.registration_opens_at.data),
        registration_closes_at=_aware(form.registration_closes_at.data),
    )


@bp.get("/contenu/evenements")
@access(ADMIN)
def events():
    return _events_page()


def _events_page(status: int = 200, error=None):
    """The events' list; with `error` (a refused publish or duplicate), above it."""
    coming, past = events_admin.admin_list()
    people = event_service.people_by_event([e.id for e in coming + past])
    return render(
        "admin/content/events.html",
        status=status,
        coming=coming,
        past=past,
        people=people,
        action=ConfirmForm(),
        kinds=KIND_LABELS,
        error=error,
    )


@bp.route("/contenu/evenements/nouveau", methods=["GET", "POST"])
@access(ADMIN)
def event_new():
    form = _event_form()
    return _save_form(
        form,
        lambda: events_admin.create_event(_event_data(form), current_user.id),
        "title_fr",
        saved=lambda event: (
            _("The event is saved as a draft: publish it when it is ready."),
            url_for("admin.events") + f"#event-{event.id}",
        ),
        show=lambda status: render(
            "admin/content/event_form.html", status=status, form=form, event=None
        ),
    )


@bp.route("/contenu/evenements/<int:event_id>", methods=["GET", "POST"])
@access(ADMIN)
def event_edit(event_id: int):
    event = _event_or_404(event_id)
    form = _event_form(event)
    return _save_form(
        form,
        lambda: events_admin.update_event(event, _event_data(form), current_user.id),
        "title_fr",
        saved=lambda changed: (
            _("The event is saved.") if changed else _("Nothing was changed."),
            url_for("admin.events") + f"#event-{event.id}",
        ),
        show=lambda status: render(
            "admin/content/event_form.html",
            status=status,
            form=form,
            event=event,
            confirmed=event_service.confirmed_people(event.id),
        ),
    )


@bp.post("/contenu/evenements/<int:event_id>/publier")
@access(ADMIN)
def event_publish(event_id: int):
    event = _event_or_404(event_id)
    error = None
    if not ConfirmForm().validate_on_submit():
        error = _("This action is not possible: reload the page.")
    else:
        result = perform(lambda: events_admin.publish_event(event, current_user.id))
        error = result.message
        if result.ok:
            if result.value:
                flash(_("“%(title)s” is published.", title=event.tr("title")), "success")
            return redirect(url_for("admin.events") + f"#event-{event.id}", 303)
    return _events_page(INVALID, error)


@bp.post("/contenu/evenements/<int:event_id>/dupliquer")
@access(ADMIN)
def event_duplicate(event_id: int):
    event = _event_or_404(event_id)
    error = None
    if not ConfirmForm().validate_on_submit():
        error = _("This action is not possible: reload the page.")
    else:
        result = perform(lambda: events_admin.duplicate_for_next_month(event, current_user.id))
        error = result.message
    if error:
        return _events_page(INVALID, error)
    copy = result.value
    flash(
        _(
            "A draft copy is made for %(date)s: check it, then publish it.",
            date=datetime_short(copy.starts_at),
        ),
        "success",
    )
    return redirect(url_for("admin.event_edit", event_id=copy.id), 303)


# --- feedback -------------------------------------------------------------------------------


@bp.get("/contenu/avis")
@access(ADMIN)
def feedback():
    return render("admin/content/feedback.html", rows=content_admin.feedback_table())
