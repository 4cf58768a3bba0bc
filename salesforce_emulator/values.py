"""Wire formats of dates and datetimes, shared by SOQL, DML and the seed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_datetime(moment: datetime) -> str:
    """Salesforce renders datetimes in UTC as ``2024-01-15T10:30:00.000+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse ISO-8601 input with ``Z``, ``+00:00`` or ``+0000`` (no zone means UTC)."""
    match = _DATETIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = UTC
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute),
                        int(second or 0), micro, tzinfo=tz)
    except ValueError:
        return None


def normalize_datetime(text: str) -> str | None:
    """Canonical stored form (second precision, like Salesforce), or None when invalid."""
    moment = parse_datetime(text)
    if moment is None:
        return None
    return format_datetime(moment.replace(microsecond=0))


def parse_date(text: str) -> date | None:
    match = _DATE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
