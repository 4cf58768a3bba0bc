"""Providers' push notifications (K8): public, so they trust nothing they are sent.

A notification only schedules an incremental sync of a calendar Apo knows, once its channel
and secret match (services/calendars/push.verify); the body's content is never used. Graph's
validation handshake echoes the token as plain text, as its documentation requires. CSRF does
not apply (no browser, no session); each hook is rate-limited per client.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from webapp.extensions import csrf, db, limiter
from webapp.jobs import calendars as calendar_jobs
from webapp.services.calendars import push

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
_LIMIT = "600 per minute"


@bp.post("/google")
@csrf.exempt
@limiter.limit(_LIMIT)
def google():
    """A watch channel's message: "sync" when it opens, "exists" on every change."""
    connection_id = push.verify("google", request.headers.get("X-Goog-Channel-ID", ""),
                                request.headers.get("X-Goog-Channel-Token", ""),
                                request.headers.get("X-Goog-Resource-ID", ""))
    if connection_id is None:
        return Response(status=404)
    if request.headers.get("X-Goog-Resource-State") != "sync":
        calendar_jobs.enqueue_calendar_sync(connection_id)
    return Response(status=200)


@bp.post("/microsoft")
@csrf.exempt
@limiter.limit(_LIMIT)
def microsoft():
    """Graph change notifications, or the validation handshake when a subscription opens."""
    token = request.args.get("validationToken")
    if token is not None:
        return _validation(token)
    for notice in _notices():
        connection_id = push.verify("microsoft", str(notice.get("subscriptionId", "")),
                                    str(notice.get("clientState") or ""))
        if connection_id is not None:
            calendar_jobs.enqueue_calendar_sync(connection_id)
    return Response(status=202)


@bp.post("/microsoft/lifecycle")
@csrf.exempt
@limiter.limit(_LIMIT)
def microsoft_lifecycle():
    """Subscription removed, reauthorization required or notifications missed: renew it at
    the connection's next sync, which runs now."""
    token = request.args.get("validationToken")
    if token is not None:
        return _validation(token)
    synced = set()
    for notice in _notices():
        connection_id = push.lost(str(notice.get("subscriptionId", "")),
                                  str(notice.get("clientState") or ""))
        if connection_id is not None:
            synced.add(connection_id)
    db.session.commit()
    for connection_id in synced:
        calendar_jobs.enqueue_calendar_sync(connection_id)
    return Response(status=202)


def _validation(token: str) -> Response:
    if len(token) > 1024:
        return Response(status=400)
    return Response(token, status=200, mimetype="text/plain")


def _notices() -> list[dict]:
    body = request.get_json(silent=True) or {}
    value = body.get("value") if isinstance(body, dict) else None
    return [n for n in value[:100] if isinstance(n, dict)] if isinstance(value, list) else []
