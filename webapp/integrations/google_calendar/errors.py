"""Errors of the Google integration, as the calendar core's provider error classes (K6).

Messages are safe to show to admins: status, Google's reason and message, never a token."""

from __future__ import annotations

from webapp.integrations.calendar_port import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    SyncStateInvalid,
)

# 403s that are rate limits, not permissions (Calendar "Handle API errors" guide): back off.
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
RETRY_STATUSES = {429, 500, 502, 503, 504}


class GoogleApiError(ProviderError):
    """A Calendar API answer we do not retry (4xx other than rate limits)."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(f"Google Calendar {status} {reason}: {message}")
        self.status, self.reason, self.google_message = status, reason, message


class GoogleAuthError(ProviderAuthError):
    """The grant is gone (invalid_grant, revoked, 401 after a refresh): reconnect needed."""


class GoogleUnavailable(ProviderUnavailable):
    """Timeouts, 5xx, rate limits that outlasted the backoff, daily quota exhausted."""


class SyncTokenExpired(SyncStateInvalid):
    """410 fullSyncRequired: the stored sync token is no longer accepted."""


def parse_error(response) -> tuple[str, str]:
    """(reason, message) of a Calendar API error body; tolerant of non-JSON answers."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return "unknown", response.reason or "error"
    if isinstance(error, str):  # OAuth endpoints: {"error": "...", "error_description"}
        return error, str(response.json().get("error_description", ""))
    items = error.get("errors") or [{}]
    return str(items[0].get("reason", "unknown")), str(error.get("message", ""))
