"""HTTP face of the data API on the instance origin: auth, org switches, limits, faults,
latency, usage counting and the ``Sforce-Limit-Info`` header around ``resources.dispatch``."""

from __future__ import annotations

import json
import re
import time

from flask import Blueprint, Response, current_app, request

from . import tokens
from .errors import SFError, json_parser_error, not_found, session_invalid
from .resources import API_VERSIONS, Call, dispatch, endpoint_key, versions_body

bp = Blueprint("data_api", __name__)
_VERSION = re.compile(r"^v(\d+\.\d)$")
JSON_TYPE = "application/json;charset=UTF-8"


def render(status: int, body, headers=None, pretty=False) -> Response:
    if status == 204:
        response = Response(status=204)
    else:
        text = json.dumps(body, ensure_ascii=False, indent=2 if pretty else None,
                          separators=None if pretty else (",", ":"))
        response = Response(text, status=status, content_type=JSON_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@bp.route("/services/data", methods=["GET", "HEAD"], strict_slashes=False)
def versions():
    # The versions list needs no token and does not count toward the limits.
    return render(200, versions_body())


def parse_body(raw: bytes):
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, column, char = 1, 1, "?"
        if isinstance(exc, json.JSONDecodeError):
            line, column = exc.lineno, exc.colno
            char = exc.doc[exc.pos] if exc.pos < len(exc.doc) else "EOF"
        raise json_parser_error(f"Unexpected character ('{char}' (code {ord(char[0])})): "
                                f"was expecting a valid JSON value at [line:{line}, "
                                f"column:{column}]") from None


def _take_fault(org, method: str, path: str) -> dict | None:
    for fault in org.faults:
        if fault["method"] and fault["method"].upper() != method:
            continue
        if fault["path"] and not re.search(fault["path"], path):
            continue
        fault["remaining"] -= 1
        if fault["remaining"] <= 0:
            org.faults.remove(fault)
        return fault
    return None


_FAULT_ERRORS = {
    "503": SFError(503, "SERVER_UNAVAILABLE",
                   "Server temporarily unavailable. Please try again later."),
    "unable_to_lock_row": SFError(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive "
                                  "access to this record or 1 records", []),
    "request_limit_exceeded": SFError(403, "REQUEST_LIMIT_EXCEEDED",
                                      "TotalRequests Limit exceeded."),
    "concurrent_limit_exceeded": SFError(403, "REQUEST_LIMIT_EXCEEDED",
                                         "ConcurrentPerOrgLongTxn Limit exceeded."),
    "500": SFError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include "
                   "this ErrorId if you contact support: 1234567890-12345 (-1234567890)"),
}


@bp.route("/services/data/<path:rest>",
          methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"])
def data(rest: str):
    org = current_app.config["ORG"]
    pretty = request.headers.get("X-PrettyPrint") == "1"
    parts = [p for p in rest.split("/") if p]
    method = request.method
    delay_ms, hang_ms, fault = org.latency_ms, 0, None
    with org.lock:
        reply_headers = {}
        try:
            entry = tokens.authenticate(org, request.headers.get("Authorization"))
            if entry is None:
                raise session_invalid()
            if not {"api", "full"} & set(entry["scopes"]):
                raise SFError(401, "INVALID_SESSION_ID", "This session is not valid for use "
                              "with the REST API")
            reply_headers["Sforce-Limit-Info"] = org.limit_info()
            match = _VERSION.match(parts[0]) if parts else None
            if match is None or match.group(1) not in API_VERSIONS:
                raise not_found()
            if org.settings["api_disabled"]:
                raise SFError(403, "API_DISABLED_FOR_ORG",
                              "The REST API is not enabled for this Organization.")
            if org.usage_total >= org.settings["daily_limit"]:
                raise SFError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            fault = _take_fault(org, method, request.path)
            if fault is not None:
                delay_ms += fault.get("delay_ms") or 0
                hang_ms = fault.get("hang_ms") or 0
                if fault["kind"] in _FAULT_ERRORS:
                    if fault["kind"] != "503":
                        org.count_call(endpoint_key(method, parts[1:]))
                    raise _FAULT_ERRORS[fault["kind"]]
            org.count_call(endpoint_key(method, parts[1:]))
            reply_headers["Sforce-Limit-Info"] = org.limit_info()
            call = Call(method, match.group(1), parts[1:], request.args.to_dict(),
                        parse_body(request.get_data()) if method in ("POST", "PATCH") else None,
                        request.headers, entry["user_id"])
            reply = dispatch(org, call)
            if reply.wrote:
                org.save()
            status, body = reply.status, reply.body
            reply_headers.update(reply.headers)
        except SFError as error:
            status, body = error.status, error.body()
    if delay_ms:
        time.sleep(delay_ms / 1000)
    if fault is not None and fault["kind"] == "commit_then_hang":
        time.sleep(hang_ms / 1000)  # the write is committed; the answer comes too late
    if method == "HEAD":
        return Response(status=status, headers=reply_headers)
    return render(status, body, reply_headers, pretty)
