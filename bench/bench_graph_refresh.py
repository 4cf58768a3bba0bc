"""Microsoft 365 calendar refresh cost (K3): Graph calls per member per refresh.

Run: ``python bench/bench_graph_refresh.py [-m 3] [-r 5]``. It starts the Graph emulator as a
subprocess, builds the app on a temporary SQLite database, connects ``m`` members through the
emulator's sign-in and consent (OAuth code + PKCE), seeds each calendar with single events, a
daily series with a cancelled and a moved occurrence and an all-day event, runs the first
(full) sync, then ``r`` background refreshes with nothing changed and one refresh after one
event changed per member. It prints the Graph calls per member per refresh read from the
emulator's usage counts (goal: at most 1 when nothing changed) and the time per refresh.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures_graph import (  # noqa: E402
    CALLBACK,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    start_graph_emulator,
)
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Member, Organization  # noqa: E402
from webapp.services.calendars import microsoft, sync  # noqa: E402
from webapp.services.calendars.options import CalendarOptions  # noqa: E402

USERS = ["sato@example.com", "suzuki@example.com", "tanaka@example.com", "meganb@example.com"]


def build_app(graph, database: str):
    hosts = ",".join(urlsplit(u).netloc for u in (graph.login_url, graph.graph_url))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI":
        f"sqlite:///{database}", "RATELIMIT_ENABLED": False, "BASE_URL": "http://127.0.0.1",
        "MS_CLIENT_ID": DEMO_CLIENT_ID, "MS_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "MS_LOGIN_URL": graph.login_url, "MS_GRAPH_URL": graph.graph_url,
        "MS_TEST_HOSTS": hosts})
    return app


def seed_calendar(graph, mail: str, day: datetime) -> str:
    def at(hours: float) -> dict:
        return {"dateTime": (day + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC"}

    first = graph.seed_event(mail, subject="one", start=at(1), end=at(2))
    graph.seed_event(mail, subject="two", start=at(30), end=at(31), showAs="tentative")
    graph.seed_event(mail, subject="daily", start=at(3), end=at(3.5), recurrence={
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": day.strftime("%Y-%m-%d"),
                  "numberOfOccurrences": 20}},
        exceptions=[{"originalStart": (day + timedelta(days=1, hours=3)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "cancelled": True}])
    graph.seed_event(mail, subject="holiday", isAllDay=True, start={
        "dateTime": (day + timedelta(days=4)).strftime("%Y-%m-%dT00:00:00"),
        "timeZone": "Tokyo Standard Time"}, end={
        "dateTime": (day + timedelta(days=5)).strftime("%Y-%m-%dT00:00:00"),
        "timeZone": "Tokyo Standard Time"})
    return first["id"]


def connect(app, graph, member: Member, mail: str):
    settings = microsoft.MicrosoftSettings.from_config(app.config)
    flow = microsoft.start_connect(settings, member, CALLBACK)
    code = parse_qs(urlsplit(graph.authorize(flow["url"], user=mail)).query)["code"][0]
    return microsoft.finish_connect(settings, CalendarOptions.from_config(app.config), member,
                                    CALLBACK, code, flow["verifier"])


def refresh_round(connections, options, now) -> float:
    started = time.perf_counter()
    for connection in connections:
        outcome = sync.sync_connection(connection, options, now)
        assert outcome.error is None, outcome.error
    db.session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-m", "--members", type=int, default=3, choices=range(1, 5))
    parser.add_argument("-r", "--refreshes", type=int, default=5)
    args = parser.parse_args()
    graph = start_graph_emulator("--seed", "demo")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = build_app(graph, f"{tmp}/bench.sqlite3")
            with app.app_context():
                db.create_all()
                run(app, graph, args.members, args.refreshes)
    finally:
        graph.stop()


def run(app, graph, members: int, refreshes: int) -> None:
    org = Organization(name="Bench", plan="premium")
    db.session.add(org)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + \
        timedelta(days=1)
    connections, first_ids = [], []
    for mail in USERS[:members]:
        member = Member(organization=org, name=mail, email=mail)
        db.session.add(member)
        db.session.flush()
        first_ids.append(seed_calendar(graph, mail, day))
        connections.append(connect(app, graph, member, mail))
    db.session.commit()
    options = CalendarOptions.from_config(app.config)
    now = datetime.now(UTC)
    graph.control("DELETE", "usage")
    full = refresh_round(connections, options, now)
    full_calls = graph.usage()["total"]
    times, calls = [], []
    for round_number in range(1, refreshes + 1):
        graph.control("DELETE", "usage")
        times.append(refresh_round(connections, options, now + timedelta(minutes=5 *
                                                                          round_number)))
        calls.append(graph.usage()["total"])
    for event_id in first_ids:
        graph.control("PATCH", f"events/{event_id}", {"showAs": "free"})
    graph.control("DELETE", "usage")
    refresh_round(connections, options, now + timedelta(hours=1))
    changed_calls = graph.usage()["total"]
    print(f"members: {members}, refreshes: {refreshes}")
    print(f"first (full) sync: {full_calls / members:.2f} Graph calls per member, "
          f"{full * 1000 / members:.1f} ms per member")
    print(f"unchanged refresh: {sum(calls) / (members * refreshes):.2f} Graph calls per member "
          f"per refresh (max {max(calls) / members:.2f}), "
          f"{sum(times) * 1000 / (members * refreshes):.1f} ms per member")
    print(f"refresh after one change each: {changed_calls / members:.2f} Graph calls per member")


if __name__ == "__main__":
    main()
