"""O6: a booking page inside a frame on the organization's own website.

The frame's URL carries ``embed=1``; every link and form of the public pages keeps it (a URL
default of the public blueprint), so the whole booking, confirmation included, stays in the
frame. Two things differ from a visit in a tab:

- `frame-ancestors` lists the organization's sites for that page's responses only, and
  X-Frame-Options is left off them; every other response keeps `'none'` (X1), and the admin
  screens never take the parameter (their paths are not embeddable).
- The session travels in its own cookie, ``apo_embed``: ``SameSite=None; Secure;
  Partitioned``. In a frame on another site the browser withholds the usual ``Lax`` cookie,
  so the CSRF token of the booking form would be lost; a separate name keeps that relaxed
  cookie away from the admin's sign-in, and ``Partitioned`` (CHIPS) keys it to the framing
  site, so it works where third-party cookies are blocked and no other site can read it.
  CSRF is still checked by the token in the form and the htmx header, as everywhere.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

EMBED_ARG = "embed"
EMBED_COOKIE = "apo_embed"
# The customer-facing flow: the page, its form and routing step, and the private pages.
EMBEDDABLE_PREFIXES = ("/p/", "/b/")
_ENVIRON_KEY = "apo.frame_ancestors"


def requested() -> bool:
    """This request is the booking flow inside a frame (by its URL, so before any routing)."""
    return (has_request_context() and request.args.get(EMBED_ARG) == "1"
            and request.path.startswith(EMBEDDABLE_PREFIXES))


def allow_framing(origins: tuple[str, ...]) -> None:
    """The page this request shows may be framed by these sites (checked, normalized)."""
    if requested() and origins:
        # On the request, not ``g``: an app context can outlive a request (tests, CLI).
        request.environ[_ENVIRON_KEY] = origins


def frame_ancestors() -> tuple[str, ...]:
    return request.environ.get(_ENVIRON_KEY, ()) if has_request_context() else ()


class EmbedSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, under its own cross-site cookie inside a frame."""

    def get_cookie_name(self, app: Flask) -> str:
        return EMBED_COOKIE if requested() else super().get_cookie_name(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if requested() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        # Browsers drop a SameSite=None cookie without Secure; they accept Secure over plain
        # HTTP on localhost, so this holds for the demo too.
        return True if requested() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if requested() else super().get_cookie_partitioned(app)


def init_app(app: Flask) -> None:
    app.session_interface = EmbedSessionInterface()

    @app.context_processor
    def framing() -> dict:
        # The sites this response may be shown in; the frame's script posts to these only.
        return {"embed_origins": list(frame_ancestors())}


def keep_embed(endpoint: str, values: dict) -> None:
    """URL default of the public blueprint: inside a frame, every link stays in the frame."""
    if requested() and EMBED_ARG not in values:
        values[EMBED_ARG] = "1"
