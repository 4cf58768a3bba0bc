"""A real Radicale CalDAV server on a free loopback port, for the tests and `make run` (K1-K4).

htpasswd authentication with plain entries in a private temp file (these are throwaway local
accounts), owner-only rights, file storage in the given directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


class RadicaleServer:
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

    @property
    def _users_file(self) -> str:
        return os.path.join(self.dir, "users")

    def _write_users(self) -> None:
        descriptor = os.open(self._users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.writelines(f"{user}:{password}\n" for user, password in self.users.items())

    def add_user(self, user: str, password: str) -> None:
        """Add or change an account; Radicale re-reads the file when it changes."""
        self.users[user] = password
        self._write_users()
        time.sleep(0.01)

    def make_calendar(self, user: str, name: str, display: str = "") -> str:
        """MKCALENDAR /user/name/ and return its URL."""
        url = f"{self.url}/{user}/{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
            'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>'
            f"{display or name}</d:displayname></d:prop></d:set></c:mkcalendar>")
        response = requests.request("MKCALENDAR", url, data=body, timeout=10,
                                    auth=(user, self.users[user]))
        response.raise_for_status()
        return url

    def put(self, user: str, calendar_url: str, name: str, ics: str) -> str:
        """Store one calendar object resource; returns its URL."""
        url = calendar_url + name
        response = requests.put(url, data=ics.encode(), timeout=10, auth=(user, self.users[user]),
                                headers={"Content-Type": "text/calendar; charset=utf-8"})
        response.raise_for_status()
        return url

    def get(self, user: str, url: str) -> requests.Response:
        return requests.get(url, timeout=10, auth=(user, self.users[user]))

    def delete(self, user: str, url: str) -> None:
        requests.delete(url, timeout=10, auth=(user, self.users[user])).raise_for_status()

    def list_hrefs(self, user: str, calendar_url: str) -> list[str]:
        """Names of the resources in a calendar (PROPFIND Depth 1)."""
        response = requests.request("PROPFIND", calendar_url, headers={"Depth": "1"},
                                    timeout=10, auth=(user, self.users[user]))
        response.raise_for_status()
        import re

        hrefs = re.findall(r"<[^>]*href>([^<]+)</", response.text)
        return [h.rsplit("/", 1)[-1] for h in hrefs if not h.endswith("/")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
