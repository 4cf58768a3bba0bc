"""Access logs without secrets (X5): OAuth codes and private booking links are redacted.

The OAuth callback carries ``code`` and ``state`` in its query string, and a customer's private
link ``/b/<token>`` is a bearer credential: neither may reach a log line, a Referer field or a
Location header written to the log. Gunicorn uses ``RedactingLogger`` (see gunicorn.conf.py);
the development server's ``werkzeug`` logger gets ``RedactingFilter``.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The customer's /b/<token> (F4) and a member's connect links (K1): /calendar/connect/<token>,
# /calendar/google/connect/<token>, /calendar/microsoft/connect/<token>, any provider's, and
# the Zoom connect and disconnect (V1): /meetings/zoom/connect/<token>.
_PRIVATE_LINK = re.compile(
    r"(/b/|/calendar/(?:[a-z]+/)?connect/|/meetings/[a-z]+/(?:dis)?connect/)[^/?#\s\"]+")
_SECRET_PARAMS = re.compile(
    r"(?i)((?:^|[?&;\s]|%3F|%26)(?:code|state|token|access_token|refresh_token|"
    r"client_secret|code_verifier|password)=)[^&;#\s\"]*")


def redact(text: str) -> str:
    """``text`` with private-link tokens and secret query values replaced."""
    if not isinstance(text, str):
        return text
    return _SECRET_PARAMS.sub(r"\1" + REDACTED, _PRIVATE_LINK.sub(r"\1" + REDACTED, text))


class RedactingLogger(Logger):
    """Gunicorn's logger whose access-log atoms (request line, path, query, headers) are
    redacted before the format string sees them."""

    def atoms(self, resp, req, environ, request_time):
        return {key: redact(value) for key, value in
                super().atoms(resp, req, environ, request_time).items()}


class RedactingFilter(logging.Filter):
    """Redact a log record's rendered message (the Werkzeug development server's lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def init_app(app) -> None:
    werkzeug_logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in werkzeug_logger.filters):
        werkzeug_logger.addFilter(RedactingFilter())
