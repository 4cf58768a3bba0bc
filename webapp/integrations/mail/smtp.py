"""smtplib with timeouts, STARTTLS or implicit TLS, AUTH, and the DATA phase split in two so a
lost final reply is told apart from a refusal (see the package docstring)."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

TLS_MODES = ("none", "starttls", "ssl")


class MailError(Exception):
    """Base of every SMTP failure; the message never holds the password or the body."""


class MailTemporaryError(MailError):
    """Not delivered; trying again later may work."""


class MailPermanentError(MailError):
    """Not delivered and retrying will not help (5xx, authentication, TLS missing)."""


class MailUncertainError(MailError):
    """The server may or may not have accepted the message."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect (N6). `tls`: "none", "starttls" or "ssl" (implicit TLS)."""

    host: str
    port: int = 25
    tls: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    ca_file: str = ""  # extra trusted CA bundle, e.g. a self-signed test or relay certificate

    def __repr__(self) -> str:  # never print the password (tracebacks, logs)
        return f"SmtpSettings(host={self.host!r}, port={self.port}, tls={self.tls!r})"


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Deliver `message` to every address in its To/Cc headers, from its Sender or From.

    Raises:
        MailTemporaryError, MailPermanentError, MailUncertainError (see the package).
    """
    envelope_from = _addresses(message, ("Sender",)) or _addresses(message, ("From",))
    recipients = _addresses(message, ("To", "Cc"))
    if not envelope_from or not recipients:
        raise MailPermanentError("message has no sender or no recipient")
    raw = message.as_bytes()
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailTemporaryError(f"cannot reach {settings.host}:{settings.port}: "
                                 f"{type(exc).__name__}") from None
    try:
        _envelope(smtp, envelope_from[0], recipients)
        _data(smtp, raw)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    if settings.tls == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.tls == "starttls":
            # Never fall back to plain text when the server does not offer TLS.
            if not smtp.has_extn("starttls"):
                raise MailPermanentError("the server does not offer STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password)
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise MailPermanentError(f"authentication failed ({exc.smtp_code})") from None
    except BaseException:
        smtp.close()
        raise
    return smtp


def _envelope(smtp: smtplib.SMTP, sender: str, recipients: list[str]) -> None:
    try:
        code, reply = smtp.mail(sender)
        _check(code, reply, "MAIL FROM")
        for address in recipients:
            code, reply = smtp.rcpt(address)
            _check(code, reply, "RCPT TO")
        code, reply = smtp.docmd("DATA")
        _check(code, reply, "DATA", expected=354)
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise MailTemporaryError(f"connection lost before the data: {type(exc).__name__}") from None


def _data(smtp: smtplib.SMTP, raw: bytes) -> None:
    # From here on the server may keep the message even if its answer is lost.
    payload = re.sub(rb"(?m)^\.", b"..", raw)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    try:
        smtp.send(payload + b".\r\n")
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise MailUncertainError(f"no answer after the data: {type(exc).__name__}") from None
    _check(code, reply, "end of data")


def _check(code: int, reply: bytes, step: str, expected: int | None = None) -> None:
    if (expected is None and 200 <= code < 300) or code == expected:
        return
    text = f"{step}: {code} {reply.decode('utf-8', 'replace')[:200]}"
    if 400 <= code < 500 or code == -1:
        raise MailTemporaryError(text)
    raise MailPermanentError(text)


def _addresses(message: EmailMessage, names: tuple[str, ...]) -> list[str]:
    found = []
    for name in names:
        header = message.get(name)
        for address in getattr(header, "addresses", ()) if header is not None else ():
            found.append(address.addr_spec)
    return found
