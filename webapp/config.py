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
    SYNC_SWEEP_INTERVAL = 15  # seconds between rounds of worker.py's sweeper thread
    # How often RQ's worker does its maintenance, which is also when a new worker takes over the
    # scheduler of a killed one (RQ's default, 10 minutes, left delayed jobs waiting that long).
    RQ_MAINTENANCE_INTERVAL = 30
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

    # Limits are counted in Redis (REDIS_URL) so every web process shares them (X2); a Redis
    # outage falls back to per-process counting instead of failing sign-ins and bookings.
    RATELIMIT_STORAGE_URI = None  # APO_RATELIMIT_STORAGE_URI, else REDIS_URL
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_BOOKING = "30 per minute"  # per client address, each booking POST
    RATELIMIT_BOOKING_PER_PAGE = "100 per hour"  # new bookings on one page, all clients
    RATELIMIT_BOOKING_PER_EMAIL = "5 per hour"  # new bookings by one customer email
    RATELIMIT_LOGIN = "10 per minute"  # sign-in POSTs per client address
    LOGIN_LOCKOUT = "10 per 15 minutes"  # failed sign-ins per account and client (X2)
    LOGIN_ACCOUNT_THROTTLE = "50 per hour"  # failed sign-ins per account from all clients
    # Reverse proxies in front of the web (X2, X5): how many hops of X-Forwarded-For/-Proto/
    # -Host to trust. 0 trusts none: a client could otherwise pick its own address.
    TRUSTED_PROXIES = 0

    # Above forms_public.largest_booking_body() (about 6.6 MB: 5 text areas of 32,000
    # four-byte characters and 15 checkbox fields of 100 choices), so no valid form meets 413.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

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
    # Google Calendar (K1): the OAuth client of Apo's Google Cloud project. GOOGLE_BASE_URL
    # points every Google endpoint at one origin (the local emulator); empty means Google.
    GOOGLE_CLIENT_ID = None
    GOOGLE_CLIENT_SECRET = None
    GOOGLE_BASE_URL = None
    # Zoom (V1): Apo's user-managed OAuth app; ZOOM_BASE_URL puts zoom.us and api.zoom.us on
    # one origin (the local emulator); empty means Zoom.
    ZOOM_CLIENT_ID = None
    ZOOM_CLIENT_SECRET = None
    ZOOM_BASE_URL = None

    # Calendars (K1-K6). http://host:port origins allowed besides https for CalDAV (the local
    # Radicale of tests and `make run`); comma-separated in the environment.
    CALDAV_TEST_HOSTS: tuple[str, ...] = ()
    CALENDAR_TIMEOUT = 10.0  # seconds per provider call in background syncs
    CALENDAR_CONFIRM_TIMEOUT = 3.0  # the re-check while a customer confirms (K3)
    CALENDAR_CONFIRM_MAX_AGE = 120  # seconds; an older stored copy is re-read on confirm
    # K7: a calendar that cannot answer the live check at confirm in time counts by its stored
    # copy only while that is younger than this; otherwise its member is not offered the slot.
    CALENDAR_LIVE_FALLBACK_MAX_AGE = 600
    CALENDAR_POLL_INTERVAL = 300  # seconds between background syncs of one calendar
    CALENDAR_FAST_POLL_INTERVAL = 60  # CalDAV and Salesforce Events: no push (K8)
    CALENDAR_HORIZON_DAYS = 120  # busy times are expanded this far ahead
    CALENDAR_LINK_MAX_AGE = 7 * 24 * 3600  # the member's own connect link (K1)
    # Domain of booking UIDs (apo-booking-<id>@domain) in invitations and calendar events alike
    # (N3, K4); default: BASE_URL's host.
    ICAL_UID_DOMAIN = None

    # Mail (N5, N6). No MAIL_SERVER: messages are still recorded and wait in the delivery log.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_TLS = "none"  # "none", "starttls" or "ssl" (implicit TLS, usually port 465)
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = "Apo <noreply@apo.invalid>"
    MAIL_TIMEOUT = 10.0
    MAIL_CA_FILE = ""
    MAIL_RETRY_INTERVALS = (60, 300, 1800)
    MAIL_LEASE_SECONDS = 120  # longer than the SMTP timeouts of one send
    # A due message queued this long ago without a run is queued again (its job was lost).
    MAIL_SWEEP_STALE_SECONDS = 30

    # Calendar write-back (K4, K9): retried at these intervals, then at the last one until
    # CALENDAR_WRITE_GIVE_UP_SECONDS after the first try; a write waits (never skipped) while
    # its member's connection is broken and runs once it works again.
    CALENDAR_WRITE_RETRY_INTERVALS = (10, 30, 60)
    CALENDAR_WRITE_LEASE_SECONDS = 60  # longer than CALENDAR_TIMEOUT times the calls of a write
    CALENDAR_WRITE_STALE_SECONDS = 30
    CALENDAR_WRITE_GIVE_UP_SECONDS = 3 * 24 * 3600
    # Online meetings (V3): Zoom runs retried at these intervals.
    MEETING_RETRY_INTERVALS = (10, 30, 60, 300)
    MEETING_LEASE_SECONDS = 60


# Environment variables we read, and the config key each one sets.
ENVIRONMENT = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "APO_BASE_URL": "BASE_URL",
    "APO_DEMO": "DEMO",
    # Apo's outbound addresses, comma-separated, for 事前確認 item 2 (login IP restrictions).
    "APO_OUTBOUND_IPS": "OUTBOUND_IPS",
    # make run only: the emulator's demo Connected App, prefilled on the connect form.
    "APO_DEMO_CONSUMER_KEY": "DEMO_CONSUMER_KEY",
    "APO_DEMO_CONSUMER_SECRET": "DEMO_CONSUMER_SECRET",
    "APO_INSECURE_COOKIES": "INSECURE_COOKIES",
    "APO_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "APO_RATELIMIT_BOOKING": "RATELIMIT_BOOKING",
    "APO_RATELIMIT_BOOKING_PER_PAGE": "RATELIMIT_BOOKING_PER_PAGE",
    "APO_RATELIMIT_BOOKING_PER_EMAIL": "RATELIMIT_BOOKING_PER_EMAIL",
    "APO_RATELIMIT_LOGIN": "RATELIMIT_LOGIN",
    "APO_LOGIN_LOCKOUT": "LOGIN_LOCKOUT",
    "APO_LOGIN_ACCOUNT_THROTTLE": "LOGIN_ACCOUNT_THROTTLE",
    "APO_TRUSTED_PROXIES": "TRUSTED_PROXIES",
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
    "GOOGLE_CLIENT_ID": "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET": "GOOGLE_CLIENT_SECRET",
    "GOOGLE_BASE_URL": "GOOGLE_BASE_URL",
    "ZOOM_CLIENT_ID": "ZOOM_CLIENT_ID",
    "ZOOM_CLIENT_SECRET": "ZOOM_CLIENT_SECRET",
    "ZOOM_BASE_URL": "ZOOM_BASE_URL",
    "APO_CALDAV_TEST_HOSTS": "CALDAV_TEST_HOSTS",
    "APO_CALENDAR_TIMEOUT": "CALENDAR_TIMEOUT",
    "APO_CALENDAR_CONFIRM_TIMEOUT": "CALENDAR_CONFIRM_TIMEOUT",
    "APO_CALENDAR_CONFIRM_MAX_AGE": "CALENDAR_CONFIRM_MAX_AGE",
    "APO_CALENDAR_LIVE_FALLBACK_MAX_AGE": "CALENDAR_LIVE_FALLBACK_MAX_AGE",
    "APO_CALENDAR_POLL_INTERVAL": "CALENDAR_POLL_INTERVAL",
    "APO_CALENDAR_FAST_POLL_INTERVAL": "CALENDAR_FAST_POLL_INTERVAL",
    "APO_CALENDAR_HORIZON_DAYS": "CALENDAR_HORIZON_DAYS",
    # Microsoft 365 calendars (K1): the multi-tenant app, and the hosts (the emulator's in dev).
    "MS_CLIENT_ID": "MS_CLIENT_ID",
    "MS_CLIENT_SECRET": "MS_CLIENT_SECRET",
    "MS_LOGIN_URL": "MS_LOGIN_URL",
    "MS_GRAPH_URL": "MS_GRAPH_URL",
    "MS_TEST_HOSTS": "MS_TEST_HOSTS",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_TLS": "MAIL_TLS",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_SENDER": "MAIL_SENDER",
    "MAIL_TIMEOUT": "MAIL_TIMEOUT",
    "MAIL_CA_FILE": "MAIL_CA_FILE",
    "APO_UID_DOMAIN": "ICAL_UID_DOMAIN",
    "APO_MAIL_RETRY_INTERVALS": "MAIL_RETRY_INTERVALS",
    "APO_MAIL_LEASE_SECONDS": "MAIL_LEASE_SECONDS",
    "APO_MAIL_SWEEP_STALE_SECONDS": "MAIL_SWEEP_STALE_SECONDS",
    "APO_CALENDAR_WRITE_RETRY_INTERVALS": "CALENDAR_WRITE_RETRY_INTERVALS",
    "APO_MEETING_RETRY_INTERVALS": "MEETING_RETRY_INTERVALS",
    "APO_MEETING_LEASE_SECONDS": "MEETING_LEASE_SECONDS",
    "APO_CALENDAR_WRITE_LEASE_SECONDS": "CALENDAR_WRITE_LEASE_SECONDS",
    "APO_CALENDAR_WRITE_STALE_SECONDS": "CALENDAR_WRITE_STALE_SECONDS",
    "APO_CALENDAR_WRITE_GIVE_UP_SECONDS": "CALENDAR_WRITE_GIVE_UP_SECONDS",
    "APO_RQ_MAINTENANCE_INTERVAL": "RQ_MAINTENANCE_INTERVAL",
}


def _strings(raw) -> tuple[str, ...]:
    """A list: "a, b" from the environment, or a list or tuple given in code."""
    parts = raw.split(",") if isinstance(raw, str) else raw
    return tuple(str(part).strip() for part in parts or () if str(part).strip())


def _floats(raw) -> tuple[float, ...]:
    return tuple(float(part) for part in _strings(raw))


def _boolean(raw) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on") if isinstance(raw, str) else bool(raw)


# The one place where config values get their types, whether they came from the environment,
# a test's config or code: services read tuples, floats, ints and bools, never strings to split.
TYPES = {
    "DEMO": _boolean, "INSECURE_COOKIES": _boolean, "TESTING": _boolean,
    "OUTBOUND_IPS": _strings, "SALESFORCE_ALLOWED_INSTANCE_HOSTS": _strings,
    "APO_ENCRYPTION_KEYS": _strings, "CALDAV_TEST_HOSTS": _strings, "MS_TEST_HOSTS": _strings,
    "SYNC_RETRY_INTERVALS": _floats, "MAIL_RETRY_INTERVALS": _floats,
    "CALENDAR_WRITE_RETRY_INTERVALS": _floats,
    "SYNC_LEASE_SECONDS": float, "SYNC_LIMIT_PAUSE_SECONDS": float, "SYNC_USER_CACHE_TTL": float,
    "SYNC_SWEEP_INTERVAL": float, "SYNC_SWEEP_STALE_SECONDS": float, "SYNC_MAX_ATTEMPTS": int,
    "SYNC_ORG_CONCURRENCY": int, "RQ_JOB_TIMEOUT": int, "RQ_MAINTENANCE_INTERVAL": int,
    "SALESFORCE_TIMEOUT": float, "SALESFORCE_DESCRIBE_TTL": float,
    "CALENDAR_TIMEOUT": float, "CALENDAR_CONFIRM_TIMEOUT": float,
    "CALENDAR_CONFIRM_MAX_AGE": float, "CALENDAR_LIVE_FALLBACK_MAX_AGE": float,
    "CALENDAR_POLL_INTERVAL": float, "CALENDAR_FAST_POLL_INTERVAL": float,
    "CALENDAR_HORIZON_DAYS": int, "CALENDAR_LINK_MAX_AGE": int,
    "CALENDAR_WRITE_LEASE_SECONDS": float, "CALENDAR_WRITE_STALE_SECONDS": float,
    "CALENDAR_WRITE_GIVE_UP_SECONDS": float,
    "MEETING_RETRY_INTERVALS": _floats, "MEETING_LEASE_SECONDS": float,
    "MAIL_PORT": int, "TRUSTED_PROXIES": int, "MAIL_TIMEOUT": float, "MAIL_LEASE_SECONDS": float,
    "MAIL_SWEEP_STALE_SECONDS": float,
}


def typed(config) -> None:
    """Give every known key its type in place (create_app calls it once, after overrides).

    Raises:
        ValueError: a value that is not a number where one is needed: the app does not start.
    """
    for key, parse in TYPES.items():
        value = config.get(key)
        if value is not None and value != "":
            try:
                config[key] = parse(value)
            except (TypeError, ValueError):
                raise ValueError(f"configuration {key}: cannot read {value!r}") from None


def from_environ(environ=os.environ) -> dict:
    """Return the config values set by the documented environment variables, typed."""
    values = {}
    for name, key in ENVIRONMENT.items():
        raw = environ.get(name)
        if raw in (None, ""):
            continue
        values[key] = raw
    url = values.get("SQLALCHEMY_DATABASE_URI")
    if url and url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy 2 only accepts the postgresql scheme.
        url = "postgresql://" + url[len("postgres://"):]
    if url and url.startswith("postgresql://"):
        values["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url[len("postgresql://"):]
    typed(values)
    return values


def limiter_storage_uri(redis_url: str) -> str:
    """The `limits` storage URI for a redis-py URL (its unix-socket scheme is spelled apart)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
