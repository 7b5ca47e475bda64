"""SSA PATIAS caisse: the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask, render_template, session
from flask_login import current_user

from app.core.config import CONFIGS, ProductionConfig


def create_app(config: str | type | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    from app.core.web import IdConverter

    app.url_map.converters["int"] = IdConverter
    config_class = _config_class(config)
    app.config.from_object(config_class)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.update(overrides)
    if issubclass(config_class, ProductionConfig):
        ProductionConfig.check(app.config)

    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app.core.accesslog import mask_werkzeug_log

    mask_werkzeug_log()  # the development server's access log: no private link in full

    from app.core import static

    static.install(app)  # hashed, compressed, cached for a year: the same in every configuration

    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errors(app)
    register_cli(app)
    return app


def _config_class(config):
    if isinstance(config, type):
        return config
    name = config or os.environ.get("FLASK_CONFIG", "development")
    if name not in CONFIGS:
        raise ValueError(f"unknown configuration {name!r}: use one of {', '.join(CONFIGS)}")
    return CONFIGS[name]


def register_extensions(app: Flask) -> None:
    import_models()
    from app.core.database import engine_options, install_engine_events
    from app.core.extensions import babel, compress, csrf, db, login_manager, migrate
    from app.core.i18n import register_template_helpers, select_locale
    from app.core.session_cookie import SessionCookie

    install_engine_events()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    )
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    # Registered first, so its after_request runs last, on the response as the other hooks left it.
    compress.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Paris")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    register_template_helpers(app)

    app.session_interface = SessionCookie()

    @login_manager.user_loader
    def load_user(token: str):
        """The user and their sign-in in one query; None for an ended one (`members.sessions`).
        A `@light_user` view (the register's sale) gets the user's columns read by hand."""
        from app.core.security import wants_light_user
        from app.members import sessions

        return sessions.load(token, light=wants_light_user())


def import_models() -> None:
    """Register every domain's tables on `db.metadata` before `create_all` or Alembic look."""
    from app.audit import models as _audit  # noqa: F401
    from app.content import models as _content  # noqa: F401
    from app.core import mail as _mail  # noqa: F401
    from app.core import ratelimit as _ratelimit  # noqa: F401
    from app.core import settings as _settings  # noqa: F401
    from app.events import models as _events  # noqa: F401
    from app.ledger import models as _ledger  # noqa: F401
    from app.members import models as _members  # noqa: F401
    from app.merchants import models as _merchants  # noqa: F401


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience, named here: a missing module fails at start-up."""
    from app.blueprints.account import routes as account
    from app.blueprints.admin import routes as admin
    from app.blueprints.auth import routes as auth
    from app.blueprints.events import routes as events
    from app.blueprints.merchant import routes as merchant
    from app.blueprints.public import routes as public

    for views, prefix in (
        (public, None),
        (auth, None),
        (account, "/compte"),
        (merchant, "/caisse"),
        (events, None),
        (admin, "/admin"),
    ):
        app.register_blueprint(views.bp, url_prefix=prefix)


def register_request_hooks(app: Flask) -> None:
    from app.core.i18n import remember_locale
    from app.core.security import (
        SecondFactor,
        enforce_access,
        set_security_headers,
        use_second_factor,
    )
    from app.members import twofactor

    use_second_factor(
        app,
        SecondFactor(
            verified=lambda: twofactor.session_is_verified(
                current_user, session.get(twofactor.SESSION_KEY)
            ),
            enrolled=lambda: twofactor.is_enrolled(current_user),
        ),
    )
    app.before_request(enforce_access)
    app.after_request(remember_locale)
    app.after_request(set_security_headers)

    @app.context_processor
    def inject_globals():
        from app.core.settings import association, scheduled_allocation

        values = association()
        return {
            "association": values,
            # The allocation in effect this month (the schedule's amount, not the first one).
            "allocation_now": scheduled_allocation(values),
            "current_user": current_user,
        }


def register_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    def error_page(code: int):
        def handler(error):
            return render_template(f"errors/{code}.html", error=error), code

        return handler

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, error_page(code))

    @app.errorhandler(500)
    def server_error(error):
        from app.core.extensions import db

        # A failed statement leaves the transaction unusable (PostgreSQL): the layout reads the
        # association's settings, so roll back first; if the database is down, draw a page without it.
        try:
            db.session.rollback()
            return render_template("errors/500.html", error=error), 500
        except Exception:
            app.logger.exception("the full error page could not be drawn")
            # Straight from the Jinja environment: the context processors read the database.
            return app.jinja_env.get_template("errors/500_minimal.html").render(), 500

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/csrf.html", error=error), 400


def register_cli(app: Flask) -> None:
    from app.backups import cli as _backups  # noqa: F401
    from app.core.cli import ssa
    from app.demo import cli as _demo  # noqa: F401  (each module adds its commands to `ssa`)
    from app.events import cli as _events  # noqa: F401
    from app.ledger import cli as _ledger  # noqa: F401
    from app.members import cli as _members  # noqa: F401
    from app.setup import cli as _setup  # noqa: F401

    app.cli.add_command(ssa)
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
