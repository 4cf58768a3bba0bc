"""Command line: ``python -m salesforce_emulator --login-port P --instance-port Q ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .servers import Emulator
from .state import Org


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m salesforce_emulator",
                                     description="Local Salesforce emulator (OAuth + REST).")
    parser.add_argument("--login-port", type=int, required=True)
    parser.add_argument("--instance-port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--https", action="store_true", help="serve TLS (self-signed)")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--data", help="JSON file that keeps the org across restarts")
    parser.add_argument("--demo-callback", action="append", default=[],
                        help="callback URL of the seeded demo connected app (repeatable)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    org = Org(data_file=args.data, latency_ms=args.latency_ms, seed_name=args.seed,
              demo_callbacks=tuple(args.demo_callback))
    emulator = Emulator(org, args.host, args.login_port, args.instance_port, args.https)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator.start()
    # One line per origin, flushed, so a parent process can read the URLs.
    print(f"login: {org.login_url}", flush=True)
    print(f"instance: {org.instance_url}", flush=True)
    if emulator.cert_path:
        print(f"cert: {emulator.cert_path}", flush=True)
    stop.wait()
    emulator.stop()
    with org.lock:
        org.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
