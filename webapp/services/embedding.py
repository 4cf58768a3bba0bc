"""O6: the sites an organization lets frame its booking pages, and the snippets it pastes.

An origin is written the way browsers compare it (scheme, host, port; no path), because it
goes verbatim into the page's `frame-ancestors` and is the `targetOrigin` of every message the
frame posts. So each line is parsed and rebuilt from checked parts, never copied: a header
value holds only `https://` (or `http://` for this machine's own names, for trying it out),
an IDNA-encoded host of letters, digits, dots and dashes, and a port.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from markupsafe import escape

MAX_ORIGINS = 20
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class OriginError(ValueError):
    """A line that is not a site's origin; the message says which and why."""


def parse_origin(line: str) -> str:
    """One origin, normalized (lower case, IDNA host, no default port), or OriginError."""
    text = line.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OriginError(_l("「%(line)s」はURLとして読めません。", line=text)) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OriginError(_l("「%(line)s」: https:// から始まるサイトのURLを入力してください。",
                             line=text))
    if parts.username is not None or parts.password is not None or parts.query or \
            parts.fragment or parts.path not in ("", "/") or text.endswith("?") or "*" in text:
        raise OriginError(_l("「%(line)s」: パスや「*」を含めず、https://www.example.com のように"
                             "サイトのURLだけを入力してください。", line=text))
    host = parts.hostname
    if parts.netloc.rsplit("@", 1)[-1].startswith("["):
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise OriginError(_l("「%(line)s」のホスト名が正しくありません。", line=text)) from exc
        if not _HOST.match(host):
            raise OriginError(_l("「%(line)s」のホスト名が正しくありません。", line=text))
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        # A page framed over plain HTTP can be rewritten on the way; only this machine's own
        # names are allowed without TLS, so a site can be tried out before it goes live.
        raise OriginError(_l("「%(line)s」: 埋め込み先は https:// のサイトに限ります。", line=text))
    origin = f"{parts.scheme}://{host}"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        origin += f":{port}"
    return origin


def parse_origins(text: str) -> list[str]:
    """Every non-blank line as an origin, without repeats; OriginError on the first bad one."""
    origins: list[str] = []
    for line in (text or "").splitlines():
        if line.strip():
            origin = parse_origin(line)
            if origin not in origins:
                origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise OriginError(_l("登録できるサイトは%(count)s件までです。", count=MAX_ORIGINS))
    return origins


def stored_origins(value: str | None) -> tuple[str, ...]:
    """The organization's saved list, checked again on the way out: these go into a header."""
    origins = []
    for line in (value or "").splitlines():
        try:
            origins.append(parse_origin(line))
        except OriginError:
            continue
    return tuple(origins)


def snippets(page_url: str, script_url: str, title: str, button_label: str) -> dict[str, str]:
    """The two pieces of HTML the organization pastes into its site: the page inline, and a
    button that opens it over the site. Neither carries inline script or style, so they
    work under the site's own strict CSP; embed.js does the rest."""
    frame_src = page_url + ("&" if "?" in page_url else "?") + "embed=1"
    script = f'<script src="{escape(script_url)}" async></script>'
    inline = (f'<iframe data-apo-embed src="{escape(frame_src)}" title="{escape(title)}" '
              f'width="100%" height="720" allow="clipboard-write" loading="lazy"></iframe>\n'
              + script)
    popup = (f'<a data-apo-popup href="{escape(page_url)}">{escape(button_label)}</a>\n'
             + script)
    return {"inline": inline, "popup": popup}
