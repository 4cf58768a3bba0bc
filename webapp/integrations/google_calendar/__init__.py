"""Google Calendar: OAuth 2.0 (Authlib), the Calendar API v3 client and the calendar core's
provider adapter. The only code in Apo that speaks to Google."""



from .adapter import GoogleCalendarProvider
from .client import GoogleCalendarClient
from .errors import GoogleApiError, GoogleAuthError, GoogleUnavailable, SyncTokenExpired
from .oauth import SCOPES, GoogleApp, GoogleEndpoints

__all__ = ["SCOPES", "GoogleApiError", "GoogleApp", "GoogleAuthError", "GoogleCalendarClient",
           "GoogleCalendarProvider", "GoogleEndpoints", "GoogleUnavailable", "SyncTokenExpired"]
