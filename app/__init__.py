"""SSA PATIAS caisse: the application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask, render_template
from flask_login import current_user

from app.config import CONFIGS, ProductionConfig

BLUEPRINTS = (
    ("public", "app.blueprints.public", None),
    ("auth", "app.blueprints.auth", None),
    ("account", "app.blueprints.account", "/compte"),
    ("merchant", "app.blueprints.merchant", "/caisse"),
    ("events", "app.blueprints.events", None),
    ("admin", "app.blueprints.admin", "/admin"),
)


def create_app(config: str | type | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
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
    from app import models  # noqa: F401  (every table registered before migrations look)
    from app.database import engine_options, install_engine_events
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.i18n import register_template_helpers, select_locale

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
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Paris")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    register_template_helpers(app)

    @login_manager.user_loader
    def load_user(token: str):
        from app.models import User

        user_id, _, version = token.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_version != int(version) or not user.is_enabled:
            return None
        return user


def register_blueprints(app: Flask) -> None:
    import importlib

    for _name, module, prefix in BLUEPRINTS:
        try:
            package = importlib.import_module(module)
            importlib.import_module(f"{module}.routes")
        except ModuleNotFoundError as exc:
            if exc.name in (module, f"{module}.routes"):
                continue  # a blueprint not written yet (or still without its routes)
            raise
        app.register_blueprint(package.bp, url_prefix=prefix)


def register_request_hooks(app: Flask) -> None:
    from app.i18n import remember_locale
    from app.security import enforce_access, set_security_headers

    app.before_request(enforce_access)
    app.after_request(remember_locale)
    app.after_request(set_security_headers)

    @app.context_processor
    def inject_globals():
        from app.services.settings import association

        return {"association": association(), "current_user": current_user}


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
        from app.extensions import db

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
    from app.cli import ssa

    app.cli.add_command(ssa)
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
