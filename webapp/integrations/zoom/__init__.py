"""Zoom (V1): a member's user-level OAuth connection and the meetings made through it.

Only this package speaks to Zoom. Our own client rather than ``zoomus``: that library (last
release 2023) signs in with Server-to-Server or the retired JWT apps, not a user's OAuth
token, and it has no answer to Zoom's missing idempotency key; OAuth itself is Authlib's.
"""

from webapp.integrations.zoom.client import (  # noqa: F401
    ZoomApiError,
    ZoomApp,
    ZoomAuthError,
    ZoomClient,
    ZoomEndpoints,
    ZoomUnavailable,
    account_email,
    authorization_url,
    exchange_code,
    revoke,
)
