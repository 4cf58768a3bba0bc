"""A real Radicale CalDAV server on a free loopback port, for the tests and `make run` (K1-K4).

htpasswd authentication with plain entries in a private temp file (these are throwaway local
accounts), owner-only rights, file storage in the given directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dav_accounts import DavAccounts, stop_process  # noqa: E402
from services import free_port, wait_for_port  # noqa: E402

CONFIG = """[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {storage}
[web]
type = none
[logging]
level = warning
"""


class RadicaleServer(DavAccounts):
    """A running Radicale process; `url` is its origin, `users` maps user -> password."""

    def __init__(self, data_dir: str | None = None, users: dict[str, str] | None = None,
                 log=subprocess.DEVNULL, port: int | None = None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="apo-radicale-")
        os.makedirs(self.dir, exist_ok=True)
        self.users = dict(users or {})
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = f"127.0.0.1:{self.port}"
        self._write_users()
        config = os.path.join(self.dir, "config")
        with open(config, "w") as handle:
            handle.write(CONFIG.format(port=self.port, users=self._users_file,
                                       storage=os.path.join(self.dir, "collections")))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", config], stdout=log, stderr=log,
            start_new_session=True)
        wait_for_port(self.port, timeout=20)

    def calendar_url(self, user: str, name: str) -> str:
        return f"{self.url}/{user}/{name}/"

    def stop(self) -> None:
        stop_process(self.process)


# ----- demo calendars (make run) ------------------------------------------------------------
# Published demo accounts, like the demo admin's: user -> password. Tanaka's calendar is there
# but not connected, so a newcomer can try the connect screen (see the banner).
DEMO_ACCOUNTS = {"sato": "sato-caldav-demo", "suzuki": "suzuki-caldav-demo",
                 "tanaka": "tanaka-caldav-demo"}


def _ics(uid: str, lines: list[str]) -> str:
    body = "\r\n".join([f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines])
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apo demo//EN\r\nBEGIN:VEVENT\r\n"
            f"{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def seed_demo_calendars(server: RadicaleServer, today) -> dict[str, str]:
    """Each demo member's calendar with a few events around `today` (a date in Asia/Tokyo):
    Sato: a weekday stand-up 10:00-11:00 (recurring) and a customer meeting tomorrow 14:00;
    Suzuki: an all-day training in two days. Idempotent (same names, PUT replaces).
    Returns user -> calendar URL."""
    from datetime import timedelta

    for user, password in DEMO_ACCOUNTS.items():
        server.add_user(user, password)
    urls = {}
    for user in DEMO_ACCOUNTS:
        url = f"{server.url}/{user}/calendar/"
        if server.get(user, url).status_code == 404:
            server.make_calendar(user, "calendar", "仕事")
        urls[user] = url
    day = today.strftime("%Y%m%d")
    tomorrow = (today + timedelta(days=1)).strftime("%Y%m%d")
    training = today + timedelta(days=2)
    server.put("sato", urls["sato"], "standup.ics", _ics("demo-standup", [
        "SUMMARY:朝会", f"DTSTART;TZID=Asia/Tokyo:{day}T100000",
        f"DTEND;TZID=Asia/Tokyo:{day}T110000", "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"]))
    server.put("sato", urls["sato"], "customer.ics", _ics("demo-customer", [
        "SUMMARY:顧客訪問", f"DTSTART;TZID=Asia/Tokyo:{tomorrow}T140000",
        f"DTEND;TZID=Asia/Tokyo:{tomorrow}T150000"]))
    server.put("suzuki", urls["suzuki"], "training.ics", _ics("demo-training", [
        "SUMMARY:終日研修", f"DTSTART;VALUE=DATE:{training.strftime('%Y%m%d')}",
        f"DTEND;VALUE=DATE:{(training + timedelta(days=1)).strftime('%Y%m%d')}"]))
    return urls
