"""The catcher's web page: the list of caught messages, one message with its HTML preview (in
a sandboxed frame) and text part, and downloads of the .ics invitation and the raw .eml.

The HTML part is served on its own URL with a `sandbox` Content-Security-Policy and shown in
an `<iframe sandbox>`: what a mail says can never script the catcher page.
"""

from __future__ import annotations

from email.message import EmailMessage

from flask import Flask, Response, abort, jsonify, render_template

from mail_catcher.server import CaughtMessage, MailCatcher

SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
PAGE_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


def create_app(catcher: MailCatcher) -> Flask:
    """A Flask app showing `catcher`'s messages (it only reads them)."""
    app = Flask(__name__)

    def message_or_404(message_id: int) -> CaughtMessage:
        message = catcher.get(message_id)
        if message is None:
            abort(404)
        return message

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def index():
        with catcher.lock:
            messages = list(reversed(catcher.messages))
        return render_template("index.html", rows=[summary(m) for m in messages])

    @app.get("/messages/<int:message_id>")
    def show(message_id: int):
        message = message_or_404(message_id)
        return render_template("message.html", m=summary(message),
                               text=part_text(message.parsed(), "text/plain"))

    @app.get("/messages/<int:message_id>/html")
    def html_part(message_id: int):
        html = part_text(message_or_404(message_id).parsed(), "text/html")
        response = Response(html or "", mimetype="text/html")
        response.headers["Content-Security-Policy"] = SANDBOX_CSP
        return response

    @app.get("/messages/<int:message_id>/invite.ics")
    def ics(message_id: int):
        data = calendar_bytes(message_or_404(message_id).parsed())
        if data is None:
            abort(404)
        return Response(data, mimetype="text/calendar", headers={
            "Content-Disposition": f'attachment; filename="invite-{message_id}.ics"'})

    @app.get("/messages/<int:message_id>/raw.eml")
    def raw(message_id: int):
        return Response(message_or_404(message_id).raw, mimetype="message/rfc822", headers={
            "Content-Disposition": f'attachment; filename="message-{message_id}.eml"'})

    @app.get("/api/messages")
    def api_messages():
        with catcher.lock:
            messages = list(catcher.messages)
        return jsonify([summary(m) for m in messages])

    return app


def summary(message: CaughtMessage) -> dict:
    parsed = message.parsed()
    return {
        "id": message.id, "received_at": message.received_at.isoformat(timespec="seconds"),
        "from": str(parsed.get("From", "")), "to": str(parsed.get("To", "")),
        "subject": str(parsed.get("Subject", "")), "envelope_to": message.rcpt_tos,
        "has_ics": calendar_bytes(parsed) is not None,
        "method": calendar_method(parsed),
    }


def part_text(parsed: EmailMessage, content_type: str) -> str | None:
    for part in parsed.walk():
        if part.get_content_type() == content_type and not part.is_attachment():
            return part.get_content()
    return None


def calendar_bytes(parsed: EmailMessage) -> bytes | None:
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True)
    return None


def calendar_method(parsed: EmailMessage) -> str:
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method") or ""
    return ""
