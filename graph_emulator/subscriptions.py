"""Microsoft Graph v1.0 subscriptions to Outlook events (change notifications).

learn.microsoft.com/graph/api/subscription-post-subscriptions, /subscription-update,
/subscription-delete, /subscription-list, /subscription-get, /subscription-reauthorize,
learn.microsoft.com/graph/change-notifications-delivery-webhooks (validation handshake),
learn.microsoft.com/graph/outlook-change-notifications-overview (resources ``/me/events``
and ``/users/{id}/events``, delegated permission Calendars.Read).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import urlsplit

import requests
from flask import Blueprint, g, request

from . import notifier
from .api import READ, base_url, graph_call, tenant
from .errors import graph_error, json_response
from .timezones import parse_query_datetime

bp = Blueprint("subscriptions", __name__, url_prefix="/v1.0")
CHANGE_TYPES = ("created", "updated", "deleted")
VALIDATION_TIMEOUT = 10.0  # "The client must respond ... within 10 seconds"
_EVENTS = re.compile(r"^/?(?:me|users/([^/()]+)|users\('([^']+)'\))/events/?$", re.IGNORECASE)
NOT_FOUND = "The object was not found."


def _target_user(resource: str):
    """The user whose events ``resource`` names, or None when it is not an events resource."""
    match = _EVENTS.match(resource or "")
    if match is None:
        return None
    ref = match.group(1) or match.group(2)
    t = tenant()
    if ref is None:
        return t.users[g.user_id]
    return t.users.get(ref) or t.user_by_mail(ref)


def _expiry(raw, creating: bool):
    """(expiry datetime, None) or (None, error response)."""
    if not raw:
        message = "expirationDateTime is a required property for subscription creation." \
            if creating else "expirationDateTime is required."
        return None, graph_error(400, "InvalidRequest", message)
    try:
        expires = parse_query_datetime(str(raw))
    except ValueError:
        return None, graph_error(400, "InvalidRequest",
                                 f"Invalid expirationDateTime '{raw}'.")
    t = tenant()
    limit = t.settings["subscription_max_minutes"]
    if expires <= t.now():
        return None, graph_error(400, "InvalidRequest", "Subscription expiration must be in "
                                 "the future.")
    if expires > t.now() + dt.timedelta(minutes=limit):
        return None, graph_error(400, "ExtensionError", "Subscription expiration can only be "
                                 f"{limit} minutes in the future.")
    return expires, None


def _url_problem(url) -> str | None:
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "The notification URL must be an absolute URL."
    if parts.scheme != "https" and tenant().settings["require_https_notification_url"]:
        return "Subscription validation request failed. The notification URL must use HTTPS."
    return None


def validate_endpoint(url: str) -> str | None:
    """The validationToken handshake; None when the endpoint answered it, else the error
    message Graph gives (client decodes the token and echoes it as text/plain, 200)."""
    token = f"Validation: Testing client application reachability for subscription " \
            f"Request-Id: {uuid.uuid4()}"
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.post(url, params={"validationToken": token},
                                headers={"Content-Type": "text/plain; charset=utf-8"},
                                data=b"", timeout=VALIDATION_TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        return "Subscription validation request timed out."
    except requests.RequestException:
        return "Subscription validation request failed. Notification endpoint must respond " \
               "with 200 OK to validation request."
    if response.status_code != 200:
        return "Subscription validation request failed. Notification endpoint must respond " \
               "with 200 OK to validation request."
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "text/plain" or response.text != token:
        return "Subscription validation request failed. Response must exactly match " \
               "validationToken query parameter."
    return None


def render(sub: dict) -> dict:
    return {"id": sub["id"], "resource": sub["resource"], "applicationId": sub["applicationId"],
            "changeType": sub["changeType"], "clientState": sub.get("clientState"),
            "notificationUrl": sub["notificationUrl"],
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": sub.get("lifecycleNotificationUrl"),
            "expirationDateTime": notifier.stamp(sub["expires"]),
            "creatorId": sub["userId"], "includeResourceData": None,
            "latestSupportedTlsVersion": sub.get("latestSupportedTlsVersion") or "v1_2",
            "encryptionCertificate": None, "encryptionCertificateId": None,
            "notificationUrlAppId": None, "notificationContentType": None}


def _context(path: str) -> str:
    return f"{base_url()}/$metadata#{path}"


@bp.post("/subscriptions")
@graph_call(READ, locked=False)
def create_subscription():
    t = tenant()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Empty Payload. JSON content expected.")
    with t.lock:
        user = _target_user(body.get("resource"))
        if user is None:
            return graph_error(400, "InvalidRequest", "Resource '"
                               f"{body.get('resource')}' is not supported for change "
                               "notifications by this emulator (Outlook events only).")
        if user["id"] != g.user_id:
            # Delegated permissions reach only the signed-in user's mailbox.
            return graph_error(403, "ExtensionError", "Operation: Create; Exception: [Status "
                               "Code: Forbidden; Reason: Access is denied.]")
        kinds = [k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()]
        if not kinds or any(k not in CHANGE_TYPES for k in kinds):
            return graph_error(400, "InvalidRequest", "changeType must be a comma-separated "
                               "list of created, updated and deleted.")
        expires, problem = _expiry(body.get("expirationDateTime"), creating=True)
        if problem is not None:
            return problem
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > 128):
            return graph_error(400, "InvalidRequest", "clientState must be a string of at "
                               "most 128 characters.")
        urls = [body.get("notificationUrl")] + ([body["lifecycleNotificationUrl"]] if body.get(
            "lifecycleNotificationUrl") else [])
        for url in urls:
            message = _url_problem(url)
            if message:
                return graph_error(400, "InvalidRequest", message)
    # The handshake runs without the tenant's lock: the endpoint may take up to 10 seconds.
    for url in dict.fromkeys(urls):
        message = validate_endpoint(url)
        if message:
            return graph_error(400, "InvalidRequest", message)
    with t.lock:
        sub = {"id": str(uuid.uuid4()), "resource": body["resource"], "userId": g.user_id,
               "applicationId": g.client_id, "changeType": ",".join(kinds),
               "clientState": state, "notificationUrl": body["notificationUrl"],
               "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
               "latestSupportedTlsVersion": body.get("latestSupportedTlsVersion"),
               "expires": expires, "created": t.now()}
        t.subscriptions[sub["id"]] = sub
        t.touch()
        answer = {"@odata.context": _context("subscriptions/$entity"), **render(sub)}
    return json_response(answer, 201)


def _mine(subscription_id: str):
    sub = tenant().subscriptions.get(subscription_id)
    if sub is None or not _active_and_mine(sub):
        return None
    return sub


def _active_and_mine(sub: dict) -> bool:
    """An expired subscription is gone even before the notifier thread removes it."""
    return sub["userId"] == g.user_id and sub["applicationId"] == g.client_id and \
        sub["expires"] > tenant().now()


@bp.get("/subscriptions")
@graph_call(READ)
def list_subscriptions():
    found = [render(s) for s in tenant().subscriptions.values() if _active_and_mine(s)]
    return json_response({"@odata.context": _context("subscriptions"), "value": found})


@bp.get("/subscriptions/<subscription_id>")
@graph_call(READ)
def get_subscription(subscription_id):
    sub = _mine(subscription_id)
    if sub is None:
        return graph_error(404, "ResourceNotFound", NOT_FOUND)
    return json_response({"@odata.context": _context("subscriptions/$entity"), **render(sub)})


@bp.patch("/subscriptions/<subscription_id>")
@graph_call(READ)
def renew_subscription(subscription_id):
    t = tenant()
    sub = _mine(subscription_id)
    if sub is None:
        return graph_error(404, "ResourceNotFound", NOT_FOUND)
    body = request.get_json(silent=True) or {}
    unknown = [k for k in body if k not in ("expirationDateTime", "notificationUrl",
                                            "@odata.type")]
    if unknown:
        return graph_error(400, "InvalidRequest", f"Property '{unknown[0]}' cannot be "
                           "updated.")
    if "notificationUrl" in body:
        message = _url_problem(body["notificationUrl"])
        if message:
            return graph_error(400, "InvalidRequest", message)
        sub["notificationUrl"] = body["notificationUrl"]
    if "expirationDateTime" in body:
        expires, problem = _expiry(body["expirationDateTime"], creating=False)
        if problem is not None:
            return problem
        sub["expires"] = expires
    # Renewing also reauthorizes (change-notifications-lifecycle-events).
    sub.pop("reauthorizationSentAt", None)
    t.touch()
    return json_response({"@odata.context": _context("subscriptions/$entity"), **render(sub)})


@bp.post("/subscriptions/<subscription_id>/reauthorize")
@graph_call(READ)
def reauthorize_subscription(subscription_id):
    sub = _mine(subscription_id)
    if sub is None:
        return graph_error(404, "ResourceNotFound", NOT_FOUND)
    # Reauthorizing does not extend the subscription: the next challenge comes a full
    # interval later if it is still close to expiry.
    sub["reauthorizationSentAt"] = tenant().now()
    tenant().touch()
    return _no_content()


@bp.delete("/subscriptions/<subscription_id>")
@graph_call(READ)
def delete_subscription(subscription_id):
    t = tenant()
    sub = _mine(subscription_id)
    if sub is None:
        return graph_error(404, "ResourceNotFound", NOT_FOUND)
    del t.subscriptions[sub["id"]]
    if t.notifier is not None:
        t.notifier.pending = [p for p in t.notifier.pending
                              if p["subscriptionId"] != sub["id"]]
    t.touch()
    return _no_content()


def _no_content():
    response = json_response({}, 204)
    response.set_data(b"")
    return response
