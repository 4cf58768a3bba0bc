"""Non-secret defaults. Secrets and deployment settings come from the environment (see README)."""

import os

# The time zone of a new organization and member, and of dates shown without one.
DEFAULT_TIMEZONE = "Asia/Tokyo"


class Config:
    # Secrets are never defaulted: create_app refuses to start without SECRET_KEY (except tests).
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # DATABASE_URL, else SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = "redis://127.0.0.1:6379/0"
    RQ_QUEUE = "apo-sync"
    RQ_JOB_TIMEOUT = 120
    RQ_FAILURE_TTL = 7 * 24 * 3600
    # The sync engine's knobs (SYNC_RETRY_INTERVALS, SYNC_LEASE_SECONDS...) default in
    # services/sync/settings.py (SyncSettings), the one place that reads them.
    SYNC_SWEEP_INTERVAL = 60  # worker.py's sweeper process
    REDIS_SOCKET_TIMEOUT = 2.0

    BASE_URL = None  # public origin used for callback URLs and links in e-mails
    DEMO = False

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    # The signed token lives as long as the session; pages are not boosted, so no stale forms.
    WTF_CSRF_TIME_LIMIT = None

    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = DEFAULT_TIMEZONE
    LANGUAGES = ("ja", "en")

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_BOOKING = "30 per minute"
    RATELIMIT_LOGIN = "10 per minute"

    MAX_CONTENT_LENGTH = 256 * 1024

    # Salesforce (C3). Login hosts come from config so tests and the demo use the emulator.
    SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
    SALESFORCE_SANDBOX_LOGIN_URL = "https://test.salesforce.com"
    # Extra instance/login origins accepted besides *.salesforce.com / *.force.com, e.g.
    # "127.0.0.1:5101" for the emulator; comma-separated in the environment.
    SALESFORCE_ALLOWED_INSTANCE_HOSTS: tuple[str, ...] = ()
    # SALESFORCE_TIMEOUT, SALESFORCE_API_VERSION and SALESFORCE_DESCRIBE_TTL default in
    # services/salesforce/settings.py (SalesforceSettings, from the integration constants).
    # Comma-separated Fernet keys, the first one encrypts (C8). Never defaulted in production.
    APO_ENCRYPTION_KEYS = None


# Environment variables we read, and the config key each one sets.
ENVIRONMENT = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "APO_BASE_URL": "BASE_URL",
    "APO_DEMO": "DEMO",
    "APO_INSECURE_COOKIES": "INSECURE_COOKIES",
    "APO_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "APO_RQ_QUEUE": "RQ_QUEUE",
    # Sync engine knobs (strings; intervals comma-separated), e.g. short ones in fault tests.
    "APO_SYNC_RETRY_INTERVALS": "SYNC_RETRY_INTERVALS",
    "APO_SYNC_LEASE_SECONDS": "SYNC_LEASE_SECONDS",
    "APO_SYNC_LIMIT_PAUSE_SECONDS": "SYNC_LIMIT_PAUSE_SECONDS",
    "APO_SYNC_SWEEP_INTERVAL": "SYNC_SWEEP_INTERVAL",
    "APO_SYNC_SWEEP_STALE_SECONDS": "SYNC_SWEEP_STALE_SECONDS",
    "APO_SYNC_ORG_CONCURRENCY": "SYNC_ORG_CONCURRENCY",
    "APO_RQ_JOB_TIMEOUT": "RQ_JOB_TIMEOUT",
    "SALESFORCE_LOGIN_URL": "SALESFORCE_LOGIN_URL",
    "SALESFORCE_SANDBOX_LOGIN_URL": "SALESFORCE_SANDBOX_LOGIN_URL",
    "SALESFORCE_ALLOWED_INSTANCE_HOSTS": "SALESFORCE_ALLOWED_INSTANCE_HOSTS",
    "SALESFORCE_TIMEOUT": "SALESFORCE_TIMEOUT",
    "SALESFORCE_API_VERSION": "SALESFORCE_API_VERSION",
    "APO_ENCRYPTION_KEYS": "APO_ENCRYPTION_KEYS",
}

_BOOLEAN = {"DEMO", "INSECURE_COOKIES"}


def from_environ(environ=os.environ) -> dict:
    """Return the config values set by the documented environment variables."""
    values = {}
    for name, key in ENVIRONMENT.items():
        raw = environ.get(name)
        if raw in (None, ""):
            continue
        values[key] = raw.lower() in ("1", "true", "yes", "on") if key in _BOOLEAN else raw
    url = values.get("SQLALCHEMY_DATABASE_URI")
    if url and url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy 2 only accepts the postgresql scheme.
        url = "postgresql://" + url[len("postgres://"):]
    if url and url.startswith("postgresql://"):
        values["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url[len("postgresql://"):]
    return values
