"""Microsoft Graph errors, and the one place that maps failures to them.

Callers see ``GraphError`` and its kinds, which tell them what to do: ``GraphAuthError`` (the
grant is gone: reconnect), ``GraphRetryableError`` (retry later; ``retry_after`` seconds when
Graph said so) and ``GraphRequestError`` (Graph refused the request). URLs and tokens never
reach a message.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from authlib.integrations.requests_client import OAuthError

# Codes Graph answers for a delta token it no longer knows (delta-query-overview: "Token
# duration" and "Synchronization reset").
DELTA_GONE_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}


class GraphError(Exception):
    """Base of every error this package raises. ``code`` is Graph's (or AADSTS's) code."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class GraphAuthError(GraphError):
    """The grant is gone (refresh refused, consent revoked, user disabled): do not retry."""


class GraphRetryableError(GraphError):
    """Timeouts, connection errors, 5xx, throttling (429): retry, after ``retry_after``."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, code, status)
        self.retry_after = retry_after


class GraphRequestError(GraphError):
    """Graph refused the request (validation, permissions, not found): do not retry."""


class DeltaTokenExpired(GraphError):
    """The saved deltaLink is gone: the caller must start a full synchronization."""


def send(func: Callable, *args, **kwargs) -> requests.Response:
    """Transport failures become typed errors (URLs and tokens left out)."""
    try:
        return func(*args, **kwargs)
    except requests.Timeout as exc:
        raise GraphRetryableError("Microsoft 365 did not answer in time", "timeout") from exc
    except requests.RequestException as exc:
        raise GraphRetryableError(f"could not reach Microsoft 365 ({type(exc).__name__})",
                                  "connection_error") from exc


def oauth_call(call: Callable[[], dict]) -> dict:
    """Run an authlib token call; OAuth errors become auth errors, bad answers retryable."""
    try:
        return send(call)
    except OAuthError as exc:
        # error_description starts with "AADSTSnnnn: ..." and ends with trace ids; keep the code.
        description = (exc.description or exc.error or "").split(" Trace ID:")[0]
        raise GraphAuthError(description, exc.error, 400) from None
    except (requests.HTTPError, ValueError) as exc:
        raise GraphRetryableError("Microsoft token endpoint failed", "server_error") from exc


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from(response: requests.Response) -> GraphError:
    """The error for a Graph error response (``{"error": {"code", "message", ...}}``)."""
    try:
        body = response.json().get("error") or {}
    except (ValueError, AttributeError):
        body = {}
    status = response.status_code
    code = body.get("code") or f"http_{status}"
    message = body.get("message") or f"HTTP {status}"
    if code.lower() in DELTA_GONE_CODES or status == 410:
        return DeltaTokenExpired(message, code, status)
    if status == 401:
        return GraphAuthError(message, code, status)
    if status in (429, 503, 504) or status >= 500:
        return GraphRetryableError(message, code, status, retry_after_seconds(response))
    return GraphRequestError(message, code, status)
