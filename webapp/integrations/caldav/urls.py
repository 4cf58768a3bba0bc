"""The CalDAV URL check at input (X3), parsed as requests/urllib3 parse it.

A small local check until the shared strict URL helper lands: swap `check_caldav_url` for it.
"""

from __future__ import annotations

import ipaddress

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url


class UnsafeCalendarURL(ValueError):
    """A calendar URL Apo refuses to call; `str(exc)` says why (no secrets in it)."""


def check_caldav_url(url: str, test_hosts: tuple[str, ...] = ()) -> str:
    """The URL, normalized, when Apo may call it; else UnsafeCalendarURL.

    https only, except `host:port` origins listed in `test_hosts` (the local Radicale of tests
    and the demo); no user info (credentials go in their own fields); no backslash or control
    characters (parsers disagree on them); and no loopback or private address literal unless it
    is a configured test host, so a typed URL cannot reach Apo's own network.
    """
    url = (url or "").strip()
    if not url or "\\" in url or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise UnsafeCalendarURL("invalid characters")
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise UnsafeCalendarURL("not a URL") from None
    if parsed.auth is not None or "@" in (parsed.netloc or ""):
        raise UnsafeCalendarURL("user info in URL")
    if not parsed.host:
        raise UnsafeCalendarURL("no host")
    origin = f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    is_test_host = origin in test_hosts
    if parsed.scheme != "https" and not (parsed.scheme == "http" and is_test_host):
        raise UnsafeCalendarURL("https only")
    if not is_test_host and _internal(parsed.host):
        raise UnsafeCalendarURL("internal address")
    return parsed.url


def _internal(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global
