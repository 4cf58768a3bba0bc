"""Calendar settings, parsed from the app config once (``webapp/settings.py``) and passed in by
the view or job: services never read the app config themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from webapp.integrations.calendar_port import Registry
from webapp.integrations.zoom import ZoomApp, ZoomEndpoints
from webapp.services.crypto import Keyring
from webapp.services.ical_uid import uid_domain


@dataclass(frozen=True)
class CalendarOptions:
    timeout: float = 10.0  # every provider call in a background sync
    confirm_timeout: float = 3.0  # the re-check while a customer confirms (K3): short
    confirm_max_age: timedelta = timedelta(minutes=2)  # older copies are refreshed on confirm
    # K7: a calendar that cannot answer the live check leaves the decision to its stored copy
    # only while the copy is younger than this; otherwise its member is unavailable.
    live_fallback_max_age: timedelta = timedelta(minutes=10)
    poll_interval: timedelta = timedelta(minutes=5)  # background polling per calendar (K3)
    # CalDAV and Salesforce Events have no push: they are polled this often (K8).
    fast_poll_interval: timedelta = timedelta(seconds=60)
    horizon_days: int = 120  # busy times are expanded this far ahead (covers booking windows)
    test_hosts: tuple[str, ...] = ()  # http://host:port origins allowed besides https (X3)
    domain: str = "apo.invalid"  # UID domain of written bookings (ical_uid.booking_uid)
    link_max_age: int = 7 * 24 * 3600  # the member's self-connect link (K1)
    keyring: Keyring | None = field(default=None, compare=False)  # credentials at rest (C8)
    providers: Registry = field(default_factory=Registry, compare=False)  # K1: by name
    zoom: ZoomApp | None = field(default=None, compare=False)  # V1: Zoom's OAuth app

    @classmethod
    def from_config(cls, config) -> CalendarOptions:
        # The registry imports the providers' services, which import these options.
        from webapp.services.calendars.registry import build_registry

        hosts = config.get("CALDAV_TEST_HOSTS") or ()
        return cls(
            timeout=float(config.get("CALENDAR_TIMEOUT", 10.0)),
            confirm_timeout=float(config.get("CALENDAR_CONFIRM_TIMEOUT", 3.0)),
            confirm_max_age=timedelta(seconds=float(config.get("CALENDAR_CONFIRM_MAX_AGE", 120))),
            live_fallback_max_age=timedelta(
                seconds=float(config.get("CALENDAR_LIVE_FALLBACK_MAX_AGE", 600))),
            poll_interval=timedelta(seconds=float(config.get("CALENDAR_POLL_INTERVAL", 300))),
            fast_poll_interval=timedelta(
                seconds=float(config.get("CALENDAR_FAST_POLL_INTERVAL", 60))),
            horizon_days=int(config.get("CALENDAR_HORIZON_DAYS", 120)),
            test_hosts=tuple(hosts),
            domain=uid_domain(config),
            link_max_age=int(config.get("CALENDAR_LINK_MAX_AGE", 7 * 24 * 3600)),
            keyring=Keyring.from_config(config),
            providers=build_registry(config),
            zoom=ZoomApp(config["ZOOM_CLIENT_ID"], config["ZOOM_CLIENT_SECRET"],
                         ZoomEndpoints.for_base(config.get("ZOOM_BASE_URL")),
                         float(config.get("CALENDAR_TIMEOUT", 10.0)))
            if config.get("ZOOM_CLIENT_ID") and config.get("ZOOM_CLIENT_SECRET") else None,
        )

