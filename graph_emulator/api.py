"""Request plumbing for the Graph origin: bearer tokens, scopes, faults, latency, usage,
``Prefer`` headers and paging helpers."""

from __future__ import annotations

import functools
import re
import time

from flask import current_app, g, request

from .errors import graph_error
from .timezones import zone

READ = ("Calendars.Read", "Calendars.ReadBasic", "Calendars.ReadWrite")
WRITE = ("Calendars.ReadWrite",)
WWW_AUTH = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')


def tenant():
    return current_app.config["TENANT"]


def preferences() -> dict:
    """``Prefer`` values by name (several headers or comma-separated values)."""
    found = {}
    for header in request.headers.getlist("Prefer"):
        for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", header):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def response_zone(applied: list) -> str:
    """The outlook.timezone preference when Graph knows the zone, else UTC."""
    wanted = preferences().get("outlook.timezone")
    if wanted and zone(wanted) is not None:
        applied.append(f'outlook.timezone="{wanted}"')
        return wanted
    return "UTC"


def page_size(applied: list, default: int) -> int:
    raw = preferences().get("odata.maxpagesize")
    if raw and raw.isdigit() and int(raw) > 0:
        applied.append(f"odata.maxpagesize={int(raw)}")
        return int(raw)
    return default


def _auth_error(message: str):
    return graph_error(401, "InvalidAuthenticationToken", message,
                       {"WWW-Authenticate": WWW_AUTH})


def _fault_response(fault: dict):
    kind = fault["kind"]
    if kind == "429":
        seconds = str(fault.get("retry_after", 1))
        return graph_error(429, "TooManyRequests", "Too many requests. Please retry after "
                           f"{seconds} seconds.", {"Retry-After": seconds})
    if kind == "503":
        return graph_error(503, "ServiceNotAvailable", "Service unavailable.",
                           {"Retry-After": str(fault.get("retry_after", 1))})
    if kind == "401":
        return _auth_error("Lifetime validation failed, the token is expired.")
    return graph_error(500, "generalException", "General exception while processing.")


def graph_call(scopes: tuple[str, ...] | None = READ, locked: bool = True):
    """Authenticate, check scopes, count the call, play faults and latency.

    The view runs holding the tenant's lock unless ``locked`` is false (a view that waits on
    another server takes the lock itself). A ``user_ref`` route argument (the
    ``/users/{id | userPrincipalName}`` form of a ``/me`` path) must name the signed-in user:
    delegated calendar permissions reach only their own mailbox.
    """
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            user_ref = kwargs.pop("user_ref", None)
            t = tenant()
            header = request.headers.get("Authorization", "")
            with t.lock:
                if not header.startswith("Bearer ") or not header[7:].strip():
                    return _auth_error("Access token is empty.")
                grant = t.access_tokens.get(header[7:].strip())
                if grant is None:
                    return _auth_error("IDX14100: JWT is not well formed, there are no dots "
                                       "(.).")
                if grant.get("revoked") or grant["expires_at"] <= t.now():
                    return _auth_error("Lifetime validation failed, the token is expired.")
                label = f"{request.method} {request.url_rule.rule.removeprefix('/v1.0')}"
                t.count(label, grant["user_id"])
                fault = t.take_fault(request.method, request.path)
                delay = t.latency_ms / 1000
            if fault and fault["kind"] == "delay":
                delay += fault.get("delay_ms", 1000) / 1000
                fault = None
            if delay:
                time.sleep(delay)
            if fault:
                return _fault_response(fault)
            if scopes is not None and not any(s in grant["scopes"] for s in scopes):
                if scopes == ("User.Read",):
                    return graph_error(403, "Authorization_RequestDenied",
                                       "Insufficient privileges to complete the operation.")
                return graph_error(403, "ErrorAccessDenied",
                                   "Access is denied. Check credentials and try again.")
            g.user_id = grant["user_id"]
            g.client_id = grant["client_id"]
            if user_ref is not None:
                with t.lock:
                    named = t.users.get(user_ref) or t.user_by_mail(user_ref)
                if named is None:
                    return graph_error(404, "ErrorInvalidUser",
                                       f"The requested user '{user_ref}' is invalid.")
                if named["id"] != g.user_id:
                    return graph_error(403, "ErrorAccessDenied",
                                       "Access is denied. Check credentials and try again.")
            if not locked:
                return view(*args, **kwargs)
            with t.lock:
                return view(*args, **kwargs)
        return inner
    return wrap


def mailbox_route(bp, path: str, **options):
    """Register ``/me{path}`` and ``/users/<user_ref>{path}`` (Graph serves both forms)."""
    def wrap(view):
        bp.add_url_rule(f"/me{path}", view_func=view, **options)
        bp.add_url_rule(f"/users/<user_ref>{path}", view_func=view,
                        endpoint=f"{view.__name__}_users", **options)
        return view
    return wrap


def if_match_failed(event: dict) -> bool:
    """True when an If-Match header names another version than the event's changeKey.

    Outlook answers such a conditional write 412 ErrorIrresolvableConflict (README).
    """
    wanted = request.headers.get("If-Match")
    if not wanted:
        return False
    tags = [tag.strip() for tag in wanted.split(",")]
    if "*" in tags:
        return False
    current = event["changeKey"]
    return not any(tag.removeprefix("W/").strip('"') == current for tag in tags)


def base_url() -> str:
    return request.host_url.rstrip("/") + "/v1.0"


def with_applied(response, applied: list):
    if applied:
        response.headers["Preference-Applied"] = ", ".join(applied)
    return response
