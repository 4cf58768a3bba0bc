"""Gunicorn settings read from the repository root (`gunicorn wsgi:app`).

Access-log lines are redacted: no OAuth codes, no private booking links (X5).
"""

logger_class = "webapp.web.access_log.RedactingLogger"
