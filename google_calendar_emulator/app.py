"""The Flask app serving every Google origin the product talks to on one port:
accounts.google.com (authorize), oauth2.googleapis.com (token, revoke),
openidconnect.googleapis.com (userinfo) and www.googleapis.com (Calendar API v3)."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request

from . import api, control, oauth, ui
from .state import Store


def build_app(store: Store) -> Flask:
    app = Flask("google_calendar_emulator",
                template_folder=os.path.join(os.path.dirname(__file__), "templates"))
    app.config["STORE"] = store
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(ui.bp)

    @app.after_request
    def _persist(response):
        # Any call may change lasting state (a listing issues a sync token): keep it on disk.
        if store.state_file and request.endpoint != "control.health":
            store.save()
        return response

    @app.errorhandler(404)
    def _not_found(_error):
        return jsonify({"error": {"errors": [{"domain": "global", "reason": "notFound",
                                              "message": "Not Found"}],
                                  "code": 404, "message": "Not Found"}}), 404

    return app
