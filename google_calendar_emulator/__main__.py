"""Command line: ``python -m google_calendar_emulator --port P [--seed demo|empty] ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from werkzeug.serving import make_server

from .app import build_app
from .state import Store


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m google_calendar_emulator",
                                     description="Local Google OAuth + Calendar API emulator.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--demo-callback", action="append", default=[],
                        help="redirect URI of the pre-registered demo OAuth client (repeatable)")
    args = parser.parse_args(argv)
    store = Store(args.seed, args.latency_ms, tuple(args.demo_callback))
    server = make_server(args.host, args.port, build_app(store), threaded=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"url: http://{args.host}:{server.server_port}", flush=True)
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
