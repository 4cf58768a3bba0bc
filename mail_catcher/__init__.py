"""A local mail catcher: a real SMTP server (aiosmtpd) that keeps every message, and a small web
page that lists them with the HTML preview and the .ics invitation to download (N6).

`make run` starts it and points Apo's SMTP settings at it; the tests send through it as the
real SMTP server on a free port. It never relays anything anywhere.
"""

from mail_catcher.server import CaughtMessage, MailCatcher  # noqa: F401
