"""Command line: ``python -m zoom_emulator --port P [--https] [--state-dir DIR] ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .servers import Emulator
from .state import Store


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zoom_emulator",
                                     description="Local Zoom OAuth + Meetings API emulator.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--https", action="store_true", help="serve TLS (self-signed)")
    parser.add_argument("--state-dir", help="directory that keeps the state across restarts")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--demo-callback", action="append", default=[],
                        help="redirect URI of the pre-registered demo OAuth app (repeatable)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    store = Store(args.seed, args.latency_ms, tuple(args.demo_callback), args.state_dir)
    emulator = Emulator(store, args.host, args.port, args.https, args.state_dir)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator.start()
    # Flushed lines a parent process reads to learn where the emulator listens.
    print(f"url: {store.public_url}", flush=True)
    if emulator.cert_path:
        print(f"cert: {emulator.cert_path}", flush=True)
    stop.wait()
    emulator.stop()
    with store.lock:
        store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
