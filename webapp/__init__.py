"""Apo: team booking pages whose bookings land in the organization's Salesforce org."""

import os

from flask import Flask

from webapp.config import Config, from_environ, limiter_storage_uri, typed
from webapp.private_files import private_sqlite_database


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app: config, extensions, blueprints. No network I/O happens here."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    app.config.update(from_environ())
    if test_config:
        app.config.update(test_config)
    typed(app.config)
    _finish_config(app)

    from webapp import cli, jobs, settings
    from webapp.extensions import csrf, db, limiter, login_manager, migrate
    from webapp.views import register_blueprints
    from webapp.web import access_log, embed, i18n, security_headers, templating

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    security_headers.init_app(app)
    embed.init_app(app)
    access_log.init_app(app)
    jobs.init_app(app)
    cli.init_app(app)
    settings.init_app(app)
    register_blueprints(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _finish_config(app: Flask) -> None:
    """Fail fast on missing secrets and derive the values other settings depend on."""
    if not app.config.get("SECRET_KEY"):
        if not (app.config.get("TESTING") or app.config.get("DEMO")):
            raise RuntimeError("SECRET_KEY must be set (see README, Configuration).")
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "apo.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    private_sqlite_database(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config["REDIS_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Workers, the sweeper and the web share one file: wait for its write lock instead of
        # failing a job after pysqlite's 5 s default (the job then waited for the sweeper).
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config.get("INSECURE_COOKIES"):
        # Plain-HTTP local runs (make run) cannot send Secure cookies back.
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
