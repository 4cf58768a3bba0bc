"""Command line: ``python -m mail_catcher --smtp-port P --web-port Q [--spool DIR]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from werkzeug.serving import make_server

from mail_catcher.server import MailCatcher
from mail_catcher.web import create_app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mail_catcher",
                                     description="Local SMTP mail catcher with a web page.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--spool", help="directory that also keeps each message as .eml")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds to wait before answering each message (a slow server)")
    args = parser.parse_args(argv)
    catcher = MailCatcher(args.host, args.smtp_port, spool_dir=args.spool, delay=args.delay)
    catcher.start()
    web = make_server(args.host, args.web_port, create_app(catcher), threaded=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=web.serve_forever, daemon=True).start()
    print(f"smtp: {args.host}:{catcher.port}", flush=True)
    print(f"web: http://{args.host}:{args.web_port}/", flush=True)
    stop.wait()
    web.shutdown()
    catcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
