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
    "forbiddenForNonOrganizer": ("calendar", "Shared properties can only be changed by the "
                                             "organizer of the event."),
    "conditionNotMet": ("global", "Precondition Failed"),
    "timeRangeEmpty": ("calendar", "The specified time range is empty."),
    "invalid": ("global", "Invalid Value"),
    "required": ("global", "Required"),
    "badRequest": ("global", "Bad Request"),
    "channelIdNotUnique": ("global", "Channel id not unique."),
    "push.webhookUrlNotHttps": ("global", "WebHook callback must be HTTPS: "),
}

# The front end's wording for failed authentication (with the RPC ``status``), as current
# answers show it: a missing credential and a refused one differ in reason and message.
MISSING_CREDENTIAL = ("Request is missing required authentication credential. Expected OAuth 2 "
                      "access token, login cookie or other valid authentication credential. "
                      "See https://developers.google.com/identity/sign-in/web/"
                      "devconsole-project.")
INVALID_CREDENTIAL = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                      "token, login cookie or other valid authentication credential. See "
                      "https://developers.google.com/identity/sign-in/web/devconsole-project.")
INSUFFICIENT_SCOPES = "Request had insufficient authentication scopes."


class ApiError(Exception):
    """Raised anywhere in a Calendar API view; rendered by ``render``.

    ``item_message`` is the message inside ``errors[0]`` when it differs from the top-level
    one (the authentication errors); ``status`` and ``details`` are the newer RPC fields.
    """

    def __init__(self, code: int, reason: str, message: str | None = None,
                 location: str | None = None, location_type: str = "parameter",
                 headers: dict | None = None, *, item_message: str | None = None,
                 status: str | None = None, details: list | None = None):
        super().__init__(message or reason)
        self.code, self.reason = code, reason
        self.domain, default = REASONS.get(reason, ("global", reason))
        self.message = message or default
        self.item_message = item_message or self.message
        self.location, self.location_type = location, location_type
        self.headers = headers or {}
        self.status, self.details = status, details


def unauthenticated(missing: bool) -> ApiError:
    realm = 'Bearer realm="https://accounts.google.com/"'
    if missing:
        return ApiError(401, "required", MISSING_CREDENTIAL, "Authorization", "header",
                        {"WWW-Authenticate": realm}, item_message="Login Required.",
                        status="UNAUTHENTICATED")
    return ApiError(401, "authError", INVALID_CREDENTIAL, "Authorization", "header",
                    {"WWW-Authenticate": realm + ', error="invalid_token"'},
                    item_message="Invalid Credentials", status="UNAUTHENTICATED")


def insufficient_scopes(method: str, wanted: str) -> ApiError:
    return ApiError(
        403, "insufficientPermissions", INSUFFICIENT_SCOPES,
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                     f'error="insufficient_scope", scope="{wanted}"'},
        item_message="Insufficient Permission", status="PERMISSION_DENIED",
        details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                  "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                  "metadata": {"service": "calendar-json.googleapis.com", "method": method}}])


def body(error: ApiError) -> dict:
    item = {"domain": error.domain, "reason": error.reason, "message": error.item_message}
    if error.location:
        item.update(locationType=error.location_type, location=error.location)
    if error.status:  # the newer layout: code and message first, errors, status, details
        answer = {"code": error.code, "message": error.message, "errors": [item],
                  "status": error.status}
        if error.details:
            answer["details"] = error.details
        return {"error": answer}
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
