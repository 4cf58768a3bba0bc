"""The Microsoft 365 integration: the only package that knows Microsoft identity platform and
Graph URLs, headers, payloads and errors.

No Flask, no database: callers pass hosts, credentials and callbacks in and get small typed
records or a ``GraphError`` back. Tokens never reach a log line or an exception message.

- ``errors``: ``GraphError`` and its kinds, and the one mapping of failures onto them;
- ``oauth``: authorize URL with PKCE, code exchange, refresh, trusted hosts, scopes;
- ``client``: ``GraphClient`` (calendars, calendarView delta, getSchedule, event writes);
- ``records``: the typed records it returns.
"""

from .client import GraphClient, token_refresher
from .errors import (
    DeltaTokenExpired,
    GraphAuthError,
    GraphError,
    GraphRequestError,
    GraphRetryableError,
)
from .oauth import (
    GRAPH_URL,
    LOGIN_URL,
    SCOPES,
    TokenSet,
    authorization_url,
    exchange_code,
    is_trusted_url,
    refresh,
)
from .records import BusyBlock, Calendar, GraphEvent, GraphUser, SyncResult

__all__ = [
    "GRAPH_URL", "LOGIN_URL", "SCOPES", "BusyBlock", "Calendar", "DeltaTokenExpired",
    "GraphAuthError", "GraphClient", "GraphError", "GraphEvent", "GraphRequestError",
    "GraphRetryableError", "GraphUser", "SyncResult", "TokenSet", "authorization_url",
    "exchange_code", "is_trusted_url", "refresh", "token_refresher",
]
