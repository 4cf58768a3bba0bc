"""Booking e-mails (N1-N6): confirmation, update, cancellation and reminders with an .ics
invitation, recorded in an outbox in the booking's transaction and sent by the worker.

- `plan`: which messages a booking change creates (recipients, sequence, reminders);
- `invitation`: the RFC 5545 invitation (icalendar);
- `compose`: the MIME message, safe headers, Japanese encoded per RFC 2047;
- `delivery`: the send state machine (claim under a lease, send, mark) and the sweeper rules,
  on the outbox protocol of services/outbox.py.

Settings arrive as a `NotificationSettings` argument; nothing here reads the app config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.integrations.mail import SmtpSettings
from webapp.integrations.mail.smtp import TLS_MODES
from webapp.services.ical_uid import uid_domain


@dataclass(frozen=True)
class NotificationSettings:
    """Everything the notification services need, built once from the app config."""

    smtp: SmtpSettings | None
    sender: str = "Apo <noreply@apo.invalid>"
    base_url: str = ""  # APO_BASE_URL: the private links in e-mails need the public origin
    uid_domain: str = "apo.invalid"
    retry_intervals: tuple[float, ...] = (60.0, 300.0, 1800.0)
    lease_seconds: float = 120.0
    stale_seconds: float = 120.0
    # Signs the member's outcome link (R7); never shown in a repr or a log.
    link_secret: str = field(default="", repr=False)

    @classmethod
    def from_config(cls, config) -> NotificationSettings:
        """Read the MAIL_* settings (README, Configuration); a bad MAIL_TLS fails at startup.

        Raises:
            ValueError: MAIL_TLS is not one of none, starttls, ssl (a typo must never mean
            "send in clear").
        """
        tls = (config.get("MAIL_TLS") or "none").strip().lower()
        if tls not in TLS_MODES:
            raise ValueError(f"MAIL_TLS must be one of {', '.join(TLS_MODES)}")
        smtp = None
        if config.get("MAIL_SERVER"):
            smtp = SmtpSettings(
                host=config["MAIL_SERVER"], port=int(config.get("MAIL_PORT") or 25),
                tls=tls,
                username=config.get("MAIL_USERNAME") or "",
                password=config.get("MAIL_PASSWORD") or "",
                timeout=float(config.get("MAIL_TIMEOUT") or 10),
                ca_file=config.get("MAIL_CA_FILE") or "")
        base_url = (config.get("BASE_URL") or "").rstrip("/")
        raw = config.get("MAIL_RETRY_INTERVALS") or (60,)
        return cls(smtp=smtp, sender=config.get("MAIL_SENDER") or cls.sender,
                   base_url=base_url,
                   uid_domain=uid_domain(config),
                   retry_intervals=tuple(float(x) for x in raw),
                   lease_seconds=float(config.get("MAIL_LEASE_SECONDS") or 120),
                   link_secret=config.get("SECRET_KEY") or "",
                   stale_seconds=float(config.get("MAIL_SWEEP_STALE_SECONDS") or 120))
