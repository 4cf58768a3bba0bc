"""SMTP: the only code in Apo that speaks to a mail server (N5, N6).

`send(settings, message)` delivers one `EmailMessage` and raises one of three errors, which
is all the outbox needs to decide whether it may try again:

- `MailTemporaryError`: the server did not take the message (connection refused, timeout
  before the data, 4xx): safe to retry;
- `MailPermanentError`: it did not take it and will not (5xx, failed login, no STARTTLS);
- `MailUncertainError`: the data went out but the answer never came back: the message may
  have been delivered, and SMTP has no idempotency key, so it must not be sent again blindly.
"""

from webapp.integrations.mail.smtp import (  # noqa: F401
    MailError,
    MailPermanentError,
    MailTemporaryError,
    MailUncertainError,
    SmtpSettings,
    send,
)
