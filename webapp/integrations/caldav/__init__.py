"""CalDAV: the only package that speaks CalDAV (K1-K4). Public names re-exported here."""

from webapp.integrations.caldav.client import CalDAVClient  # noqa: F401
from webapp.integrations.caldav.urls import UnsafeCalendarURL, check_caldav_url  # noqa: F401
