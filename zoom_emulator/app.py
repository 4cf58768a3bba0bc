"""The Flask app serving both Zoom origins the product talks to on one port: zoom.us
(/oauth/authorize, /oauth/token, /oauth/revoke) and api.zoom.us (/v2/...)."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request

from . import api, control, oauth, ui
from .state import Store


def build_app(store: Store) -> Flask:
    app = Flask("zoom_emulator",
                template_folder=os.path.join(os.path.dirname(__file__), "templates"))
    app.config["STORE"] = store
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    for blueprint in (oauth.bp, api.bp, control.bp, ui.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(404)
    def _not_found(error):
        if request.path.startswith("/v2/"):
            return jsonify({"code": 404, "message": "Not Found"}), 404
        return error

    @app.errorhandler(405)
    def _not_allowed(error):
        if request.path.startswith("/v2/"):
            return jsonify({"code": 405, "message": "Method Not Allowed"}), 405
        return error

    return app
