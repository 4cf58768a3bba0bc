"""A second web server in its own processes: gunicorn on the test's database and Redis.

For rules that must hold across web processes (X2, X5): the test's in-process client and this
server share only what production processes share, the database and Redis.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from services import free_port, wait_for_port  # noqa: E402

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Gunicorn:
    def __init__(self, app, redis_url: str, log_path: Path, workers: int = 1, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("DATABASE_URL", "REDIS_URL", "APO_RATELIMIT_STORAGE_URI")}
        environ.update(SECRET_KEY=app.config["SECRET_KEY"], REDIS_URL=redis_url,
                       DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                       APO_INSECURE_COOKIES="1", APO_BASE_URL=self.url,
                       APO_ENCRYPTION_KEYS=Fernet.generate_key().decode(), **env)
        self._log = open(log_path, "ab")
        # From the repository root, so gunicorn.conf.py (the redacting access log) applies.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--access-logfile", "-"],
            cwd=ROOT, env=environ, stdout=self._log, stderr=self._log, start_new_session=True)
        wait_for_port(self.port, timeout=30)
        self.http = requests.Session()
        self.http.trust_env = False
        self._wait_until_serving()

    def _wait_until_serving(self, timeout: float = 60.0) -> None:
        # The master listens before its workers have imported the app.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()[-3000:]}")
            try:
                if self.http.get(self.url + "/login", timeout=10).status_code == 200:
                    return
            except requests.RequestException:  # the worker may still be importing the app
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve:\n{self.log()[-3000:]}")

    def post_form(self, path: str, data: dict, token_from: str, **kwargs):
        html = self.http.get(self.url + token_from, timeout=30).text
        match = _TOKEN.search(html)
        token = match.group(1) or match.group(2)
        return self.http.post(self.url + path, data={**data, "csrf_token": token},
                              allow_redirects=False, timeout=30, **kwargs)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
