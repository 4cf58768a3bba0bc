"""SOQL and record helpers: literal escaping, datetime formats and record page URLs.

Pure functions, no network: SOQL has no bind parameters over REST, so every literal a caller
puts in a query goes through ``escape_soql``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote


def record_url(instance_url: str, sobject: str, record_id: str) -> str:
    """The Lightning page of a record: ``<instance>/lightning/r/<SObject>/<Id>/view``."""
    return f"{instance_url.rstrip('/')}/lightning/r/{quote(sobject)}/{quote(record_id)}/view"


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC, unquoted), e.g. ``2030-01-07T01:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_datetime(value: datetime) -> str:
    """A datetime for a request body, in the format Salesforce returns."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def escape_soql(value: str) -> str:
    """Escape a value for a single-quoted SOQL literal (backslash first)."""
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\b": "\\b", "\f": "\\f"}
    return "".join(table.get(ch, ch) for ch in value)
