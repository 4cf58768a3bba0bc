"""Test-only control API under /__emulator__/ (never part of Zoom's surface; nothing here
counts as a Zoom call). Every endpoint is listed in README.md."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import meetings as mt
from .seed import DEMO_SCOPES

bp = Blueprint("control", __name__, url_prefix="/__emulator__")


def store():
    return current_app.config["STORE"]


def _body() -> dict:
    return request.get_json(silent=True) or {}


@bp.get("/health")
def health():
    return jsonify({"ok": True, "url": store().public_url})


@bp.post("/reset")
def reset():
    s = store()
    seed = _body().get("seed")
    if seed not in (None, "demo", "empty"):
        return jsonify({"error": "seed is demo or empty"}), 400
    s.reset(seed)
    return jsonify({"ok": True})


@bp.post("/apps")
def add_app():
    """Register an OAuth app: ``{"redirect_uris": [...], "scopes": "...", "name": "..."}``."""
    s, data = store(), _body()
    with s.lock:
        app = s.add_app(None, None, data.get("redirect_uris") or [],
                        data.get("scopes") or DEMO_SCOPES,
                        data.get("name") or "Test app")
        s.save()
    return jsonify(app), 201


@bp.post("/users")
def add_user():
    """``{"email", "last_name", "first_name", "password", "timezone"}``."""
    s, data = store(), _body()
    if not data.get("email"):
        return jsonify({"error": "email is required"}), 400
    with s.lock:
        user = s.add_user(data["email"], data.get("last_name", ""),
                          data.get("first_name", ""), data.get("password", "x"),
                          timezone=data.get("timezone", "Asia/Tokyo"))
        s.save()
    return jsonify({k: v for k, v in user.items() if k != "password"}), 201


@bp.get("/meetings")
def all_meetings():
    """Every meeting ever created (``?user=email`` for one host), deleted ones flagged, as
    the API would answer for it plus ``host_email`` and ``deleted``."""
    s, who = store(), request.args.get("user")
    with s.lock:
        found = [dict(mt.public(s, m), deleted=m["deleted"]) for m in s.meetings.values()
                 if who in (None, m["host_email"])]
    return jsonify(found)


@bp.post("/faults")
def add_fault():
    """Fail the next ``times`` matching API calls: ``{"status": 503 | 429 | ..., "times": 1,
    "method": "POST", "path_contains": "/meetings", "code": N, "message": "...",
    "limit_type": "QPS" | "Daily-limit", "category": "Light", "limit": N,
    "retry_after": "..."}`` (``times`` -1 = until cleared)."""
    s, data = store(), _body()
    if not isinstance(data.get("status"), int):
        return jsonify({"error": "status (an integer) is required"}), 400
    with s.lock:
        s.faults.append(dict(data, kind="status", remaining=int(data.get("times", 1))))
    return jsonify({"ok": True})


@bp.post("/faults/lose-answer")
def lose_answer():
    """Carry out the next ``times`` matching calls, then close the connection before the
    answer: ``{"times": 1, "method": "POST", "path_contains": "/meetings"}``."""
    s, data = store(), _body()
    with s.lock:
        s.faults.append({"kind": "drop", "remaining": int(data.get("times", 1)),
                         "method": data.get("method"),
                         "path_contains": data.get("path_contains")})
    return jsonify({"ok": True})


@bp.delete("/faults")
def clear_faults():
    s = store()
    with s.lock:
        s.faults.clear()
    return jsonify({"ok": True})


@bp.post("/latency")
def latency():
    s = store()
    with s.lock:
        s.latency_ms = int(_body().get("ms", 0))
    return jsonify({"ok": True})


@bp.post("/clock")
def clock():
    """``{"advance_seconds": N}`` moves the emulator's clock (tokens, codes, cursors, lists)."""
    s = store()
    with s.lock:
        s.clock_offset += float(_body().get("advance_seconds", 0))
        s.save()
        return jsonify({"now": s.stamp()})


@bp.post("/tokens/revoke")
def revoke_tokens():
    """``{"user": email}``: the user removes the app (every app without ``client_id``) in
    Zoom; ``{"expire_access": true}``: every access token expires now."""
    s, data = store(), _body()
    with s.lock:
        if data.get("expire_access"):
            for grant in s.access_tokens.values():
                grant["expires"] = s.timestamp()
            s.save()
            return jsonify({"ok": True})
        count = s.revoke_user((data.get("user") or "").lower(), data.get("client_id"))
        s.save()
    return jsonify({"revoked": count})


@bp.patch("/settings")
def settings():
    """``{"daily_meeting_writes": N, "access_token_seconds": N, "code_seconds": N,
    "page_token_seconds": N}``."""
    s, data = store(), _body()
    with s.lock:
        unknown = set(data) - set(s.settings)
        if unknown:
            return jsonify({"error": f"unknown settings: {sorted(unknown)}"}), 400
        s.settings.update({k: int(v) for k, v in data.items()})
        s.save()
        return jsonify(s.settings)


@bp.get("/usage")
def usage():
    s = store()
    with s.lock:
        return jsonify({"total": sum(s.usage.values()), "by_endpoint": dict(s.usage)})


@bp.delete("/usage")
def clear_usage():
    s = store()
    with s.lock:
        s.usage.clear()
    return jsonify({"ok": True})
