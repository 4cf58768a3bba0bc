"""Google's JSON error shapes: the Calendar API envelope and the OAuth token-endpoint body."""

from __future__ import annotations

from flask import jsonify

# reason -> (domain, message) as the Calendar "Handle API errors" guide shows them.
REASONS = {
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "quotaExceeded": ("usageLimits", "Calendar usage limits exceeded."),
    "backendError": ("global", "Backend Error"),
    "notFound": ("global", "Not Found"),
    "deleted": ("global", "Resource has been deleted"),
    "duplicate": ("global", "The requested identifier already exists."),
    "fullSyncRequired": ("global", "Sync token is no longer valid, a full sync is required."),
    "authError": ("global", "Invalid Credentials"),
    "insufficientPermissions": ("global", "Insufficient Permission"),
    "forbidden": ("global", "Forbidden"),
    "timeRangeEmpty": ("calendar", "The specified time range is empty."),
    "invalid": ("global", "Invalid Value"),
    "required": ("global", "Required"),
    "badRequest": ("global", "Bad Request"),
}


class ApiError(Exception):
    """Raised anywhere in a Calendar API view; rendered by ``render``."""

    def __init__(self, code: int, reason: str, message: str | None = None,
                 location: str | None = None, location_type: str = "parameter",
                 headers: dict | None = None):
        super().__init__(message or reason)
        self.code, self.reason = code, reason
        self.domain, default = REASONS.get(reason, ("global", reason))
        self.message = message or default
        self.location, self.location_type = location, location_type
        self.headers = headers or {}


def body(error: ApiError) -> dict:
    item = {"domain": error.domain, "reason": error.reason, "message": error.message}
    if error.location:
        item.update(locationType=error.location_type, location=error.location)
    return {"error": {"errors": [item], "code": error.code, "message": error.message}}


def render(error: ApiError):
    response = jsonify(body(error))
    response.status_code = error.code
    response.headers.update(error.headers)
    return response


def oauth_error(status: int, error: str, description: str):
    """The token/revoke endpoints answer ``{"error": ..., "error_description": ...}``."""
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return response
