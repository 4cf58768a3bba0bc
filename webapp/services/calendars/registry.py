"""The calendar providers of one app (K1), all registered the same way from its config.

Built once with the app's settings (webapp/settings.py): each factory binds what its adapter
needs from the config (Google's and Microsoft's OAuth clients), so no adapter keeps a module
global and nothing is registered as a side effect of an import.
"""

from __future__ import annotations

from functools import partial

from webapp.integrations.caldav import CalDAVClient
from webapp.integrations.calendar_port import Registry
from webapp.integrations.google_calendar import GoogleCalendarProvider
from webapp.integrations.microsoft_graph.calendar_provider import MicrosoftCalendar
from webapp.services.calendars.google_connect import google_app
from webapp.services.calendars.microsoft import MicrosoftSettings


def build_registry(config) -> Registry:
    registry = Registry()
    registry.register("caldav", CalDAVClient.from_connection)
    registry.register("google", partial(GoogleCalendarProvider.from_connection,
                                        app=google_app(config)))
    registry.register("microsoft", partial(MicrosoftCalendar.from_connection,
                                           app=MicrosoftSettings.from_config(config).app))
    return registry
