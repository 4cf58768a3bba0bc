"""The Salesforce integration: the only package that knows Salesforce URLs, API version, errors.

No Flask, no database: callers pass hosts, credentials and callbacks in, and get small typed
records or a ``SalesforceError`` back. Tokens never reach a log line or an exception message.

Callers import from here (``from webapp.integrations import salesforce as sf``); the modules are:

- ``errors``: the ``SalesforceError`` hierarchy and the one mapping of failures onto it;
- ``oauth``: authorize URL with PKCE, code exchange, refresh, revoke, identity, trusted hosts;
- ``client``: ``SalesforceClient`` (REST and composite calls, refresh on a 401, typed results);
- ``soql``: literal escaping, datetime formats, record page URLs.
"""

from .client import (
    API_VERSION,
    AUTO_ASSIGN_OFF,
    AUTO_ASSIGN_ON,
    PROCESSING_HALTED,
    QueryResult,
    SalesforceClient,
    SubResult,
)
from .errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceRequestError,
    SalesforceRetryableError,
)
from .oauth import (
    SCOPES,
    TIMEOUT,
    TRUSTED_DOMAINS,
    Identity,
    TokenSet,
    authorization_url,
    exchange_code,
    fetch_identity,
    is_trusted_url,
    oauth_registration,
    refresh_access_token,
    revoke_token,
)
from .sessions import pooled_session
from .soql import api_datetime, escape_soql, record_url, soql_datetime

__all__ = [
    "pooled_session",
    "API_VERSION",
    "AUTO_ASSIGN_OFF",
    "AUTO_ASSIGN_ON",
    "PROCESSING_HALTED",
    "SCOPES",
    "TIMEOUT",
    "TRUSTED_DOMAINS",
    "Identity",
    "QueryResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceRequestError",
    "SalesforceRetryableError",
    "SubResult",
    "TokenSet",
    "api_datetime",
    "authorization_url",
    "escape_soql",
    "exchange_code",
    "fetch_identity",
    "is_trusted_url",
    "oauth_registration",
    "record_url",
    "refresh_access_token",
    "revoke_token",
    "soql_datetime",
]
