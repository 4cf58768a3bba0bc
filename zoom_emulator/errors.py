"""Zoom's error bodies: ``{"code": N, "message": "..."}`` on the API (with ``errors`` for
field validation), and ``{"reason": "...", "error": "..."}`` on the OAuth token endpoint."""

from __future__ import annotations

from flask import jsonify

INVALID_TOKEN = (124, "Invalid access token.")
EXPIRED_TOKEN = (124, "Access token is expired.")
QUERY_TOKEN = (124, "Invalid access token, this access token is not supported as query "
                    "parameter string.")
PER_SECOND = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY = ("You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API "
         "requests permitted for this particular user. You may resume these requests at "
         "GMT 00:00:00.")


class ZoomError(Exception):
    """Raised anywhere in an API view; rendered as Zoom's JSON error."""

    def __init__(self, status: int, code: int, message: str, errors: list | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.headers = errors, headers or {}


def invalid(field: str, message: str = "Invalid field.") -> ZoomError:
    return ZoomError(400, 300, "Validation Failed.", [{"field": field, "message": message}])


def render(error: ZoomError):
    body = {"code": error.code, "message": error.message}
    if error.errors:
        body["errors"] = error.errors
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def oauth_error(status: int, error: str, reason: str):
    response = jsonify({"reason": reason, "error": error})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
