"""Test-only control API under ``/__emulator__/`` on the instance origin (JSON in and out).

Nothing here counts as an API call. Every endpoint is documented in README.md.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import ids, tokens
from .records import insert_raw

bp = Blueprint("control", __name__, url_prefix="/__emulator__")
FAULT_KINDS = ("503", "500", "unable_to_lock_row", "request_limit_exceeded",
               "concurrent_limit_exceeded", "delay", "commit_then_hang")
_ORG_SWITCHES = ("api_disabled", "daily_limit", "required_lead_field_without_default",
                 "hidden_fields", "ip_restriction", "session_timeout_seconds",
                 "code_ttl_seconds", "min_batch_size", "is_sandbox")


def _org():
    return current_app.config["ORG"]


def _body() -> dict:
    return request.get_json(silent=True) or {}


def _error(message: str, status: int = 400):
    return jsonify({"error": message}), status


@bp.get("/health")
def health():
    org = _org()
    return jsonify({"ok": True, "login_url": org.login_url, "instance_url": org.instance_url})


@bp.post("/reset")
def reset():
    org = _org()
    try:
        org.reset(_body().get("seed") or org.seed_name)
    except ValueError as exc:
        return _error(str(exc))
    return jsonify({"ok": True, "users": org.users, "admin_id": org.admin_id})


@bp.get("/apps")
def list_apps():
    return jsonify(list(_org().apps.values()))


@bp.post("/apps")
def register_app():
    body = _body()
    org = _org()
    with org.lock:
        app = tokens.register_app(
            org, body.get("callback_urls") or [], pkce_required=body.get("pkce_required"),
            rotation=body.get("refresh_token_rotation"), client_id=body.get("client_id"),
            client_secret=body.get("client_secret"), name=body.get("name") or "Connected App",
            scopes=body.get("scopes"), require_secret=body.get("require_secret", True))
        org.save()
    return jsonify({"client_id": app["client_id"], "client_secret": app["client_secret"]}), 201


@bp.route("/org", methods=["GET", "POST"])
def org_settings():
    org = _org()
    with org.lock:
        body = _body() if request.method == "POST" else {}
        for key in ("assignment_rule", "duplicate_rule"):
            if isinstance(body.get(key), dict):
                org.settings[key].update(body[key])
        for key in _ORG_SWITCHES:
            if key in body:
                org.settings[key] = body[key]
        if "is_sandbox" in body:
            for record in org.records["Organization"].values():
                record["IsSandbox"] = bool(body["is_sandbox"])
        org.apply_switches()
        org.save()
        return jsonify(org.settings)


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    org = _org()
    with org.lock:
        if request.method == "DELETE":
            org.faults.clear()
        elif request.method == "POST":
            body = _body()
            kind = str(body.get("kind", ""))
            if kind not in FAULT_KINDS:
                return _error(f"kind must be one of {', '.join(FAULT_KINDS)}")
            org.faults.append({
                "kind": kind, "remaining": int(body.get("count", 1)),
                "path": body.get("path"), "method": body.get("method"),
                "delay_ms": int(body.get("delay_ms", 0)),
                "hang_ms": int(body.get("hang_ms", 0)),
            })
        return jsonify(org.faults)


@bp.post("/latency")
def latency():
    org = _org()
    org.latency_ms = int(_body().get("ms", 0))
    return jsonify({"ms": org.latency_ms})


@bp.post("/clock")
def clock():
    """Move the emulator's clock forward (expires codes, tokens; shifts date literals)."""
    org = _org()
    with org.lock:
        org.clock_offset += float(_body().get("advance_seconds", 0))
        return jsonify({"offset_seconds": org.clock_offset, "now": org.now_str()})


@bp.post("/users/<user_id>/<action>")
def user_state(user_id: str, action: str):
    org = _org()
    if action not in ("activate", "deactivate"):
        return _error("action must be activate or deactivate", 404)
    with org.lock:
        user = org.records["User"].get(ids.normalize(user_id) or "")
        if user is None:
            return _error("no such user", 404)
        user["IsActive"] = action == "activate"
        user["LastModifiedDate"] = user["SystemModstamp"] = org.now_str()
        org.save()
        return jsonify({"Id": user["Id"], "IsActive": user["IsActive"]})


@bp.post("/tokens/<action>")
def token_state(action: str):
    org = _org()
    with org.lock:
        if action == "expire":
            for entry in org.access_tokens.values():
                entry["expires_at"] = 0
        elif action == "revoke":
            for entry in org.refresh_tokens.values():
                entry["state"] = "revoked"
            org.access_tokens.clear()
        else:
            return _error("action must be expire or revoke", 404)
        org.save()
        return jsonify({"ok": True})


@bp.get("/usage")
def usage():
    org = _org()
    with org.lock:
        return jsonify({"total": org.usage_total, "by_endpoint": dict(org.usage),
                        "daily_limit": org.settings["daily_limit"]})


@bp.post("/usage/reset")
def usage_reset():
    org = _org()
    with org.lock:
        org.usage.clear()
        org.usage_total = 0
        org.save()
    return jsonify({"total": 0})


@bp.route("/records/<sobject>", methods=["GET", "POST"])
def records(sobject: str):
    org = _org()
    with org.lock:
        name = org.sobject_name(sobject)
        if name is None:
            return _error(f"unknown sObject {sobject}", 404)
        if request.method == "GET":
            return jsonify(list(org.records[name].values()))
        try:
            record = insert_raw(org, name, _body())
        except KeyError as exc:
            return _error(exc.args[0])
        org.save()
        return jsonify(record), 201
