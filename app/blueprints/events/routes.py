"""Views of the events: thin, each one loads, validates, calls one service, commits, renders."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_datetime, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.events import bp
from app.blueprints.events.forms import (
    BookingForm,
    ChangeForm,
    ConfirmForm,
    RegistrationForm,
    RideOfferForm,
    RideRequestForm,
)
from app.core.columns import utcnow
from app.core.errors import RateLimited
from app.core.extensions import db
from app.core.htmx import hx_redirect, is_htmx, render
from app.core.i18n import current_language
from app.core.ratelimit import hit
from app.core.security import ADMIN, PUBLIC, access, is_acting_admin
from app.core.settings import association
from app.core.spreadsheet import download
from app.core.web import submit
from app.events import carpool, rules
from app.events import registrations as event_service
from app.events.errors import AlreadyRegistered, NotEnoughPlaces, PrivateLinkExpired
from app.events.models import Event, Registration, Ride
from app.members.models import Commune

KIND_LABELS = {
    "meeting": _l("Working-group meeting"),
    "workshop": _l("Cooking workshop"),
    "screening": _l("Screening"),
    "party": _l("Party"),
    "visit": _l("Visit"),
    "other": _l("Event"),
}
RATE_WINDOW = 600
ALREADY_REGISTERED = _l(
    "You are already registered for this event: change your registration on this page."
)


@dataclass
class Listing:
    """An event in a list, with what is left of its places."""

    event: Event
    places_left: int | None
    waiting: bool

    @property
    def full(self) -> bool:
        return self.places_left == 0


def listings(events: list[Event]) -> list[Listing]:
    counts = event_service.people_by_event(e.id for e in events)
    items = []
    for event in events:
        left = event_service.places_left(event, confirmed=counts.get(event.id, 0))
        items.append(Listing(event, left, left == 0))
    return items


@bp.app_template_global()
def upcoming_events(limit: int = 3) -> list[Listing]:
    """The next published events, for the home page (`events/_upcoming.html`)."""
    return listings(event_service.upcoming(limit, include_cancelled=False))


@bp.app_template_global()
def event_kind(event: Event) -> str:
    return str(KIND_LABELS.get(event.kind, KIND_LABELS["other"]))


# --- Public pages --------------------------------------------------------------------------


@bp.get("/evenements")
@access(PUBLIC)
def index():
    if request.args.get("passes") == "1":
        return past()
    months = event_service.by_month(listings(event_service.upcoming()), key=lambda item: item.event)
    return render("events/index.html", months=months, showing_past=False)


@bp.get("/evenements/passes")
@access(PUBLIC)
def past():
    months = event_service.by_month(listings(event_service.past()), key=lambda item: item.event)
    return render("events/index.html", months=months, showing_past=True)


@bp.get("/evenements.ics")
@access(PUBLIC)
def calendar_feed():
    name = f"{association()['name']} · {_('Events')}"
    body = event_service.calendar_ics(event_service.upcoming(), name, current_language())
    return _ics_response(body, "evenements.ics")


@bp.get("/evenements/<slug>.ics")
@access(PUBLIC)
def event_calendar(slug: str):
    event = _public_event(slug)
    body = event_service.calendar_ics([event], event.tr("title"), current_language())
    return _ics_response(body, f"{event.slug}.ics")


@bp.route("/evenements/<slug>", methods=["GET", "POST"])
@access(PUBLIC)
def detail(slug: str):
    event = _public_event(slug)
    member = _signed_in_member()
    own = event_service.registration_of_member(event, member.id) if member else None
    form = RegistrationForm(communes=_communes(), data=_prefill(member))
    status, problem = 200, None
    if request.method == "POST":
        limited = _throttle()
        if limited is not None:
            status, problem = 429, _too_many(limited)
        elif own is not None:
            # A form of this page (left open, or sent again) would reset the party and the ride
            # needs to its defaults: changes are made on the registration's page, nothing here.
            flash(str(ALREADY_REGISTERED), "info")
            return redirect(url_for("events.manage", token=own.token, _anchor="main"), 303)
        else:
            result = submit(
                form,
                lambda: event_service.register(
                    event,
                    name=form.name.data,
                    email=form.email.data,
                    phone=form.phone.data,
                    commune_id=form.commune.data or None,
                    people=form.people.data,
                    needs_ride=form.needs_ride.data,
                    offers_ride=form.offers_ride.data,
                    language=current_language(),
                    member_id=member.id if member else None,
                    created_by_id=current_user.id if _is_admin() else None,
                    key=form.key.data,
                ),
                {NotEnoughPlaces: "people"},
            )
            if isinstance(result.error, AlreadyRegistered):
                # Whoever typed the address may not own it: the registration stays hidden, its
                # link went to that address (the mail is committed), and the form starts afresh.
                flash(str(result.error.message), "info")
                return redirect(url_for("events.detail", slug=event.slug, _anchor="main"), 303)
            if result.ok:
                flash(_registered_message(result.value), "success")
                # An anchor of its own, or the browser would keep the form's #inscription.
                return redirect(
                    url_for("events.manage", token=result.value.registration.token, _anchor="main"),
                    303,
                )
            status, problem = result.status, result.message
    return render("events/detail.html", status=status, **_detail_context(event, form, own, problem))


# --- The private page of a registration ------------------------------------------------------


@bp.route("/inscription/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def manage(token: str):
    registration = _registration(token)
    change_form = ChangeForm(obj=registration)
    status, problem = 200, None
    if request.method == "POST":
        limited = _throttle()
        if limited is not None:
            status, problem = 429, _too_many(limited)
        else:
            result = submit(
                change_form,
                lambda: event_service.update_registration(
                    registration,
                    people=change_form.people.data,
                    needs_ride=change_form.needs_ride.data,
                    offers_ride=change_form.offers_ride.data,
                ),
                {NotEnoughPlaces: "people"},
            )
            if result.ok:
                flash(_("Your registration is updated."), "success")
                return redirect(url_for("events.manage", token=token), 303)
            status, problem = result.status, result.message
    return _manage_page(registration, status=status, change_form=change_form, problem=problem)


@bp.post("/inscription/<token>/annuler")
@access(PUBLIC)
def cancel(token: str):
    registration = _registration(token)
    form = ConfirmForm()
    limited = _throttle()
    if limited is not None:
        return _manage_page(registration, status=429, problem=_too_many(limited))
    result = submit(form, lambda: event_service.cancel_registration(registration))
    if not result.valid:
        abort(400)
    if result.error:
        return _manage_page(registration, status=result.status, problem=result.message)
    flash(_("Your registration is cancelled. Thank you for letting us know."), "success")
    return redirect(url_for("events.manage", token=token), 303)


@bp.post("/inscription/<token>/trajet")
@access(PUBLIC)
def offer_ride(token: str):
    registration = _registration(token)
    form = RideOfferForm(prefix="offer", points=carpool.pickup_points())
    return _carpool_action(
        registration,
        form,
        "offer_form",
        lambda: carpool.offer_ride(
            registration,
            departure=form.departure.data,
            seats=form.seats.data,
            pickup_point_id=form.pickup_point.data or None,
            pickup_text=form.pickup_text.data or "",
            note=form.note.data or "",
        ),
        _l("Thank you! Your ride is on the carpool board."),
        error_field="departure",
    )


@bp.post("/inscription/<token>/trajet/annuler")
@access(PUBLIC)
def cancel_ride(token: str):
    registration = _registration(token)
    ride = carpool.open_ride_of(registration.id) or abort(404)
    return _carpool_action(
        registration,
        ConfirmForm(),
        None,
        lambda: carpool.cancel_ride(ride),
        _l("Your ride is cancelled; your passengers are told."),
    )


@bp.post("/inscription/<token>/trajets/<int:ride_id>/reserver")
@access(PUBLIC)
def book(token: str, ride_id: int):
    registration = _registration(token)
    ride = db.session.get(Ride, ride_id)
    if ride is None or ride.event_id != registration.event_id:
        abort(404)
    form = BookingForm(prefix=f"ride{ride.id}", party=registration.people)
    return _carpool_action(
        registration,
        form,
        "booking_form",
        lambda: carpool.book(ride, registration, form.seats.data),
        _l("Your seat is booked. The driver's details are below."),
        error_field="seats",
        booking_ride_id=ride.id,
    )


@bp.post("/inscription/<token>/reservation/annuler")
@access(PUBLIC)
def cancel_booking(token: str):
    registration = _registration(token)
    booking = carpool.active_booking_of(registration.id) or abort(404)
    return _carpool_action(
        registration,
        ConfirmForm(),
        None,
        lambda: carpool.cancel_booking(booking),
        _l("Your seat is given up; the driver is told."),
    )


@bp.post("/inscription/<token>/demande")
@access(PUBLIC)
def request_ride(token: str):
    registration = _registration(token)
    form = RideRequestForm(
        prefix="request", points=carpool.pickup_points(), party=registration.people
    )
    return _carpool_action(
        registration,
        form,
        "request_form",
        lambda: carpool.request_ride(
            registration,
            seats=form.seats.data,
            pickup_point_id=form.pickup_point.data or None,
            pickup_text=form.pickup_text.data or "",
        ),
        _l("Your request is on the carpool board: drivers can see it."),
        error_field="seats",
    )


@bp.post("/inscription/<token>/demande/annuler")
@access(PUBLIC)
def cancel_request(token: str):
    registration = _registration(token)
    return _carpool_action(
        registration,
        ConfirmForm(),
        None,
        lambda: carpool.cancel_request(registration),
        _l("Your request for a ride is withdrawn."),
    )


# --- Organisers ----------------------------------------------------------------------------


@bp.get("/evenements/<slug>/organisation")
@access(ADMIN)
def organise(slug: str):
    event = _event_or_404(slug)
    return render("events/organise.html", **_organiser_context(event))


@bp.get("/evenements/<slug>/organisation.csv")
@access(ADMIN)
def organise_csv(slug: str):
    event = _event_or_404(slug)
    context = _organiser_context(event)
    headers = [
        _("Status"),
        _("Waiting position"),
        _("Name"),
        _("People"),
        _("E-mail"),
        _("Phone"),
        _("Commune"),
        _("Needs a ride"),
        _("Offers a ride"),
        _("Carpool"),
        _("Registered on"),
    ]
    rows = []
    for registration in [*context["attendees"], *context["waiting"]]:
        rows.append(
            [
                _("Confirmed") if registration.status == "confirmed" else _("Waiting list"),
                registration.position or "",
                registration.name,
                registration.people,
                registration.email or "",
                registration.phone or "",
                registration.commune.name if registration.commune else "",
                _("yes") if registration.needs_ride else _("no"),
                _("yes") if registration.offers_ride else _("no"),
                _carpool_summary(registration),
                format_datetime(registration.created_at, "dd/MM/yyyy HH:mm"),
            ]
        )
    body = event_service.attendees_csv(event, headers, rows)
    return download(body, f"{event.slug}-inscriptions.csv")


# --- Helpers -------------------------------------------------------------------------------


def _event_or_404(slug: str) -> Event:
    return db.session.scalar(select(Event).where(Event.slug == slug)) or abort(404)


def _public_event(slug: str) -> Event:
    """Drafts exist only for admins (their preview); everyone else gets a 404."""
    event = _event_or_404(slug)
    if event.status == "draft" and not _is_admin():
        abort(404)
    return event


def _registration(token: str) -> Registration:
    if not 20 <= len(token) <= 64:
        abort(404)
    try:
        registration = rules.registration_by_token(token)
    except PrivateLinkExpired as exc:
        abort(render("events/link_expired.html", status=exc.status, message=exc.message))
    return registration or abort(404)


def _is_admin() -> bool:
    return is_acting_admin()


def _signed_in_member():
    """The member behind the signed-in user, if any (admins register other people)."""
    if not current_user.is_authenticated or current_user.role != "member":
        return None
    member = getattr(current_user, "member", None)
    if isinstance(member, list):
        member = member[0] if member else None
    return member


def _prefill(member) -> dict:
    if member is None:
        return {}
    return {
        "name": member.full_name,
        "email": member.email or "",
        "phone": member.phone or "",
        "commune": member.commune_id or 0,
    }


def _communes() -> list[Commune]:
    return list(db.session.scalars(select(Commune).order_by(Commune.name)))


def _throttle() -> RateLimited | None:
    """Count this submission against the client's address; admins are not limited.

    The counter is committed at once, so that failed and refused submissions count too. Not a
    perform(): past the limit, the extra count is rolled back (the limit is reached anyway).
    """
    if _is_admin():
        return None
    try:
        hit(
            "events",
            request.remote_addr or "unknown",
            current_app.config["PUBLIC_FORM_LIMIT"],
            RATE_WINDOW,
        )
    except RateLimited as exc:
        db.session.rollback()
        return exc
    db.session.commit()
    return None


def _too_many(limited: RateLimited) -> str:
    minutes = max(1, (limited.retry_after + 59) // 60)
    return _(
        "Too many submissions from your connection. Please wait %(minutes)d minutes and try again: "
        "what you typed is kept below.",
        minutes=minutes,
    )


def _registered_message(outcome: event_service.Outcome) -> str:
    registration = outcome.registration
    if outcome.unchanged:
        return str(ALREADY_REGISTERED)
    if registration.status == "waiting":
        return _(
            "The event is full: you are number %(position)d on the waiting list. We will tell you as soon as "
            "a place is free.",
            position=registration.position,
        )
    if not outcome.created and not outcome.replayed:
        return _("You were already registered: your registration is updated.")
    return _(
        "You are registered. Keep the address of this page: it lets you change or cancel your registration."
    )


def _detail_context(
    event: Event, form: RegistrationForm, own: Registration | None, problem
) -> dict:
    state = event_service.registration_state(event)
    return {
        "event": event,
        "form": form,
        "state": state,
        "closed_message": event_service.closed_message(event, state) if state != "open" else None,
        "places_left": event_service.places_left(event),
        "waiting_count": len(event_service.waiting_list(event)),
        "board": carpool.board(event) if event.carpool else None,
        "own_registration": own,
        "is_admin": _is_admin(),
        "problem": problem,
    }


def _manage_page(registration: Registration, status: int = 200, **context):
    """The private page (or its carpool section for htmx); never kept in a shared cache."""
    response = render(
        "events/manage.html",
        "events/_carpool.html",
        status=status,
        **_manage_context(registration, **context),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _manage_context(registration: Registration, **overrides) -> dict:
    event = registration.event
    points = carpool.pickup_points()
    ride = carpool.open_ride_of(registration.id)
    booking = carpool.active_booking_of(registration.id)
    board = carpool.board(event) if event.carpool else None
    booking_forms = {}
    if board is not None:
        for offer in board.rides:
            booking_forms[offer.id] = BookingForm(
                prefix=f"ride{offer.id}",
                formdata=None,
                party=registration.people,
                data={"seats": min(registration.people, max(offer.seats_left, 1))},
            )
    if overrides.get("booking_ride_id") and overrides.get("booking_form") is not None:
        booking_forms[overrides["booking_ride_id"]] = overrides["booking_form"]
    request_defaults = {"seats": registration.people}
    if registration.ride_request is not None:
        request_defaults |= {
            "pickup_point": registration.ride_request.pickup_point_id or 0,
            "pickup_text": registration.ride_request.pickup_text,
            "seats": registration.ride_request.seats,
        }
    else:
        default = carpool.default_point(registration.commune_id)
        request_defaults["pickup_point"] = (
            default.id if default else (points[0].id if points else 0)
        )
    context = {
        "registration": registration,
        "event": event,
        "state": event_service.registration_state(event),
        "started": event.starts_at <= utcnow(),
        "places_left": event_service.places_left(event),
        "change_form": ChangeForm(obj=registration, formdata=None),
        "cancel_form": ConfirmForm(formdata=None),
        "offer_form": RideOfferForm(
            prefix="offer",
            formdata=None,
            points=points,
            data={"pickup_point": _default_point_id(registration, points)},
        ),
        "request_form": RideRequestForm(
            prefix="request",
            formdata=None,
            points=points,
            data=request_defaults,
            party=registration.people,
        ),
        "booking_forms": booking_forms,
        "ride": ride,
        "passengers": ride.active_bookings if ride else [],
        "booking": booking,
        "board": board,
        "problem": None,
        "carpool_problem": None,
        "message": None,
    }
    context.update({k: v for k, v in overrides.items() if k != "booking_form"})
    return context


def _default_point_id(registration: Registration, points) -> int:
    default = carpool.default_point(registration.commune_id)
    if default is not None:
        return default.id
    return points[0].id if points else 0


def _carpool_action(
    registration: Registration,
    form,
    form_name: str | None,
    action,
    done_message,
    error_field: str | None = None,
    **extra,
):
    """The carpool buttons of the private page: without JavaScript they post and redirect; with
    htmx they get the carpool section back, with the message or the error inside."""
    limited = _throttle()
    if limited is not None:
        return _manage_page(
            registration,
            status=429,
            carpool_problem=_too_many(limited),
            **_keep(form_name, form),
            **extra,
        )
    result = submit(form, action, error_field if form_name else None)
    if not result.valid:
        if form_name is None:
            abort(400)
        return _manage_page(registration, status=result.status, **_keep(form_name, form), **extra)
    if result.error:
        # Shown in the carpool section, and on the form's field when it has one.
        return _manage_page(
            registration,
            status=result.status,
            carpool_problem=str(result.error.message),
            **_keep(form_name, form),
            **extra,
        )
    if is_htmx():
        return _manage_page(registration, message=str(done_message))
    flash(str(done_message), "success")
    return hx_redirect(url_for("events.manage", token=registration.token) + "#carpool")


def _keep(form_name: str | None, form) -> dict:
    return {form_name: form} if form_name else {}


def _carpool_summary(registration: Registration) -> str:
    ride = carpool.open_ride_of(registration.id)
    if ride is not None:
        return _(
            "Driver from %(place)s at %(time)s, %(taken)d/%(seats)d seats taken",
            place=ride.pickup,
            time=format_time(ride.departs_at, "HH:mm"),
            taken=ride.seats_taken,
            seats=ride.seats,
        )
    booking = carpool.active_booking_of(registration.id)
    if booking is not None:
        return _(
            "Passenger of %(driver)s from %(place)s at %(time)s",
            driver=booking.ride.driver.name,
            place=booking.ride.pickup,
            time=format_time(booking.ride.departs_at, "HH:mm"),
        )
    if registration.ride_request is not None and registration.ride_request.status == "open":
        return _("Looking for a ride from %(place)s", place=registration.ride_request.pickup)
    return ""


def _organiser_context(event: Event) -> dict:
    rides = list(
        db.session.scalars(
            select(Ride)
            .where(Ride.event_id == event.id, Ride.status == "open")
            .order_by(Ride.departs_at, Ride.id)
        )
    )
    return {
        "event": event,
        "attendees": event_service.attendees(event),
        "waiting": event_service.waiting_list(event),
        "confirmed_people": event_service.confirmed_people(event.id),
        "places_left": event_service.places_left(event),
        "rides": rides,
        "board": carpool.board(event),
        "carpool_summary": _carpool_summary,
        "cancelled_count": db.session.scalar(
            select(db.func.count())
            .select_from(Registration)
            .where(Registration.event_id == event.id, Registration.status == "cancelled")
        ),
    }


def _ics_response(body: bytes, filename: str) -> Response:
    return download(body, filename, "text/calendar; charset=utf-8", inline=True)
