"""Salesforce errors, and the one place that maps failures to them.

Callers only ever see ``SalesforceError`` and its three kinds, which tell them what to do:
``SalesforceAuthError`` (the grant is gone, reconnect), ``SalesforceRetryableError`` (retry with
backoff) and ``SalesforceRequestError`` (Salesforce refused the request, show the admin).

``send`` turns ``requests`` transport failures into errors, ``oauth_call`` does the same for
authlib's token calls, and ``data_error``/``error_from`` read the data API's JSON error shape
(a list of ``{errorCode, message, fields}``). URLs and tokens never reach a message.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from authlib.integrations.requests_client import OAuthError

_RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"}


class SalesforceError(Exception):
    """Base of every error this package raises. ``code`` is Salesforce's error code, if any."""

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


def send(func: Callable, *args, **kwargs) -> requests.Response:
    """The one place transport failures become typed errors (URLs and tokens left out)."""
    try:
        return func(*args, **kwargs)
    except requests.Timeout as exc:
        raise SalesforceRetryableError("Salesforce did not answer in time", "TIMEOUT") from exc
    except requests.RequestException as exc:
        raise SalesforceRetryableError(
            f"could not reach Salesforce ({type(exc).__name__})", "CONNECTION_ERROR") from exc


def oauth_call(call: Callable[[], dict]) -> dict:
    """Run an authlib token call; OAuth errors become auth errors, bad answers retryable ones."""
    try:
        return send(call)
    except OAuthError as exc:
        raise SalesforceAuthError(exc.description or exc.error, exc.error, 400) from None
    except (requests.HTTPError, ValueError) as exc:
        # Authlib raises these for 5xx pages and non-JSON bodies from the token endpoint.
        raise SalesforceRetryableError("Salesforce token endpoint failed", "SERVER_ERROR") from exc


def data_error(response: requests.Response) -> SalesforceError:
    """Map a data-API error response (JSON array of {errorCode, message, fields})."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from(response.status_code, body)


def error_from(status: int, body) -> SalesforceError:
    """The error for an HTTP status and a data-API error body (whole call or composite part)."""
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = first.get("errorCode") or first.get("statusCode")
    message = first.get("message") or f"HTTP {status}"
    if status == 401:
        return SalesforceAuthError(message, code or "INVALID_SESSION_ID", status)
    if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
        return SalesforceRetryableError(message, code, status)
    return SalesforceRequestError(message, code, status, first.get("fields"))
