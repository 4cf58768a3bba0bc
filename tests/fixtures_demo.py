"""The `demo` fixture: a fresh `make run` (STYLE 3.9, system ring) for the browser journeys.

It starts exactly what `make run` starts (scripts/run_demo.py's `Demo`): an embedded Redis,
`flask db upgrade`, `flask seed-demo`, the Salesforce emulator with the demo seed, gunicorn and
worker.py, on free loopback ports in a throwaway instance directory. The database is always
SQLite in that directory, whatever DATABASE_URL says (the PostgreSQL pass of `make test` owns
that database and empties it per test), and Redis is always a fresh embedded one, so the demo
shares nothing with the rest of the suite. Teardown stops every process, also on failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from run_demo import Demo  # noqa: E402
from services import free_port  # noqa: E402

# Settings of the surrounding test run that must not leak into the demo's processes.
_DROPPED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "APO_ENCRYPTION_KEYS", "APO_BASE_URL",
            "APO_RQ_QUEUE", "APO_RATELIMIT_STORAGE_URI", "FLASK_APP", "MAIL_SERVER", "MAIL_PORT",
            "MAIL_TLS", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SENDER")


class RunningDemo:
    """Handles on a started `Demo`: URLs, the emulator's control API, logs."""

    def __init__(self, demo: Demo):
        self.demo = demo
        self.url = demo.base_url
        self.login_url = demo.login_url
        self.instance_url = demo.instance_url
        self.mail_url = demo.mail_url
        self.zoom_url = demo.zoom_url
        self.instance_dir = Path(demo.instance_dir)
        self.log_dir = Path(demo.log_dir)
        self.http = requests.Session()
        self.http.trust_env = False

    def control(self, method: str, path: str, json=None):
        """Call the emulator's control API (`/__emulator__/<path>`); returns the JSON."""
        response = self.http.request(method, f"{self.instance_url}/__emulator__/{path}",
                                     json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def records(self, sobject: str) -> list[dict]:
        """Every stored record of `sobject` in the emulator (raw field values)."""
        data = self.control("GET", f"records/{sobject}")
        return data["records"] if isinstance(data, dict) and "records" in data else data

    def logs(self) -> str:
        """The tail of every process log, for a failing test's report."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"----- {path.name} -----\n{text[-4000:]}")
        return "\n".join(parts)


def demo_fixture(name: str = "demo"):
    """A module-scoped fixture called `name` that yields a fresh `RunningDemo`.

    `demo` below is the usual one; a module that needs a second, independent demo (e.g. the
    English journey) declares `demo_en = demo_fixture("demo_en")`.
    """

    @pytest.fixture(scope="module", name=name)
    def fixture(tmp_path_factory):
        instance = tmp_path_factory.mktemp(f"apo-{name}")
        environ = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        runner = Demo(str(instance), port=free_port(), login_port=free_port(),
                      instance_port=free_port(), google_port=free_port(), environ=environ,
                      smtp_port=free_port(), mail_web_port=free_port(), zoom_port=free_port(),
                      log_dir=str(instance / "logs"))
        with runner:
            yield RunningDemo(runner)
            exited = runner.exited()
            if exited:
                print(f"demo process {exited[0]} exited with {exited[1]}")

    return fixture


demo = demo_fixture("demo")
