"""Browser security headers on every response (X1), built with the `secure` library.

No inline script anywhere (templates load files from static/, htmx runs with eval and its
inline indicator styles off), no framing, no MIME sniffing, no powerful browser features.
The one exception to "no framing" is a booking page asked for with ``embed=1``: its
`frame-ancestors` lists the organization's own sites (O6, webapp/web/embed.py).
Private pages (admin, sign-in, the customer's /b/<token> pages) are never stored by caches,
and the /b/<token> pages send a referrer to Apo only, so the private link never leaves in a
Referer.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import secure
from flask import Flask, Response, request

from webapp.web import embed

# The connect form posts to Apo, which redirects to the Salesforce login host; browsers apply
# form-action to that redirect too, so the login hosts are listed.
SALESFORCE_FORM_TARGETS = ("https://*.salesforce.com", "https://*.force.com")
# The calendar connect forms redirect to Google's and Microsoft's sign-in the same way (K1),
# and the member's Zoom connect to Zoom's (V1).
CALENDAR_FORM_TARGETS = ("https://accounts.google.com", "https://login.microsoftonline.com",
                         "https://zoom.us")
# The customer's booking link (F4) and a member's calendar link (K1) are bearer credentials.
PRIVATE_LINK_PREFIXES = ("/b/", "/calendar/connect/", "/calendar/google/connect/",
                         "/calendar/microsoft/connect/", "/meetings/zoom/connect/",
                         "/meetings/zoom/disconnect/")

# Files that hold nothing private; the logo's URL changes with the logo.
CACHEABLE_ENDPOINTS = ("static", "public.org_logo")
# O6: the script the organization's site loads to show and size the frame.
EMBED_SCRIPT = "/static/embed.js"


def _form_targets(app: Flask) -> tuple[str, ...]:
    targets = ["'self'", *SALESFORCE_FORM_TARGETS, *CALENDAR_FORM_TARGETS]
    hosts = app.config.get("SALESFORCE_ALLOWED_INSTANCE_HOSTS") or ()
    for url in (app.config.get("SALESFORCE_LOGIN_URL"),
                app.config.get("SALESFORCE_SANDBOX_LOGIN_URL"),
                app.config.get("GOOGLE_BASE_URL"), app.config.get("MS_LOGIN_URL"),
                app.config.get("ZOOM_BASE_URL")):
        parts = urlsplit(url or "")
        if parts.scheme and parts.netloc:
            targets.append(f"{parts.scheme}://{parts.netloc}")
    targets += [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return tuple(dict.fromkeys(targets))


@lru_cache(maxsize=256)
def build(form_targets: tuple[str, ...], private_link: bool = False,
          frame_ancestors: tuple[str, ...] = ()) -> secure.Secure:
    csp = (secure.ContentSecurityPolicy()
           .default_src("'self'").script_src("'self'").style_src("'self'")
           .img_src("'self'", "data:").font_src("'self'").connect_src("'self'")
           .object_src("'none'").base_uri("'none'")
           .frame_ancestors(*(frame_ancestors or ("'none'",)))
           .form_action(*form_targets))
    permissions = (secure.PermissionsPolicy()
                   .accelerometer().camera().geolocation().gyroscope().magnetometer()
                   .microphone().midi().payment().usb().serial().hid().bluetooth()
                   .display_capture().browsing_topics())
    referrer = secure.ReferrerPolicy()
    if private_link:
        # Never to another site; to Apo itself it must go: Flask-WTF refuses a form posted
        # over HTTPS without a same-origin Referer (its SSL_STRICT check), so "no-referrer"
        # broke cancelling and rescheduling from the private link in production.
        referrer = referrer.same_origin()
    else:
        referrer = referrer.strict_origin_when_cross_origin()
    return secure.Secure(
        csp=csp, permissions=permissions, referrer=referrer,
        xcto=secure.XContentTypeOptions().nosniff(),
        # X-Frame-Options cannot name sites; where framing is allowed, CSP alone says where.
        xfo=None if frame_ancestors else secure.XFrameOptions().deny(),
        coop=secure.CrossOriginOpenerPolicy().same_origin(),
        corp=secure.CrossOriginResourcePolicy().same_origin(),
    )


def init_app(app: Flask) -> None:
    hsts = secure.StrictTransportSecurity().max_age(31536000).include_subdomains()

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        private_link = request.path.startswith(PRIVATE_LINK_PREFIXES)
        # Built from the config at request time (tests point the login hosts at the emulator).
        build(_form_targets(app), private_link, embed.frame_ancestors()).set_headers(response)
        if request.path == EMBED_SCRIPT:
            # The parent-page script is loaded by the organization's own site (O6).
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        if request.is_secure:
            response.headers[hsts.header_name] = hsts.header_value
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            # Every page carries a CSRF token, a session or a private link: caches keep none.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
