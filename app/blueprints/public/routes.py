"""Public pages: how it works, communes and the eligibility checker, FAQ, shops, applying to
join, privacy, and the "was this page useful?" widget."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer

from app.blueprints.public import bp
from app.blueprints.public.forms import ApplicationForm, CheckerForm, FeedbackForm, SubscribeForm
from app.content import feedback
from app.content import public as content
from app.core import ratelimit
from app.core.errors import RateLimited
from app.core.extensions import db
from app.core.htmx import is_htmx, render
from app.core.i18n import current_language
from app.core.security import PUBLIC, access
from app.core.settings import association
from app.core.web import perform, safe_next, submit
from app.members import applications, payment
from app.members import communes as commune_service
from app.members.errors import ContributionTooLow, MissingContact, NotEligible
from app.members.models import Application

WINDOW_SECONDS = 600
VISITOR_COOKIE = "visitor"
VISITOR_COOKIE_AGE = 2 * 365 * 24 * 3600


@bp.get("/")
@access(PUBLIC)
def index():
    return render_template(
        "public/index.html",
        communes_count=len(commune_service.eligible_communes()),
        long_name=association().get(f"long_name_{current_language()}", ""),
    )


@bp.get("/healthz")
@access(PUBLIC)
def healthz():
    """Liveness check for the load balancer and the benchmarks: touches no database."""
    return {"status": "ok"}


@bp.get("/communes")
@access(PUBLIC)
def communes():
    """The communes and the eligibility checker: a fragment for htmx, the page for a plain GET."""
    form = CheckerForm(request.args)
    result = (
        commune_service.check_eligibility(form.commune.data) if "commune" in request.args else None
    )
    subscribe = SubscribeForm(
        prefix="informer", formdata=None, commune=(form.commune.data or "")[:120]
    )
    return render(
        "public/communes.html",
        "public/_eligibility.html",
        form=form,
        result=result,
        subscribe=subscribe,
        communes=commune_service.eligible_communes(),
    )


@bp.post("/communes/informer")
@access(PUBLIC)
def subscribe():
    """Stay informed when one's commune is not (yet) in the area."""
    form = SubscribeForm(prefix="informer")
    counted = perform(lambda: _count_public_form("subscribe"))
    if counted.error:
        return _subscribe_refused(form, counted.error)
    result = submit(
        form,
        lambda: commune_service.subscribe(
            form.email.data, form.commune.data or "", current_language()
        ),
    )
    if not result.ok:
        if is_htmx():  # a fragment answers 200, or htmx would not swap it
            return render_template("public/_subscribe.html", subscribe=form)
        return _communes_with(form, result.status)
    if is_htmx():
        return render_template("public/_subscribe.html", subscribe=form, done=True)
    flash(
        _("Thank you! We will write to you when the experiment opens to more communes."), "success"
    )
    return redirect(url_for("public.communes"), 303)


def _subscribe_refused(form, error: RateLimited):
    message = _rate_limit_message(error)
    if is_htmx():
        return render_template("public/_subscribe.html", subscribe=form, refused=message)
    response = _communes_with(form, 429, refused=message)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _communes_with(form, status: int, **context):
    checker = CheckerForm(data={"commune": form.commune.data or ""})
    result = (
        commune_service.check_eligibility(checker.commune.data) if checker.commune.data else None
    )
    return render(
        "public/communes.html",
        None,
        status=status,
        form=checker,
        result=result,
        subscribe=form,
        show_subscribe=True,
        communes=commune_service.eligible_communes(),
        **context,
    )


@bp.get("/faq")
@access(PUBLIC)
def faq():
    return render_template(
        "public/faq.html",
        entries=content.faq_entries(),
        values=content.placeholders(),
        content_blocks=content.blocks,
    )


@bp.get("/commercants")
@access(PUBLIC)
def merchants():
    return render_template(
        "public/merchants.html",
        groups=content.conventioned_merchants(),
        weekday_name=content.weekday_name,
        stall_hours=content.stall_hours,
    )


@bp.get("/confidentialite")
@access(PUBLIC)
def privacy():
    page = content.page("confidentialite")
    if page is None:
        abort(404)
    return render_template(
        "public/page.html",
        page=page,
        blocks=content.blocks(page.tr("body")),
        feedback_page="confidentialite",
    )


@bp.route("/adherer", methods=["GET", "POST"])
@access(PUBLIC)
def apply():
    if request.method == "GET":
        form = ApplicationForm(
            formdata=None, data={"commune": (request.args.get("commune") or "")[:120]}
        )
        return _apply_page(form)
    form = ApplicationForm()
    # Not a perform() of its own: the address's count is committed with the outcome, so a
    # refused application rolls it back with the rest.
    try:
        _count_public_form("apply")
    except RateLimited as error:
        db.session.commit()
        response = _apply_page(form, 429, refused=_rate_limit_message(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    result = submit(
        form,
        lambda: applications.submit_application(
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            commune=form.commune_match.commune if form.commune_match else None,
            address=form.address.data,
            email=form.email.data or None,
            phone=form.phone_normalized,
            contribution_cents=form.contribution_cents,
            language=current_language(),
        ),
        {NotEligible: "commune", ContributionTooLow: "contribution", MissingContact: "email"},
    )
    if not result.valid:
        db.session.commit()  # the count
    if not result.ok:
        return _apply_page(form, result.status)
    session["application_id"] = result.value.id
    return redirect(url_for("public.applied"), 303)


def _apply_page(form: ApplicationForm, status: int = 200, **context):
    return render(
        "public/apply.html",
        None,
        status=status,
        form=form,
        communes=commune_service.eligible_communes(),
        min_contribution=applications.minimum_contribution_cents(),
        **context,
    )


@bp.get("/adherer/merci")
@access(PUBLIC)
def applied():
    """What happens next, after sending an application."""
    application_id = session.get("application_id")
    application = (
        db.session.get(Application, application_id) if isinstance(application_id, int) else None
    )
    return render_template(
        "public/applied.html",
        application=application,
        pay=payment.how_to_pay(None, application.contribution_cents if application else 0),
    )


@bp.post("/avis")
@access(PUBLIC)
def feedback_vote():
    """The "was this page useful?" answer: htmx swaps the widget, a plain POST goes back."""
    form = FeedbackForm()
    useful = request.form.get("useful")
    page = form.page.data or ""
    if not form.validate() or useful not in ("yes", "no") or not feedback.is_page_key(page):
        abort(400)
    back = safe_next(form.next.data) or url_for("public.index")
    visitor, is_new = _visitor()

    def count_and_vote():
        _count_public_form("feedback")
        feedback.vote(page, visitor, useful == "yes")

    result = perform(count_and_vote)
    if result.error:
        if is_htmx():
            return render_template(
                "public/_feedback_done.html", refused=_rate_limit_message(result.error)
            )
        abort(429)
    if is_htmx():
        response = current_app.make_response(render_template("public/_feedback_done.html"))
    else:
        response = redirect(back + "#feedback", 303)
    if is_new:
        _set_visitor_cookie(response, visitor)
    return response


@bp.app_template_filter("nobreak")
def nobreak(text: str) -> str:
    """Phone numbers and short names kept on one line: spaces become no-break spaces."""
    return (text or "").replace(" ", "\u00a0")


@bp.app_context_processor
def feedback_helpers():
    """`feedback_voted(page)` for `public/_feedback.html`, which other areas include too."""

    def feedback_voted(page: str) -> bool:
        visitor = _read_visitor()
        return visitor is not None and feedback.has_voted(page, visitor)

    return {"feedback_voted": feedback_voted}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="feedback-visitor")


def _read_visitor() -> str | None:
    raw = request.cookies.get(VISITOR_COOKIE)
    if not raw:
        return None
    try:
        visitor = _serializer().loads(raw)
    except BadSignature:
        return None
    return visitor if isinstance(visitor, str) and len(visitor) <= 64 else None


def _visitor() -> tuple[str, bool]:
    visitor = _read_visitor()
    if visitor:
        return visitor, False
    return secrets.token_urlsafe(16), True


def _set_visitor_cookie(response, visitor: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        _serializer().dumps(visitor),
        max_age=VISITOR_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )


def _count_public_form(scope: str) -> None:
    ratelimit.hit(
        f"public-{scope}",
        request.remote_addr or "unknown",
        current_app.config["PUBLIC_FORM_LIMIT"],
        WINDOW_SECONDS,
    )


def _rate_limit_message(error: RateLimited) -> str:
    minutes = max(1, -(-error.retry_after // 60))
    return ngettext(
        "Too many forms were sent from this connection in a short time. Please wait %(num)d minute and try again: what you typed is kept.",
        "Too many forms were sent from this connection in a short time. Please wait %(num)d minutes and try again: what you typed is kept.",
        minutes,
    )
