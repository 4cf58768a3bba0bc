"""CalDAV: the only package that speaks CalDAV (K1-K4). Public names re-exported here.

The client (and with it icalendar and recurrence expansion) loads on first use: web processes
that never sync a calendar do not pay for it at startup.
"""

from webapp.integrations.caldav.urls import UnsafeCalendarURL, check_caldav_url  # noqa: F401


def __getattr__(name: str):
    if name == "CalDAVClient":
        from webapp.integrations.caldav.client import CalDAVClient

        return CalDAVClient
    raise AttributeError(name)
