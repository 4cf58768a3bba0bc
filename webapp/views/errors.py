"""Error pages. CSRF failures on htmx requests ask the page to reload for a fresh token."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from webapp.views import auth
from webapp.web.htmx import hx_refresh, is_htmx


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if is_htmx():
            return hx_refresh()
        return render_template("errors/400.html", reason="csrf"), 400

    @app.errorhandler(400)
    def bad_request(error):
        return render_template("errors/400.html", reason=None), 400

    @app.errorhandler(404)
    def not_found(error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(413)
    def too_large(error):
        return render_template("errors/413.html"), 413

    @app.errorhandler(429)
    def too_many(error):
        if request.endpoint == "auth.login" and error.description == auth.ACCOUNT_LOCKED:
            return auth.locked_out()
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(error):
        return render_template("errors/500.html"), 500
