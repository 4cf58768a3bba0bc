"""The SMTP side: aiosmtpd's threaded Controller with a handler that stores each message.

Fault knobs for tests and the bench (`delay`, `fail_next`, `drop_next`) make the server slow,
answer 451 or hang up after the data, the way real servers misbehave; they are off by default.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class CaughtMessage:
    """One accepted message: the envelope and the raw bytes exactly as received."""

    id: int
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def parsed(self) -> EmailMessage:
        """The message parsed back with the standard library (modern policy)."""
        return message_from_bytes(self.raw, policy=policy.default)


class _Handler:
    def __init__(self, catcher: MailCatcher):
        self.catcher = catcher

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        catcher = self.catcher
        if catcher.delay:
            await asyncio.sleep(catcher.delay)
        with catcher.lock:
            if catcher.fail_next > 0:
                catcher.fail_next -= 1
                return "451 4.3.0 Temporary failure, try again later"
            if catcher.drop_next > 0:
                # Keep the message but never answer: the client cannot know it arrived.
                catcher.drop_next -= 1
                catcher._store(envelope)
                server.transport.close()
                return "421 closing"
        catcher._store(envelope)
        return "250 2.0.0 Message accepted"


class MailCatcher:
    """SMTP server on 127.0.0.1:`port` (0 picks a free one) keeping messages in memory and,
    with `spool_dir`, as .eml files. Optional `credentials` (user, password) require AUTH."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, spool_dir: str | None = None,
                 credentials: tuple[str, str] | None = None, delay: float = 0.0,
                 tls_context=None):
        self.host = host
        self.port = port or _free_port(host)
        self.spool_dir = spool_dir
        self.credentials = credentials
        self.delay = delay
        self.tls_context = tls_context  # an ssl.SSLContext: offer STARTTLS and require it
        self.fail_next = 0
        self.drop_next = 0
        self.messages: list[CaughtMessage] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._controller: Controller | None = None

    def start(self) -> MailCatcher:
        options = {}
        if self.credentials:
            # PLAIN only: smtplib falls back to LOGIN after a refusal, which aiosmtpd stalls on.
            options = dict(authenticator=self._authenticate, auth_require_tls=False,
                           auth_required=True, auth_exclude_mechanism=["LOGIN"])
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      ready_timeout=10, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def get(self, message_id: int) -> CaughtMessage | None:
        with self.lock:
            return next((m for m in self.messages if m.id == message_id), None)

    def _store(self, envelope) -> None:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        with self.lock:
            message = CaughtMessage(next(self._ids), envelope.mail_from,
                                    list(envelope.rcpt_tos), bytes(raw))
            self.messages.append(message)
        if self.spool_dir:
            os.makedirs(self.spool_dir, exist_ok=True)
            path = os.path.join(self.spool_dir, f"{message.id:06d}.eml")
            with open(path, "wb") as handle:
                handle.write(message.raw)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        expected_user, expected_password = self.credentials
        ok = (mechanism == "PLAIN"
              and getattr(auth_data, "login", b"") == expected_user.encode()
              and getattr(auth_data, "password", b"") == expected_password.encode())
        return AuthResult(success=ok, handled=False)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
