"""Two Flask apps (login origin, Graph origin) over one Tenant, each on its own thread."""

from __future__ import annotations

import os
import threading

from flask import Flask
from werkzeug.serving import make_server

from . import control, graph, graph_events, identity, schedule  # noqa: F401 - routes
from .state import Tenant


def _app(tenant: Tenant, name: str) -> Flask:
    app = Flask(name, template_folder=os.path.join(os.path.dirname(__file__), "templates"))
    app.config["TENANT"] = tenant
    app.url_map.strict_slashes = False
    return app


def build_login_app(tenant: Tenant) -> Flask:
    app = _app(tenant, "graph_emulator.login")
    app.register_blueprint(identity.bp)
    return app


def build_graph_app(tenant: Tenant) -> Flask:
    app = _app(tenant, "graph_emulator.graph")
    app.register_blueprint(graph.bp)
    app.register_blueprint(schedule.bp)
    app.register_blueprint(control.bp)
    return app


class Emulator:
    def __init__(self, tenant: Tenant, host: str, login_port: int, graph_port: int):
        self.tenant = tenant
        self.servers = [make_server(host, login_port, build_login_app(tenant), threaded=True),
                        make_server(host, graph_port, build_graph_app(tenant), threaded=True)]
        tenant.login_url = f"http://{host}:{self.servers[0].server_port}"
        tenant.graph_url = f"http://{host}:{self.servers[1].server_port}"
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
