"""REST calls on one connection's Salesforce instance: ``SalesforceClient``.

The client sends data-API calls (describe, query, create, update, delete, composite) through one
``_request`` method that refreshes the access token once on a 401 and maps every failure to a
``SalesforceError``. Results are small typed records, never raw ``requests`` responses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import requests

from .errors import SalesforceAuthError, SalesforceError, data_error, error_from, send
from .oauth import TIMEOUT, TokenSet, refresh_access_token
from .soql import escape_soql

API_VERSION = "59.0"


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

        Build ``subrequests`` with ``sub_query``/``sub_create``/``sub_update``.
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

    def login_ip_ranges(self, user_id: str) -> list[tuple[str, str]]:
        """The (start, end) login IP ranges of the user's profile: the related list
        「ログイン IP アドレスの制限」, read as LoginIpRange rows (two SOQL calls).

        Raises:
            SalesforceRequestError: e.g. INVALID_TYPE where the org does not expose the object.
        """
        users = self.query("SELECT ProfileId FROM User "  # noqa: S608 - escaped literal
                           f"WHERE Id = '{escape_soql(user_id)}'").records
        if not users or not users[0].get("ProfileId"):
            return []
        soql = ("SELECT StartAddress, EndAddress FROM LoginIpRange "  # noqa: S608 - escaped
                f"WHERE ProfileId = '{escape_soql(users[0]['ProfileId'])}'")
        return [(r.get("StartAddress") or "", r.get("EndAddress") or "")
                for r in self.query(soql).records]

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
            response = send(self._session.request, method, self.data_path(path),
                             headers=headers, timeout=self.timeout, **kwargs)
            if "Sforce-Limit-Info" in response.headers:
                self.last_limit_info = response.headers["Sforce-Limit-Info"]
            if response.status_code == 401 and attempt == 1:
                self._refresh()
                continue
            if response.status_code < 300:
                return response
            raise data_error(response)
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



def _sub_result(item: dict) -> SubResult:
    status = int(item.get("httpStatusCode") or 0)
    if status < 300:
        return SubResult(status, item.get("body"))
    return SubResult(status, item.get("body"), error_from(status, item.get("body")))
