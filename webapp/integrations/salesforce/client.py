"""The Salesforce client: the only module that knows Salesforce URLs, API version and error shapes.

No Flask, no database: callers pass hosts, credentials and callbacks in, and get small typed
records or a ``SalesforceError`` back. Tokens never reach a log line or an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

log = logging.getLogger(__name__)

API_VERSION = "59.0"
TIMEOUT = 10.0
SCOPES = "api refresh_token offline_access"
# Every real login and instance host lives under these domains (my.salesforce.com,
# sandbox.my.salesforce.com, login/test.salesforce.com, *.force.com Experience sites).
TRUSTED_DOMAINS = ("salesforce.com", "force.com")
_RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"}


class SalesforceError(Exception):
    """Base of every error this module raises. ``code`` is Salesforce's error code, if any."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class SalesforceAuthError(SalesforceError):
    """The grant is gone (refresh failed, token revoked, user deactivated): do not retry."""


class SalesforceRetryableError(SalesforceError):
    """Timeouts, connection errors, 5xx, row locks and rate limits: retry with backoff."""


class SalesforceRequestError(SalesforceError):
    """Salesforce refused the request (validation, permissions, API disabled): do not retry."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None,
                 fields: list[str] | None = None):
        super().__init__(message, code, status)
        self.fields = fields or []


@dataclass(frozen=True)
class TokenSet:
    """A token response. Tokens are excluded from repr so they never land in logs or tracebacks."""

    access_token: str = field(repr=False)
    instance_url: str
    id_url: str
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Identity:
    """The connecting user, from the identity URL."""

    user_id: str
    org_id: str
    username: str
    email: str
    display_name: str


@dataclass(frozen=True)
class QueryResult:
    total_size: int
    records: list[dict]


@dataclass(frozen=True)
class SubResult:
    """One composite subresponse: ``body`` on success, else ``error`` (never raised)."""

    status: int
    body: object = None
    error: SalesforceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def records(self) -> list[dict]:
        """The records of a query subresponse (first page)."""
        return list((self.body or {}).get("records") or []) if self.ok else []


# Marker for a composite subrequest that failed only because another one did.
PROCESSING_HALTED = "PROCESSING_HALTED"
# Header values for lead assignment rules on create/update (Sforce-Auto-Assign, L3).
AUTO_ASSIGN_ON = {"Sforce-Auto-Assign": "TRUE"}
AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}


def oauth_registration(login_url: str) -> dict:
    """Authlib-style registration values for one login host (production, sandbox, My Domain)."""
    base = login_url.rstrip("/")
    return {
        "authorize_url": f"{base}/services/oauth2/authorize",
        "access_token_url": f"{base}/services/oauth2/token",
        "revoke_url": f"{base}/services/oauth2/revoke",
        "client_kwargs": {"scope": SCOPES, "code_challenge_method": "S256"},
    }


def is_trusted_url(url: str, extra_hosts: tuple[str, ...] | list[str] = ()) -> bool:
    """True for https URLs under a Salesforce domain, or an origin listed in ``extra_hosts``.

    ``extra_hosts`` holds ``host[:port]`` values (the emulator); they may be plain http.
    """
    parts = urlsplit(url or "")
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.netloc.lower() in {h.strip().lower() for h in extra_hosts if h.strip()}:
        return parts.scheme in ("http", "https")
    host = parts.hostname.lower()
    return parts.scheme == "https" and parts.port in (None, 443) and any(
        host.endswith("." + domain) for domain in TRUSTED_DOMAINS
    )


def _oauth_session(client_id: str, client_secret: str | None = None, **kwargs) -> OAuth2Session:
    return OAuth2Session(client_id, client_secret, scope=SCOPES,
                         code_challenge_method="S256", **kwargs)


def authorization_url(login_url: str, client_id: str, redirect_uri: str, state: str,
                      code_verifier: str) -> str:
    """The URL of Salesforce's authorize page for the web-server flow with PKCE (S256)."""
    session = _oauth_session(client_id, redirect_uri=redirect_uri)
    url, _ = session.create_authorization_url(
        oauth_registration(login_url)["authorize_url"], state=state, code_verifier=code_verifier
    )
    return url


def exchange_code(login_url: str, client_id: str, client_secret: str, redirect_uri: str,
                  code: str, code_verifier: str, timeout: float = TIMEOUT) -> TokenSet:
    """Trade an authorization code for tokens.

    Raises:
        SalesforceAuthError: the token endpoint answered an OAuth error (code = its ``error``).
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    session = _oauth_session(client_id, client_secret, redirect_uri=redirect_uri)
    url = oauth_registration(login_url)["access_token_url"]
    token = _oauth_call(lambda: session.fetch_token(
        url, grant_type="authorization_code", code=code, code_verifier=code_verifier,
        timeout=timeout))
    return _token_set(token, token.get("refresh_token"))


def refresh_access_token(login_url: str, client_id: str, client_secret: str,
                         refresh_token: str, timeout: float = TIMEOUT) -> TokenSet:
    """Get a new access token; ``refresh_token`` in the result is set only when rotated.

    Raises:
        SalesforceAuthError: ``invalid_grant`` and friends: the connection needs a reconnect.
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    session = _oauth_session(client_id, client_secret)
    url = oauth_registration(login_url)["access_token_url"]
    token = _oauth_call(lambda: session.refresh_token(
        url, refresh_token=refresh_token, timeout=timeout))
    # Authlib copies the old refresh token in when the response has none; report only rotation.
    rotated = token.get("refresh_token")
    return _token_set(token, rotated if rotated != refresh_token else None)


def revoke_token(login_url: str, token: str, timeout: float = TIMEOUT) -> bool:
    """Revoke a refresh (or access) token. Returns False when Salesforce says it is already gone.

    Raises:
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    url = oauth_registration(login_url)["revoke_url"]
    response = _send(requests.post, url, data={"token": token}, timeout=timeout)
    if response.status_code >= 500:
        raise SalesforceRetryableError("Salesforce revoke failed", status=response.status_code)
    return response.status_code == 200


def fetch_identity(id_url: str, access_token: str, timeout: float = TIMEOUT) -> Identity:
    """GET the identity URL of a token response (the connecting user and org).

    Raises:
        SalesforceAuthError: the identity endpoint refused the token (403 ``Bad_OAuth_Token``).
        SalesforceRetryableError: timeout, connection error or 5xx.
    """
    response = _send(requests.get, id_url, timeout=timeout,
                     headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code >= 500:
        raise SalesforceRetryableError("identity service failed", status=response.status_code)
    if response.status_code != 200:
        raise SalesforceAuthError("identity refused the token", "Bad_OAuth_Token",
                                  response.status_code)
    data = response.json()
    return Identity(user_id=data["user_id"], org_id=data["organization_id"],
                    username=data.get("username") or "", email=data.get("email") or "",
                    display_name=data.get("display_name") or "")


class SalesforceClient:
    """REST calls on one connection's instance, refreshing the access token once on a 401.

    ``refresher(stale_access_token) -> access_token`` replaces the built-in refresh, so the
    service can serialize refreshes per connection; without it the client refreshes itself and
    calls ``on_token_refresh(TokenSet)``. ``last_limit_info`` keeps the last Sforce-Limit-Info.
    """

    def __init__(self, instance_url: str, access_token: str, refresh_token: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None, *,
                 login_url: str | None = None, session: requests.Session | None = None,
                 on_token_refresh: Callable[[TokenSet], None] | None = None,
                 refresher: Callable[[str], str] | None = None, timeout: float = TIMEOUT,
                 api_version: str = API_VERSION):
        self.instance_url = instance_url.rstrip("/")
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._client_id, self._client_secret = client_id, client_secret
        self._login_url = login_url
        self._session = session or requests.Session()
        self._on_token_refresh = on_token_refresh
        self._refresher = refresher
        self.timeout = timeout
        self.api_version = api_version
        self.last_limit_info: str | None = None

    def __repr__(self) -> str:
        return f"<SalesforceClient {self.instance_url}>"

    def describe(self, sobject: str) -> dict:
        """The sObject's describe JSON (fields, types, picklists)."""
        return self._request("GET", f"sobjects/{quote(sobject)}/describe").json()

    def query(self, soql: str) -> QueryResult:
        """Run SOQL and follow ``nextRecordsUrl`` until done. Escape literals before calling."""
        data = self._request("GET", "query", params={"q": soql}).json()
        records = list(data["records"])
        while not data.get("done", True) and data.get("nextRecordsUrl"):
            data = self._request("GET", data["nextRecordsUrl"]).json()
            records.extend(data["records"])
        return QueryResult(total_size=data.get("totalSize", len(records)), records=records)

    def create(self, sobject: str, fields: dict, headers: dict | None = None) -> str:
        """Create a record and return its id."""
        response = self._request("POST", f"sobjects/{quote(sobject)}", json=fields,
                                 headers=headers)
        return response.json()["id"]

    def update(self, sobject: str, record_id: str, fields: dict,
               headers: dict | None = None) -> None:
        """Update a record (PATCH, 204)."""
        self._request("PATCH", f"sobjects/{quote(sobject)}/{quote(record_id)}", json=fields,
                      headers=headers)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record (204). A record already deleted raises ENTITY_IS_DELETED/NOT_FOUND."""
        self._request("DELETE", f"sobjects/{quote(sobject)}/{quote(record_id)}")

    def composite(self, subrequests: list[dict], all_or_none: bool = False) -> list[dict]:
        """POST /composite (one API call); returns the ``compositeResponse`` list."""
        body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        return self._request("POST", "composite", json=body).json()["compositeResponse"]

    def composite_results(self, subrequests: list[dict],
                          all_or_none: bool = False) -> dict[str, SubResult]:
        """POST /composite (one API call) and map each subresponse to a ``SubResult``.

        Build ``subrequests`` with ``sub_query``/``sub_create``/``sub_update``/``sub_delete``.
        The whole request can still raise like any call (timeout, 5xx, 401, rate limit).
        """
        return {item["referenceId"]: _sub_result(item)
                for item in self.composite(subrequests, all_or_none)}

    def sub_query(self, ref: str, soql: str) -> dict:
        """A composite query subrequest (escape literals with ``escape_soql`` first)."""
        return {"method": "GET", "referenceId": ref,
                "url": self._composite_url("query") + "?" + urlencode({"q": soql})}

    def sub_create(self, ref: str, sobject: str, fields: dict,
                   headers: dict | None = None) -> dict:
        """A composite create; later subrequests may use ``@{ref.id}``."""
        return self._sub("POST", ref, f"sobjects/{quote(sobject)}", fields, headers)

    def sub_update(self, ref: str, sobject: str, record_id: str, fields: dict,
                   headers: dict | None = None) -> dict:
        """A composite update (PATCH)."""
        return self._sub("PATCH", ref, f"sobjects/{quote(sobject)}/{quote(record_id)}", fields,
                         headers)

    def sub_delete(self, ref: str, sobject: str, record_id: str) -> dict:
        """A composite delete."""
        return self._sub("DELETE", ref, f"sobjects/{quote(sobject)}/{quote(record_id)}")

    def _composite_url(self, path: str) -> str:
        return f"/services/data/v{self.api_version}/{path}"

    def _sub(self, method, ref, path, body=None, headers=None) -> dict:
        sub = {"method": method, "referenceId": ref, "url": self._composite_url(path)}
        if body is not None:
            sub["body"] = body
        if headers:
            sub["httpHeaders"] = headers
        return sub

    def user_profile(self, user_id: str) -> dict:
        """The user's profile name and whether it has API access (one SOQL call)."""
        # The literal goes through escape_soql; SOQL has no bind parameters over REST.
        soql = ("SELECT Id, Profile.Name, Profile.PermissionsApiEnabled FROM User "  # noqa: S608
                f"WHERE Id = '{escape_soql(user_id)}'")
        records = self.query(soql).records
        profile = (records[0].get("Profile") or {}) if records else {}
        return {"name": profile.get("Name") or "",
                "api_enabled": profile.get("PermissionsApiEnabled")}

    def data_path(self, path: str) -> str:
        """Absolute URL for a data-API path (relative to /services/data/vXX.X/ or rooted)."""
        if path.startswith("/services/"):
            return self.instance_url + path
        return f"{self.instance_url}/services/data/v{self.api_version}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send one call, refresh once on a 401 and repeat it; map every failure to an error."""
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items()}
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self._access_token}"
            response = _send(self._session.request, method, self.data_path(path),
                             headers=headers, timeout=self.timeout, **kwargs)
            if "Sforce-Limit-Info" in response.headers:
                self.last_limit_info = response.headers["Sforce-Limit-Info"]
            if response.status_code == 401 and attempt == 1:
                self._refresh()
                continue
            if response.status_code < 300:
                return response
            raise _data_error(response)
        raise AssertionError("unreachable")

    def _refresh(self) -> None:
        stale = self._access_token
        if self._refresher is not None:
            self._access_token = self._refresher(stale)
            return
        if not (self._refresh_token and self._login_url and self._client_id):
            raise SalesforceAuthError("session expired and no refresh token", "INVALID_SESSION_ID")
        token = refresh_access_token(self._login_url, self._client_id, self._client_secret or "",
                                     self._refresh_token, self.timeout)
        self._access_token = token.access_token
        self._refresh_token = token.refresh_token or self._refresh_token
        if self._on_token_refresh:
            self._on_token_refresh(token)


def record_url(instance_url: str, sobject: str, record_id: str) -> str:
    """The Lightning page of a record: ``<instance>/lightning/r/<SObject>/<Id>/view``."""
    return f"{instance_url.rstrip('/')}/lightning/r/{quote(sobject)}/{quote(record_id)}/view"


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC, unquoted), e.g. ``2030-01-07T01:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_datetime(value: datetime) -> str:
    """A datetime for a request body, in the format Salesforce returns."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def escape_soql(value: str) -> str:
    """Escape a value for a single-quoted SOQL literal (backslash first)."""
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\b": "\\b", "\f": "\\f"}
    return "".join(table.get(ch, ch) for ch in value)


def _send(func: Callable, *args, **kwargs) -> requests.Response:
    """The one place transport failures become typed errors (URLs and tokens left out)."""
    try:
        return func(*args, **kwargs)
    except requests.Timeout as exc:
        raise SalesforceRetryableError("Salesforce did not answer in time", "TIMEOUT") from exc
    except requests.RequestException as exc:
        raise SalesforceRetryableError(
            f"could not reach Salesforce ({type(exc).__name__})", "CONNECTION_ERROR") from exc


def _oauth_call(call: Callable[[], dict]) -> dict:
    try:
        return _send(call)
    except OAuthError as exc:
        raise SalesforceAuthError(exc.description or exc.error, exc.error, 400) from None
    except (requests.HTTPError, ValueError) as exc:
        # Authlib raises these for 5xx pages and non-JSON bodies from the token endpoint.
        raise SalesforceRetryableError("Salesforce token endpoint failed", "SERVER_ERROR") from exc


def _token_set(token: dict, refresh_token: str | None = None) -> TokenSet:
    return TokenSet(access_token=token["access_token"], instance_url=token["instance_url"],
                    id_url=token.get("id", ""), refresh_token=refresh_token)


def _data_error(response: requests.Response) -> SalesforceError:
    """Map a data-API error response (JSON array of {errorCode, message, fields})."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return _error_from(response.status_code, body)


def _sub_result(item: dict) -> SubResult:
    status = int(item.get("httpStatusCode") or 0)
    if status < 300:
        return SubResult(status, item.get("body"))
    return SubResult(status, item.get("body"), _error_from(status, item.get("body")))


def _error_from(status: int, body) -> SalesforceError:
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = first.get("errorCode") or first.get("statusCode")
    message = first.get("message") or f"HTTP {status}"
    if status == 401:
        return SalesforceAuthError(message, code or "INVALID_SESSION_ID", status)
    if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
        return SalesforceRetryableError(message, code, status)
    return SalesforceRequestError(message, code, status, first.get("fields"))
