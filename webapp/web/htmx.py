"""Small helpers for htmx requests and responses, so header names live in one place."""

import json

from flask import Response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render_partial(template: str, status: int = 200, trigger: dict | str | None = None, **ctx):
    """Render a partial template, optionally with an HX-Trigger event for toasts."""
    response = Response(render_template(template, **ctx), status=status)
    if trigger:
        # Header values are latin-1 on a real server; htmx decodes the JSON escapes back.
        value = trigger if isinstance(trigger, str) else json.dumps(trigger, default=str)
        response.headers["HX-Trigger"] = value
    return response


def hx_redirect(url: str) -> Response:
    response = Response("", status=204)
    response.headers["HX-Redirect"] = url
    return response


def hx_refresh() -> Response:
    response = Response("", status=400)
    response.headers["HX-Refresh"] = "true"
    return response
