"""Calls per second of the Salesforce emulator: SOQL query and create, against a baseline.

Run: ``python bench/bench_emulator.py [--seconds 3]``. It starts the emulator (HTTP, no
latency injected), then makes sequential requests over one keep-alive requests.Session.
The baseline is ``GET /services/data/`` (the versions list: no auth, no org lock), which
measures what the HTTP server and client cost by themselves. The emulator's own CPU time
per call is also printed (from /proc): it gives its capacity on one core even when the
machine is busy with other work, which the wall-clock rate does not.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> tuple[subprocess.Popen, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "salesforce_emulator", "--login-port", str(free_port()),
         "--instance-port", str(free_port()), "--seed", "demo"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
    return process, urls["login"], urls["instance"]


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the emulator process (Linux /proc), else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


PID = 0


def measure(label: str, call, seconds: float) -> float:
    for _ in range(20):  # warm up connections and code paths
        call()
    cpu_before = server_cpu(PID)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        response = call()
        if response.status_code >= 300:
            raise SystemExit(f"{label}: HTTP {response.status_code} {response.text[:200]}")
        count += 1
    rate = count / (time.perf_counter() - started)
    cpu_ms = (server_cpu(PID) - cpu_before) * 1000 / count
    per_core = f"{1000 / cpu_ms:6.0f}/s per server core" if cpu_ms > 0 else "n/a"
    print(f"{label:<42} {rate:6.0f} calls/s ({1000 / rate:.2f} ms/call, n={count}); "
          f"server CPU {cpu_ms:.2f} ms/call = {per_core}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    global PID
    process, login, instance = start()
    PID = process.pid
    try:
        session = requests.Session()
        session.trust_env = False
        for _ in range(100):
            try:
                session.get(f"{instance}/__emulator__/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        token = session.post(f"{login}/services/oauth2/token", data={
            "grant_type": "password", "client_id": _demo("DEMO_CLIENT_ID"),
            "client_secret": _demo("DEMO_CLIENT_SECRET"),
            "username": "admin@apo-demo.example", "password": "apo-demo"}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        base = f"{instance}/services/data/v59.0"
        query = ("SELECT Id, Name, Email, Owner.Name FROM Lead "
                 "WHERE Email = 'known@example.com' AND IsConverted = false")
        lead = {"LastName": "Bench", "Company": "Bench Inc", "Email": "bench@example.com"}
        print(f"emulator at {instance} (its threaded HTTP/1.1 server, keep-alive)")
        baseline = measure("baseline GET /services/data/ (versions)",
                           lambda: session.get(f"{instance}/services/data/"), args.seconds)
        limits = measure("GET /limits (auth + accounting)",
                         lambda: session.get(f"{base}/limits", headers=auth), args.seconds)
        soql = measure("GET /query (SOQL, 1 row, relationship)",
                       lambda: session.get(f"{base}/query", params={"q": query},
                                           headers=auth), args.seconds)
        create = measure("POST /sobjects/Lead (create, validated)",
                         lambda: session.post(f"{base}/sobjects/Lead", json=lead,
                                              headers=auth), args.seconds)
        print(f"ratio to baseline: limits {limits / baseline:.2f}, query {soql / baseline:.2f},"
              f" create {create / baseline:.2f}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _demo(name: str) -> str:
    sys.path.insert(0, str(ROOT))
    from salesforce_emulator import seed

    return getattr(seed, name)


if __name__ == "__main__":
    main()
