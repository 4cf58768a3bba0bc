"""Error bodies in the two documented shapes.

- Microsoft Graph: ``{"error": {"code", "message", "innerError": {"date", "request-id",
  "client-request-id"}}}`` (learn.microsoft.com/graph/errors).
- Microsoft identity platform (AADSTS): ``{"error", "error_description", "error_codes",
  "timestamp", "trace_id", "correlation_id", "error_uri"}``
  (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-response-1).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from flask import Response, request

JSON_TYPE = "application/json; charset=utf-8"


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def request_id() -> str:
    return request.environ.setdefault("graph.request_id", str(uuid.uuid4()))


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        content_type=JSON_TYPE)
    response.headers["request-id"] = request_id()
    response.headers["client-request-id"] = request.headers.get("client-request-id",
                                                                 request_id())
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def graph_error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": _now_text(), "request-id": request_id(),
        "client-request-id": request.headers.get("client-request-id", request_id())}}}
    return json_response(body, status, headers)


def aad_error(error: str, code: int, message: str, status: int = 400) -> Response:
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (f"AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: "
                   f"{correlation_id} Timestamp: {timestamp}")
    body = {"error": error, "error_description": description, "error_codes": [code],
            "timestamp": timestamp, "trace_id": trace_id, "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
    response = Response(json.dumps(body), status=status, content_type=JSON_TYPE)
    response.headers["Cache-Control"] = "no-store, no-cache"
    response.headers["Pragma"] = "no-cache"
    return response
