"""Command line: ``python -m google_calendar_emulator --port P [--seed demo|empty] ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from werkzeug.serving import make_server

from .app import build_app
from .push import Dispatcher
from .state import Store
from .tls import self_signed_context


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m google_calendar_emulator",
                                     description="Local Google OAuth + Calendar API emulator.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--demo-callback", action="append", default=[],
                        help="redirect URI of the pre-registered demo OAuth client (repeatable)")
    parser.add_argument("--https", action="store_true",
                        help="serve TLS with a fresh self-signed certificate (printed as cert:)")
    parser.add_argument("--state-dir",
                        help="directory that keeps accounts, tokens, events and channels across "
                             "restarts (state.json)")
    parser.add_argument("--push-http-hosts", default="",
                        help="comma-separated hosts (or host:port) that may receive push "
                             "notifications over plain HTTP; Google requires HTTPS")
    parser.add_argument("--push-ca-bundle",
                        help="CA bundle trusted when delivering to HTTPS addresses")
    args = parser.parse_args(argv)
    hosts = tuple(h.strip() for h in args.push_http_hosts.split(",") if h.strip())
    store = Store(args.seed, args.latency_ms, tuple(args.demo_callback), args.state_dir, hosts)
    context = self_signed_context(args.host) if args.https else None
    server = make_server(args.host, args.port, build_app(store), threaded=True,
                         ssl_context=context)
    Dispatcher(store, args.push_ca_bundle).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context else "http"
    print(f"url: {scheme}://{args.host}:{server.server_port}", flush=True)
    if context:
        print(f"cert: {context.cert_path}", flush=True)
    stop.wait()
    server.shutdown()
    store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
