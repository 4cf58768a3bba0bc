"""The allow-list check for every URL Apo will call that came from input (X3).

A URL is judged by the host the HTTP client will actually connect to, so it is parsed with
urllib3's ``parse_url`` and requests' own ``PreparedRequest.prepare_url`` (the code that sends
the request), and both must agree. Before parsing, anything that parsers or browsers read
differently is refused outright: backslashes (browsers read ``\\`` as ``/``, ``urlsplit`` does
not), user info, percent-encoding, whitespace and control characters, and every non-ASCII
character (Unicode full stops such as 。 or ． become ``.`` after IDNA mapping). Hosts are then
plain lowercase DNS labels under one of the allowed suffixes, over https on the default port;
only origins configured for tests (the emulator) may be http or carry a port.

Salesforce login hosts, My Domain, instance and identity URLs pass Salesforce's suffixes;
calendar URLs (CalDAV servers have no suffix list) pass ``suffixes=None``: any public DNS host
on any port, never a loopback, private or link-local address literal, in any of the forms the
resolver reads as one (``literal_address``). What a name resolves to is checked when Apo
connects (``resolve_public``, and the pinned connections of ``guarded_http``).
"""

from __future__ import annotations

import ipaddress
import re
import socket

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

MAX_LENGTH = 2048
# What may appear at all: printable ASCII without space, backslash, quote or brackets; a
# percent only as a valid escape. The authority is stricter still: host and port, nothing else.
_ALLOWED_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#&=+,;!$*()@]|%[0-9A-Fa-f]{2})+")
_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")
_AUTHORITY = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class RefusedURL(ValueError):
    """The URL is not one Apo will call; ``reason`` says which rule refused it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def checked_url(url: str, suffixes: tuple[str, ...] | list[str] | None = (),
                test_origins: tuple[str, ...] | list[str] = (), *, allow_path: bool = True,
                allow_query: bool = False) -> str:
    """Return ``url`` in canonical form (lowercase scheme and host, no default port, no
    trailing slash) when the HTTP client would send it to an allowed host; raise otherwise.

    ``suffixes`` are DNS suffixes a host must fall strictly under (``"salesforce.com"`` accepts
    ``acme.my.salesforce.com``, not ``salesforce.com`` nor ``evilsalesforce.com``).
    ``suffixes=None`` accepts any public host and port (CalDAV servers are wherever the member
    keeps them) but still refuses address literals that are not global.
    ``test_origins`` are exact ``host[:port]`` values that may also use plain http.

    Raises:
        RefusedURL: the URL is refused; nothing should be stored or called.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_LENGTH:
        raise RefusedURL("empty_or_too_long")
    if not _ALLOWED_CHARS.fullmatch(url):
        raise RefusedURL("forbidden_character")
    prefix = _PREFIX.match(url)
    if prefix is None:
        raise RefusedURL("unparsable")
    if not _AUTHORITY.fullmatch(prefix.group(2)):
        # "@" (user info), "%" (encoded dots) or anything else a parser might read differently.
        raise RefusedURL("user_info" if "@" in prefix.group(2) else "authority")
    try:
        parsed = parse_url(url)
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        sent = parse_url(prepared.url)
    except (LocationParseError, requests.exceptions.RequestException, ValueError):
        raise RefusedURL("unparsable") from None
    if parsed.auth or sent.auth:
        raise RefusedURL("user_info")
    if parsed.fragment:
        raise RefusedURL("fragment")
    host, scheme, port = (parsed.host or "").lower(), (parsed.scheme or "").lower(), parsed.port
    if not host or (sent.host or "").lower() != host or sent.port != port:
        raise RefusedURL("ambiguous_host")
    path = (parsed.path or "").rstrip("/")
    if (path and not allow_path) or (parsed.query and not allow_query):
        raise RefusedURL("path_not_allowed")
    origin = f"{host}:{port}" if port is not None else host
    if origin in {o.strip().lower() for o in test_origins if o.strip()}:
        if scheme not in ("http", "https"):
            raise RefusedURL("scheme")
    else:
        _check_public_host(host, scheme, port, suffixes)
        origin = host
    query = f"?{parsed.query}" if parsed.query else ""
    return f"{scheme}://{origin}{path}{query}"


def is_allowed_url(url: str, suffixes: tuple[str, ...] | list[str] = (),
                   test_origins: tuple[str, ...] | list[str] = (), **kwargs) -> bool:
    """``checked_url`` as a yes/no answer."""
    try:
        checked_url(url, suffixes, test_origins, **kwargs)
    except RefusedURL:
        return False
    return True


def _check_public_host(host: str, scheme: str, port: int | None, suffixes) -> None:
    if scheme != "https":
        raise RefusedURL("scheme")
    if port not in (None, 443) and suffixes is not None:
        raise RefusedURL("port")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise RefusedURL("host")
    if suffixes is None:
        if _is_internal_literal(host):
            raise RefusedURL("internal_address")
        return
    if not any(host.endswith("." + suffix.lower().strip(".")) for suffix in suffixes):
        raise RefusedURL("host_not_allowed")


def _is_internal_literal(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and not is_public(address)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names without DNS, read the way the HTTP client reads it.

    glibc's getaddrinfo, under requests and urllib3, takes every inet_aton form as an IPv4
    address (``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``169.254.43518``, ``0.0``), which
    Python's ``ipaddress`` refuses; so both are asked. None for a DNS name.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address: not loopback, private, link-local, shared (CGNAT), reserved,
    unspecified or multicast, also when wrapped as IPv4-mapped or 6to4 IPv6 (X3)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast


def resolve_public(host: str, port: int) -> str:
    """The first address of ``host``, once every address it resolves to is public (X3).

    Raises:
        RefusedURL: ``internal_address`` when any answer is internal (a name pointing inside,
        DNS rebinding), ``unresolvable`` when there is none.
    """
    literal = literal_address(host)
    if literal is not None:
        if not is_public(literal):
            raise RefusedURL("internal_address")
        return str(literal)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedURL("unresolvable") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in answers]
    if not addresses:
        raise RefusedURL("unresolvable")
    if not all(is_public(a) for a in addresses):
        raise RefusedURL("internal_address")
    return str(addresses[0])
