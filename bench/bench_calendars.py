"""Calendars on the public page (K3): stored busy times cost little, page views call no provider.

Run: ``python bench/bench_calendars.py [-n 100] [--events 500]``. It starts a real Radicale
server, gives 5 members a CalDAV calendar of ``--events`` events each (one-hour meetings over the
next 30 days, every tenth a weekly series), connects and syncs them, then times ``n`` views of a
round-robin team page of those 5 members against the same page of 5 members without calendars.
It prints the mean time per view and the ratio (goal: at most 1.5), the CalDAV requests the
``n`` views caused (goal: 0), and the cost of one background refresh per member when nothing
changed (time and CalDAV requests). Then (bench/calendar_freshness.py, several minutes) the
freshness of each busy source and the confirm race: `freshness: google N s, ...` and
`double bookings: D of N`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import requests  # noqa: E402
from radicale_server import RadicaleServer  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import (  # noqa: E402
    BookingPage,
    BusyInterval,
    Member,
    Organization,
    PageMember,
)
from webapp.services.calendars import connections, sync  # noqa: E402
from webapp.services.calendars.options import CalendarOptions  # noqa: E402

MEMBERS = 5


def calendar_body(count: int, start: datetime) -> str:
    """One VCALENDAR of `count` events: 1-hour meetings in Tokyo working hours, every tenth
    a weekly series."""
    events = []
    for i in range(count):
        day = start + timedelta(days=i % 30, hours=(i * 7) % 9)
        stamp = day.strftime("%Y%m%dT%H%M%SZ")
        end = (day + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
        rule = "RRULE:FREQ=WEEKLY;COUNT=8\r\n" if i % 10 == 0 else ""
        events.append(f"BEGIN:VEVENT\r\nUID:bench-{i}\r\nDTSTAMP:20260101T000000Z\r\n"
                      f"DTSTART:{stamp}\r\nDTEND:{end}\r\n{rule}SUMMARY:meeting {i}\r\n"
                      "END:VEVENT\r\n")
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apo bench//EN\r\n"
            + "".join(events) + "END:VCALENDAR\r\n")


def seed_page(slug: str) -> BookingPage:
    org = Organization(name=slug, plan="premium")
    members = [Member(organization=org, name=f"{slug} {i}", email=f"{slug}{i}@example.com")
               for i in range(MEMBERS)]
    page = BookingPage(organization=org, title=slug, slug=slug, duration_minutes=30,
                       window_days=14, attend_mode="round_robin")
    page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members)]
    db.session.add_all([org, page])
    db.session.flush()
    return page


def mean_view(client, slug: str, n: int) -> float:
    client.get(f"/p/{slug}")  # warm-up
    began = time.perf_counter()
    for _ in range(n):
        assert client.get(f"/p/{slug}").status_code == 200
    return (time.perf_counter() - began) / n


class CountingSession(requests.Session):
    calls = 0

    def send(self, *args, **kwargs):
        CountingSession.calls += 1
        return super().send(*args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--no-freshness", action="store_true",
                        help="skip the freshness and race lines (several minutes)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="apo-bench-calendars-")
    server = RadicaleServer(workdir + "/radicale")
    requests.Session = CountingSession  # count every HTTP request the CalDAV client sends
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
                          "CALDAV_TEST_HOSTS": (server.origin,), "BASE_URL": "http://127.0.0.1"})
        with app.app_context():
            db.create_all()
            run(app, server, args)
    finally:
        server.stop()
    if not args.no_freshness:
        # Its own process: this one counts requests by replacing requests.Session.
        subprocess.call([sys.executable, str(ROOT / "bench" / "calendar_freshness.py")])


def run(app, server: RadicaleServer, args) -> None:
    options = CalendarOptions.from_config(app.config)
    seed_page("plain")
    with_calendars = seed_page("calendars")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    connected = []
    for i, member in enumerate(with_calendars.members):
        user = f"bench{i}"
        server.add_user(user, "pw")
        url = server.make_calendar(user, "work")
        requests.put(url, data=calendar_body(args.events, start).encode(), auth=(user, "pw"),
                     headers={"Content-Type": "text/calendar"}, timeout=120).raise_for_status()
        connection = connections.connect_caldav(member, server.url + "/", user, "pw", options)
        sync.sync_connection(connection, options)
        connected.append(connection)
    db.session.commit()
    stored = db.session.scalar(db.select(db.func.count()).select_from(BusyInterval))
    print(f"stored busy intervals: {stored} for {MEMBERS} members")
    client = app.test_client()
    base = mean_view(client, "plain", args.n)
    CountingSession.calls = 0
    calendars = mean_view(client, "calendars", args.n)
    view_calls = CountingSession.calls
    print(f"public slots page, {MEMBERS} members: no calendars {base * 1000:.1f} ms/view, "
          f"{args.events} events each {calendars * 1000:.1f} ms/view, "
          f"ratio {calendars / base:.2f} (goal <= 1.5)")
    print(f"CalDAV requests caused by {args.n} page views: {view_calls} (goal 0)")
    CountingSession.calls = 0
    began = time.perf_counter()
    for connection in connected:
        sync.sync_connection(connection, options)
    db.session.commit()
    elapsed = (time.perf_counter() - began) / len(connected)
    print(f"refresh when nothing changed: {elapsed * 1000:.1f} ms and "
          f"{CountingSession.calls / len(connected):.1f} CalDAV request(s) per member per interval")


if __name__ == "__main__":
    main()
