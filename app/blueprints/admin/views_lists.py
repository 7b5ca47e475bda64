"""The association's lists `/admin/parametres/...`: communes (name, postcode, delegated
communes; add, rename, retire), product categories (add, rename, reorder, remove when unused),
carpool pickup points (add, rename, reorder, remove when unused), markets (place, day, hours, the
merchants who stand there; closed rather than deleted). Each list is one page with its add form;
each entry has an edit page. Every change is audited by its operation."""

from __future__ import annotations

from babel.dates import get_day_names
from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    CategoryForm,
    CommuneForm,
    ConfirmForm,
    MarketForm,
    PickupPointForm,
    choices,
)
from app.core.extensions import db
from app.core.htmx import render
from app.core.security import ADMIN, access
from app.core.web import perform, submit
from app.events import admin as events_admin
from app.events.models import PickupPoint
from app.members import communes as communes_admin
from app.members.communes import CommuneData
from app.members.models import Commune
from app.merchants import admin as merchants_admin
from app.merchants.admin import MarketData, parse_time
from app.merchants.models import Category, Market, Merchant

INVALID = 422


def _get_or_404(model, entry_id: int):
    return db.session.get(model, entry_id) or abort(404)


def _done(message: str, endpoint: str, anchor: str = ""):
    flash(message, "success")
    return redirect(url_for(endpoint) + anchor, 303)


def _direction() -> str:
    value = request.form.get("direction", "")
    return value if value in ("up", "down") else ""


def weekday_names() -> list[str]:
    names = get_day_names("wide", locale=get_locale())
    return [names[day] for day in range(7)]


# --- communes ---------------------------------------------------------------------------------


def _commune_data(form: CommuneForm) -> CommuneData:
    return CommuneData(form.name.data or "", form.postcode.data or "", form.aliases.data or "")


def _communes_page(form: CommuneForm, status: int = 200):
    return render(
        "admin/lists/communes.html",
        status=status,
        form=form,
        communes=communes_admin.all_communes(),
        action=ConfirmForm(),
    )


@bp.route("/parametres/communes", methods=["GET", "POST"])
@access(ADMIN)
def list_communes():
    form = CommuneForm()
    result = submit(
        form,
        lambda: communes_admin.create_commune(_commune_data(form), current_user.id),
        "name",
    )
    if result.ok:
        commune = result.value
        return _done(
            _("%(name)s is added to the communes.", name=commune.name),
            "admin.list_communes",
            f"#commune-{commune.id}",
        )
    return _communes_page(form, result.status)


@bp.route("/parametres/communes/<int:commune_id>", methods=["GET", "POST"])
@access(ADMIN)
def list_commune_edit(commune_id: int):
    commune = _get_or_404(Commune, commune_id)
    if request.method == "POST":
        form = CommuneForm()
    else:
        form = CommuneForm(
            data={
                "name": commune.name,
                "postcode": commune.postcode,
                "aliases": "\n".join(commune.aliases or ()),
            }
        )
    result = submit(
        form,
        lambda: communes_admin.update_commune(commune, _commune_data(form), current_user.id),
        "name",
    )
    if result.ok:
        return _done(
            _("%(name)s is saved.", name=commune.name),
            "admin.list_communes",
            f"#commune-{commune.id}",
        )
    return render("admin/lists/commune_form.html", status=result.status, form=form, commune=commune)


@bp.post("/parametres/communes/<int:commune_id>/eligibilite")
@access(ADMIN)
def list_commune_eligible(commune_id: int):
    commune = _get_or_404(Commune, commune_id)
    eligible = request.form.get("eligible") == "1"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: communes_admin.set_commune_eligible(commune, eligible, current_user.id))
    message = (
        _("%(name)s is open to applications again.", name=commune.name)
        if eligible
        else _(
            "%(name)s is retired: no longer offered to new applicants; its members keep it.",
            name=commune.name,
        )
    )
    return _done(message, "admin.list_communes", f"#commune-{commune.id}")


# --- product categories -----------------------------------------------------------------------


def _categories_page(form: CategoryForm, status: int = 200, error: str | None = None):
    found = merchants_admin.categories()
    return render(
        "admin/lists/categories.html",
        status=status,
        form=form,
        categories=found,
        in_use={c.id for c in found if merchants_admin.category_in_use(c)},
        action=ConfirmForm(),
        error=error,
    )


@bp.route("/parametres/categories", methods=["GET", "POST"])
@access(ADMIN)
def list_categories():
    form = CategoryForm()
    result = submit(
        form,
        lambda: merchants_admin.create_category(
            form.name_fr.data or "", form.name_en.data or "", current_user.id
        ),
        "name_fr",
    )
    if result.ok:
        return _done(
            _("The category %(name)s is added.", name=result.value.tr("name")),
            "admin.list_categories",
            f"#category-{result.value.id}",
        )
    return _categories_page(form, result.status)


@bp.route("/parametres/categories/<int:category_id>", methods=["GET", "POST"])
@access(ADMIN)
def list_category_edit(category_id: int):
    category = _get_or_404(Category, category_id)
    if request.method == "POST":
        form = CategoryForm()
    else:
        form = CategoryForm(data={"name_fr": category.name_fr, "name_en": category.name_en})
    result = submit(
        form,
        lambda: merchants_admin.rename_category(
            category, form.name_fr.data or "", form.name_en.data or "", current_user.id
        ),
        "name_fr",
    )
    if result.ok:
        return _done(
            _("The category %(name)s is saved.", name=category.tr("name")),
            "admin.list_categories",
            f"#category-{category.id}",
        )
    return render(
        "admin/lists/category_form.html", status=result.status, form=form, category=category
    )


@bp.post("/parametres/categories/<int:category_id>/deplacer")
@access(ADMIN)
def list_category_move(category_id: int):
    category = _get_or_404(Category, category_id)
    direction = _direction()
    if not ConfirmForm().validate_on_submit() or not direction:
        abort(400)
    perform(lambda: merchants_admin.move_category(category, direction, current_user.id))
    return redirect(url_for("admin.list_categories") + f"#category-{category.id}", 303)


@bp.post("/parametres/categories/<int:category_id>/supprimer")
@access(ADMIN)
def list_category_delete(category_id: int):
    category = _get_or_404(Category, category_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = category.tr("name")
    result = perform(lambda: merchants_admin.delete_category(category, current_user.id))
    if result.ok:
        return _done(_("The category %(name)s is removed.", name=name), "admin.list_categories")
    return _categories_page(CategoryForm(formdata=None), result.status, result.message)


# --- carpool pickup points ----------------------------------------------------------------------


def _point_form(point: PickupPoint | None = None) -> PickupPointForm:
    if request.method == "POST" or point is None:
        form = PickupPointForm()
    else:
        form = PickupPointForm(data={"name": point.name, "commune": point.commune_id})
    offered = communes_admin.offered_communes(keep=point.commune_id if point else None)
    form.commune.choices = choices([(0, _("Choose…"))] + [(c.id, c.name) for c in offered])
    return form


def _points_page(form: PickupPointForm, status: int = 200, error: str | None = None):
    found = events_admin.pickup_points()
    return render(
        "admin/lists/pickup_points.html",
        status=status,
        form=form,
        points=found,
        in_use={p.id for p in found if events_admin.pickup_point_in_use(p)},
        action=ConfirmForm(),
        error=error,
    )


@bp.route("/parametres/points-de-covoiturage", methods=["GET", "POST"])
@access(ADMIN)
def list_pickup_points():
    form = _point_form()
    result = submit(
        form,
        lambda: events_admin.create_pickup_point(
            form.name.data or "", form.commune.data, current_user.id
        ),
        "name",
    )
    if result.ok:
        return _done(
            _("The pickup point %(name)s is added.", name=result.value.name),
            "admin.list_pickup_points",
            f"#point-{result.value.id}",
        )
    return _points_page(form, result.status)


@bp.route("/parametres/points-de-covoiturage/<int:point_id>", methods=["GET", "POST"])
@access(ADMIN)
def list_pickup_point_edit(point_id: int):
    point = _get_or_404(PickupPoint, point_id)
    form = _point_form(point)
    result = submit(
        form,
        lambda: events_admin.update_pickup_point(
            point, form.name.data or "", form.commune.data, current_user.id
        ),
        "name",
    )
    if result.ok:
        return _done(
            _("The pickup point %(name)s is saved.", name=point.name),
            "admin.list_pickup_points",
            f"#point-{point.id}",
        )
    return render(
        "admin/lists/pickup_point_form.html", status=result.status, form=form, point=point
    )


@bp.post("/parametres/points-de-covoiturage/<int:point_id>/deplacer")
@access(ADMIN)
def list_pickup_point_move(point_id: int):
    point = _get_or_404(PickupPoint, point_id)
    direction = _direction()
    if not ConfirmForm().validate_on_submit() or not direction:
        abort(400)
    perform(lambda: events_admin.move_pickup_point(point, direction, current_user.id))
    return redirect(url_for("admin.list_pickup_points") + f"#point-{point.id}", 303)


@bp.post("/parametres/points-de-covoiturage/<int:point_id>/supprimer")
@access(ADMIN)
def list_pickup_point_delete(point_id: int):
    point = _get_or_404(PickupPoint, point_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = point.name
    result = perform(lambda: events_admin.delete_pickup_point(point, current_user.id))
    if result.ok:
        return _done(
            _("The pickup point %(name)s is removed.", name=name), "admin.list_pickup_points"
        )
    return _points_page(_point_form(), result.status, result.message)


# --- markets ----------------------------------------------------------------------------------


def _market_form(market: Market | None = None) -> MarketForm:
    if request.method == "POST" or market is None:
        form = MarketForm()
    else:
        form = MarketForm(
            data={
                "place": market.place,
                "commune": market.commune_id or 0,
                "weekday": market.weekday,
                "opens": market.opens.strftime("%H:%M"),
                "closes": market.closes.strftime("%H:%M"),
                "merchants": [stall.merchant_id for stall in market.stalls],
            }
        )
    offered = communes_admin.offered_communes(keep=market.commune_id if market else None)
    form.commune.choices = choices([(0, _("None"))] + [(c.id, c.name) for c in offered])
    form.weekday.choices = choices(list(enumerate(weekday_names())))
    merchants = db.session.scalars(select(Merchant).order_by(Merchant.name)).all()
    form.merchants.choices = choices([(m.id, m.name) for m in merchants])
    return form


def _market_data(form: MarketForm) -> MarketData:
    return MarketData(
        place=form.place.data or "",
        weekday=form.weekday.data,
        opens=parse_time(form.opens.data),
        closes=parse_time(form.closes.data),
        commune_id=form.commune.data or None,
    )


@bp.route("/parametres/marches", methods=["GET", "POST"])
@access(ADMIN)
def list_markets():
    form = _market_form()
    result = submit(
        form,
        lambda: merchants_admin.create_market(
            _market_data(form), list(form.merchants.data or []), current_user.id
        ),
        "place",
    )
    if result.ok:
        return _done(
            _("The market %(place)s is added.", place=result.value.place),
            "admin.list_markets",
            f"#market-{result.value.id}",
        )
    return render(
        "admin/lists/markets.html",
        status=result.status,
        form=form,
        markets=merchants_admin.markets(),
        weekdays=weekday_names(),
        action=ConfirmForm(),
    )


@bp.route("/parametres/marches/<int:market_id>", methods=["GET", "POST"])
@access(ADMIN)
def list_market_edit(market_id: int):
    market = _get_or_404(Market, market_id)
    form = _market_form(market)
    result = submit(
        form,
        lambda: merchants_admin.update_market(
            market, _market_data(form), list(form.merchants.data or []), current_user.id
        ),
        "place",
    )
    if result.ok:
        return _done(
            _("The market %(place)s is saved.", place=market.place),
            "admin.list_markets",
            f"#market-{market.id}",
        )
    return render("admin/lists/market_form.html", status=result.status, form=form, market=market)


@bp.post("/parametres/marches/<int:market_id>/tenue")
@access(ADMIN)
def list_market_active(market_id: int):
    market = _get_or_404(Market, market_id)
    active = request.form.get("active") == "1"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: merchants_admin.set_market_active(market, active, current_user.id))
    message = (
        _("The market %(place)s is held again.", place=market.place)
        if active
        else _("The market %(place)s is closed: no longer shown.", place=market.place)
    )
    return _done(message, "admin.list_markets", f"#market-{market.id}")
