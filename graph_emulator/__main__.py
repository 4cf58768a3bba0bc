"""Command line: ``python -m graph_emulator --login-port P --graph-port Q ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .servers import Emulator
from .state import Tenant


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m graph_emulator",
                                     description="Local Microsoft identity + Graph emulator.")
    parser.add_argument("--login-port", type=int, required=True)
    parser.add_argument("--graph-port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--demo-callback", action="append", default=[],
                        help="redirect URI of the seeded demo app (repeatable)")
    parser.add_argument("--https", action="store_true",
                        help="serve both origins over TLS with a fresh self-signed certificate")
    parser.add_argument("--state-dir", default=None,
                        help="keep the tenant in this directory across restarts")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    tenant = Tenant(seed_name=args.seed, latency_ms=args.latency_ms,
                    demo_callbacks=tuple(args.demo_callback))
    emulator = Emulator(tenant, args.host, args.login_port, args.graph_port,
                        https=args.https, state_dir=args.state_dir)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator.start()
    # One line per origin, flushed, so a parent process can read the URLs.
    print(f"login: {tenant.login_url}", flush=True)
    print(f"graph: {tenant.graph_url}", flush=True)
    if emulator.cert_path:
        print(f"cert: {emulator.cert_path}", flush=True)
    stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
