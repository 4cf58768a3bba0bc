"""The CalDAV URL check at input (X3): the shared allow-list's parsing, any public host."""

from __future__ import annotations

from urllib3.util import parse_url

from webapp.integrations.urls import RefusedURL, checked_url


class UnsafeCalendarURL(ValueError):
    """A calendar URL Apo refuses to call; `str(exc)` says why (no secrets in it)."""


def check_caldav_url(url: str, test_hosts: tuple[str, ...] = ()) -> str:
    """The URL, normalized, when Apo may call it; else UnsafeCalendarURL.

    Parsed as requests sends it (the shared X3 rules: no backslash, user info, percent tricks
    or non-ASCII in the host); https only, except `host:port` origins listed in `test_hosts`
    (the local Radicale of tests and the demo); any public host, since CalDAV servers have no
    suffix list, but never a loopback or private address literal, so a typed URL cannot reach
    Apo's own network. The path is returned as typed (collections end in a slash).
    """
    url = (url or "").strip()
    try:
        checked_url(url, None, test_hosts, allow_query=True)
    except RefusedURL as exc:
        raise UnsafeCalendarURL(exc.reason) from None
    return parse_url(url).url
