"""Freshness and the confirm race (K7, K8), for bench/bench_calendars.py.

Everything real on this machine: Radicale, the Google, Microsoft Graph and Salesforce emulators,
Apo on a threaded HTTP server (the public page and the push hooks), one `worker.py` process
with its sweeper and scheduler, an embedded Redis, a SQLite file. Four members, one per busy
source (a CalDAV calendar, a Google calendar, a Microsoft 365 calendar, Salesforce Events),
each on a page of their own, all at the product's default intervals.

- freshness: a busy event is created at the provider, then the member's public page is read
  every 0.25 s until the slot is gone; the time from the event's creation, median of
  ``rounds`` with min and max, per source.
- race: a busy event is created at the provider and, once the provider has answered, a
  customer confirms that slot at once (the stored copy still offers it); a booking made is a
  double booking.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """The running system the two measurements use."""

    def __init__(self):
        sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
        from cryptography.fernet import Fernet
        from radicale_server import RadicaleServer

        from scripts.services import start_embedded_redis
        from tests.fixtures_google_calendar_emulator import PUSH_TEST_HOSTS, start_gcal_emulator
        from tests.fixtures_graph import start_graph_emulator
        from tests.fixtures_salesforce_emulator import start_emulator

        self.work = tempfile.mkdtemp(prefix="apo-bench-fresh-")
        self.redis, self.redis_url = start_embedded_redis()
        self.radicale = RadicaleServer(os.path.join(self.work, "radicale"))
        self.gcal = _retry(lambda: start_gcal_emulator("--seed", "demo", *PUSH_TEST_HOSTS))
        self.graph = _retry(lambda: start_graph_emulator("--seed", "demo"))
        self.salesforce = _retry(lambda: start_emulator("--seed", "demo"))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        client_id, secret = self.gcal.register_client([f"{self.base}/calendar/google/callback"])
        from tests.fixtures_graph import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

        sf_hosts = ",".join(urlsplit(u).netloc for u in (self.salesforce.instance_url,
                                                         self.salesforce.login_url))
        ms_hosts = ",".join(urlsplit(u).netloc for u in (self.graph.login_url,
                                                         self.graph.graph_url))
        self.env = {
            "DATABASE_URL": f"sqlite:///{self.work}/apo.sqlite3", "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench-secret", "APO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "APO_BASE_URL": self.base, "APO_UID_DOMAIN": "apo.test",
            "APO_CALDAV_TEST_HOSTS": self.radicale.origin,
            "GOOGLE_CLIENT_ID": client_id, "GOOGLE_CLIENT_SECRET": secret,
            "GOOGLE_BASE_URL": self.gcal.url, "MS_CLIENT_ID": DEMO_CLIENT_ID,
            "MS_CLIENT_SECRET": DEMO_CLIENT_SECRET, "MS_LOGIN_URL": self.graph.login_url,
            "MS_GRAPH_URL": self.graph.graph_url, "MS_TEST_HOSTS": ms_hosts,
            "SALESFORCE_LOGIN_URL": self.salesforce.login_url,
            "SALESFORCE_SANDBOX_LOGIN_URL": self.salesforce.login_url,
            "SALESFORCE_ALLOWED_INSTANCE_HOSTS": sf_hosts,
        }
        os.environ.update(self.env)
        from webapp import create_app
        from webapp.extensions import db

        self.app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                               "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False})
        self.context = self.app.app_context()
        self.context.push()
        db.create_all()
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per page read
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.pages = self._seed()
        log = open(os.path.join(self.work, "worker.log"), "w")  # noqa: SIM115
        self.worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT,
                                       env={**os.environ, **self.env}, stdout=log, stderr=log,
                                       start_new_session=True)

    def _seed(self) -> dict:
        from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
        from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page
        from tests.fixtures_graph import CALLBACK
        from webapp.extensions import db
        from webapp.jobs.calendars import options
        from webapp.models import SalesforceConnection
        from webapp.services.calendars import connections, links, microsoft, salesforce_busy

        org = make_org(name="Bench", plan="premium")
        emails = {"caldav": "tanaka@example.com", "google": "sato@example.com",
                  "microsoft": "suzuki@example.com", "salesforce": "ito@example.com"}
        pages = {}
        for source, email in emails.items():
            member = make_member(org, email=email, working_hours=ALWAYS_WORKING)
            pages[source] = make_page(org, [member], fields=[], duration_minutes=30,
                                      window_days=30, slug=f"fresh-{source}")
        db.session.commit()
        keyring = options().keyring
        token = self.salesforce.password_token()
        db.session.add(SalesforceConnection(
            organization_id=org.id, login_url=self.salesforce.login_url,
            consumer_key=DEMO_CLIENT_ID, consumer_secret_enc=keyring.encrypt(DEMO_CLIENT_SECRET),
            access_token_enc=keyring.encrypt(token["access_token"]),
            refresh_token_enc=keyring.encrypt(token.get("refresh_token") or "none"),
            instance_url=token["instance_url"], sf_user_id=token["id"].rsplit("/", 1)[-1],
            sf_org_id=token["id"].split("/")[-2]))
        salesforce_busy.set_enabled(org.id, True)
        self.radicale.add_user("tanaka", "pw-tanaka")
        self.caldav_calendar = self.radicale.make_calendar("tanaka", "work", "仕事")
        connections.connect_caldav(pages["caldav"].members[0], self.radicale.url + "/", "tanaka",
                                   "pw-tanaka", options())
        db.session.commit()
        # Google: the member's link, consent at the emulator, the callback.
        client = self.app.test_client()
        member = pages["google"].members[0]
        link = f"/calendar/google/connect/{links.make_token(member, self.app.config['SECRET_KEY'])}"
        start = client.post(link)
        back = self.gcal.authorize(start.headers["Location"], email=member.email)
        parts = urlsplit(back)
        client.get(f"{parts.path}?{parts.query}")
        # Microsoft 365: sign-in and consent at the emulator.
        member = pages["microsoft"].members[0]
        settings = microsoft.MicrosoftSettings.from_config(self.app.config)
        self.app.config["MS_TEST_HOSTS"] = tuple(self.env["MS_TEST_HOSTS"].split(","))
        flow = microsoft.start_connect(settings, member, CALLBACK)
        code = parse_qs(urlsplit(self.graph.authorize(flow["url"], user=member.email)).query)
        connection = microsoft.finish_connect(settings, options(), member, CALLBACK,
                                              code["code"][0], flow["verifier"])
        db.session.commit()
        from webapp.jobs.calendars import enqueue_calendar_sync

        enqueue_calendar_sync(connection.id)  # as the connect view does: the push channel
        self.sf_users = {u["Email"]: u["Id"] for u in self.salesforce.records("User")}
        return pages

    def stop(self) -> None:
        for stop in (lambda: os.killpg(self.worker.pid, 9), self.server.shutdown,
                     self.gcal.stop, self.graph.stop, self.salesforce.stop, self.radicale.stop,
                     self.redis.kill):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - best effort at the end of a bench
                print(f"(stopping: {type(exc).__name__})", file=sys.stderr)

    # -- the sources ---------------------------------------------------------------------
    def add_busy(self, source: str, start: datetime, end: datetime, name: str) -> None:
        if source == "caldav":
            stamp = "%Y%m%dT%H%M%SZ"
            self.radicale.put("tanaka", self.caldav_calendar, f"{name}.ics", (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:{name}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:{start.strftime(stamp)}\r\n"
                f"DTEND:{end.strftime(stamp)}\r\nSUMMARY:{name}\r\nEND:VEVENT\r\n"
                "END:VCALENDAR\r\n"))
        elif source == "google":
            self.gcal.seed_event("sato@example.com", summary=name,
                                 start={"dateTime": start.isoformat(), "timeZone": "UTC"},
                                 end={"dateTime": end.isoformat(), "timeZone": "UTC"})
        elif source == "microsoft":
            self.graph.seed_event("suzuki@example.com", subject=name,
                                  start={"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"),
                                         "timeZone": "UTC"},
                                  end={"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"),
                                       "timeZone": "UTC"})
        else:
            fmt = "%Y-%m-%dT%H:%M:%S.000+0000"
            self.salesforce.insert(
                "Event", Subject=name, OwnerId=self.sf_users["ito@example.com"],
                StartDateTime=start.astimezone(UTC).strftime(fmt),
                EndDateTime=end.astimezone(UTC).strftime(fmt),
                DurationInMinutes=int((end - start).total_seconds() // 60))

    def next_slot(self, source: str, after: datetime):
        from webapp.extensions import db
        from webapp.services import bookings

        db.session.rollback()
        page = self.pages[source]
        return next(s for s in bookings.available_slots(page)
                    if s.start > after and s.start.minute == 0)

    def offered(self, source: str, slot) -> bool:
        import requests

        from webapp.services.slots import format_start

        page = self.pages[source]
        day = slot.start.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
        html = requests.get(f"{self.base}/p/{page.slug}?day={day}&tz=Asia/Tokyo",
                            timeout=10).text
        wanted = format_start(slot.start)
        return wanted in html or wanted.replace(":", "%3A") in html


def _retry(start, attempts: int = 3):
    """Start a server on a free port, again when another program took the port meanwhile."""
    for attempt in range(attempts):
        try:
            return start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    return None


def freshness(stack: Stack, source: str, rounds: int, limit: float = 240.0) -> list[float]:
    found = []
    after = datetime.now(UTC) + timedelta(days=2)
    for index in range(rounds):
        slot = stack.next_slot(source, after)
        after = slot.end + timedelta(hours=2)
        assert stack.offered(source, slot), f"{source}: the slot is not offered to begin with"
        began = time.monotonic()
        stack.add_busy(source, slot.start, slot.end, f"fresh-{source}-{index}")
        while stack.offered(source, slot) and time.monotonic() - began < limit:
            time.sleep(0.25)
        found.append(time.monotonic() - began)
    return found


def race(stack: Stack, source: str, rounds: int) -> tuple[int, int]:
    import requests

    from webapp.services.slots import format_start

    made = 0
    after = datetime.now(UTC) + timedelta(days=15)
    for index in range(rounds):
        slot = stack.next_slot(source, after)
        after = slot.end + timedelta(hours=2)
        stack.add_busy(source, slot.start, slot.end, f"race-{source}-{index}")
        answer = requests.post(f"{stack.base}/p/{stack.pages[source].slug}/book", data={
            "start": format_start(slot.start), "tz": "Asia/Tokyo", "name": "競合 太郎",
            "email": f"race{index}@example.com"}, allow_redirects=False, timeout=30)
        made += answer.status_code == 302
    return made, rounds


def report(rounds: int = 3, race_rounds: int = 5) -> None:
    stack = Stack()
    try:
        time.sleep(3)  # the worker's first sweep opens the push channels
        sources = ("google", "microsoft", "caldav", "salesforce")
        figures = {}
        for source in sources:
            runs = freshness(stack, source, rounds)
            figures[source] = (statistics.median(runs), min(runs), max(runs))
        print("freshness: " + ", ".join(
            f"{s} {m:.1f} s (min {lo:.1f}, max {hi:.1f})" for s, (m, lo, hi) in figures.items()))
        print("  goals: google and microsoft at most 10 s, caldav and salesforce at most 90 s")
        made = total = 0
        for source in sources:
            d, n = race(stack, source, race_rounds)
            made, total = made + d, total + n
        print(f"double bookings: {made} of {total} (goal 0; a busy event created at the "
              f"provider, then that slot confirmed at once while the page still offered it)")
    finally:
        stack.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--race-rounds", type=int, default=5)
    options = parser.parse_args()
    report(options.rounds, options.race_rounds)
