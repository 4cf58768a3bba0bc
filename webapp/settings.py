"""The services' settings of the running app, built once from its config (views, jobs, CLI).

Services take these as arguments and never read ``current_app`` themselves: each part is parsed
by its own package (``services/salesforce/settings.py``, ``services/sync/settings.py``). The
object is rebuilt only when a config value it reads changes (tests and ``flask`` commands may
change config after the factory).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from webapp.config import typed
from webapp.services import outbox
from webapp.services.calendars.options import CalendarOptions
from webapp.services.notifications import NotificationSettings
from webapp.services.salesforce.settings import SalesforceSettings
from webapp.services.sync.settings import SyncSettings


@dataclass(frozen=True)
class Settings:
    salesforce: SalesforceSettings
    sync: SyncSettings
    calendars: CalendarOptions
    notifications: NotificationSettings
    outbox: dict[outbox.Kind, outbox.Policy]  # lease, retries and staleness per kind of work

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(SalesforceSettings.from_config(config), SyncSettings.from_config(config),
                   CalendarOptions.from_config(config), NotificationSettings.from_config(config),
                   outbox.policies(config))

_KEYS = ("SALESFORCE_LOGIN_URL", "SALESFORCE_SANDBOX_LOGIN_URL",
         "SALESFORCE_ALLOWED_INSTANCE_HOSTS", "SALESFORCE_TIMEOUT", "SALESFORCE_API_VERSION",
         "SALESFORCE_DESCRIBE_TTL", "OUTBOUND_IPS", "APO_ENCRYPTION_KEYS", "SECRET_KEY", "DEMO",
         "TESTING",
         "SYNC_RETRY_INTERVALS", "SYNC_LEASE_SECONDS", "SYNC_LIMIT_PAUSE_SECONDS",
         "SYNC_USER_CACHE_TTL", "SYNC_MAX_ATTEMPTS", "SYNC_SWEEP_STALE_SECONDS",
         "BASE_URL", "CALDAV_TEST_HOSTS", "CALENDAR_TIMEOUT", "CALENDAR_CONFIRM_TIMEOUT",
         "CALENDAR_CONFIRM_MAX_AGE", "CALENDAR_LIVE_FALLBACK_MAX_AGE", "CALENDAR_POLL_INTERVAL",
         "CALENDAR_FAST_POLL_INTERVAL",
         "CALENDAR_HORIZON_DAYS",
         "CALENDAR_LINK_MAX_AGE", "ICAL_UID_DOMAIN", "MAIL_SERVER", "MAIL_PORT", "MAIL_TLS",
         "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SENDER", "MAIL_TIMEOUT", "MAIL_CA_FILE",
         "MAIL_RETRY_INTERVALS",
         "MAIL_LEASE_SECONDS", "MAIL_SWEEP_STALE_SECONDS", "SYNC_ORG_CONCURRENCY",
         "CALENDAR_WRITE_RETRY_INTERVALS", "CALENDAR_WRITE_LEASE_SECONDS",
         "CALENDAR_WRITE_STALE_SECONDS", "CALENDAR_WRITE_GIVE_UP_SECONDS",
         "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GOOGLE_BASE_URL", "MS_CLIENT_ID",
         "MS_CLIENT_SECRET", "MS_LOGIN_URL", "MS_GRAPH_URL", "MS_TEST_HOSTS", "ZOOM_CLIENT_ID",
         "ZOOM_CLIENT_SECRET", "ZOOM_BASE_URL", "MEETING_RETRY_INTERVALS",
         "MEETING_LEASE_SECONDS")


def init_app(app: Flask) -> None:
    """Build the settings at startup: a malformed or missing encryption key fails here (C8)."""
    settings_of(app)


def settings_of(app: Flask) -> Settings:
    stamp = tuple(repr(app.config.get(key)) for key in _KEYS)
    cached = app.extensions.get("apo_settings")
    if cached is None or cached[0] != stamp:
        # A value set after the factory (a test, a `flask` command) gets its type here too.
        typed(app.config)
        stamp = tuple(repr(app.config.get(key)) for key in _KEYS)
        cached = app.extensions["apo_settings"] = (stamp, Settings.from_config(app.config))
    return cached[1]


def current() -> Settings:
    """The settings of the app handling this request or job."""
    return settings_of(current_app._get_current_object())
