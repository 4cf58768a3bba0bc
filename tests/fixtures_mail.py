"""Mail fixtures: the mail catcher as the real SMTP server on a free port, and helpers to
send the outbox through it and parse the messages back with the standard library."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mail_catcher import MailCatcher
from webapp.extensions import db
from webapp.models import MessageStatus, OutboxMessage


@pytest.fixture
def smtp_server(app):
    """A running MailCatcher (aiosmtpd) on a free loopback port; the app sends to it."""
    with MailCatcher() as catcher:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=catcher.port, MAIL_TLS="none",
                          MAIL_SENDER="Apo 予約 <noreply@apo.example>", MAIL_TIMEOUT=3,
                          BASE_URL="https://apo.example", MAIL_RETRY_INTERVALS=[60, 300])
        yield catcher


def outbox(**filters) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def send_due() -> list[OutboxMessage]:
    """Run the send job for every pending message that is due now (not future reminders)."""
    from webapp.jobs import mail as mail_jobs
    from webapp.models import utcnow

    now = utcnow()
    rows = [r for r in outbox(status=MessageStatus.PENDING.value)
            if r.send_after is None or r.send_after <= now]
    ids = [r.id for r in rows]
    for message_id in ids:
        mail_jobs.send_message(message_id)
    db.session.expire_all()
    return [db.session.get(OutboxMessage, i) for i in ids]


def received(catcher: MailCatcher, to: str) -> list[EmailMessage]:
    """Messages the server accepted for envelope recipient `to`, parsed back (stdlib email)."""
    return [m.parsed() for m in catcher.messages if to in m.rcpt_tos]


def calendar_part(message: EmailMessage) -> bytes:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "expected one text/calendar part"
    return parts[0].get_payload(decode=True)


def body(message: EmailMessage, subtype: str = "plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()
