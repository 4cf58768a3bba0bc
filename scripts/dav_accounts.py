"""What the tests and the demo do to a local CalDAV server as its users would, over HTTP:
accounts in a private `user:password` file, MKCALENDAR, PUT, GET, DELETE and a PROPFIND
listing. Shared by scripts/radicale_server.py and scripts/xandikos_server.py, which differ
only in how they start and where a user's calendars live (`calendar_url`)."""

from __future__ import annotations

import os
import subprocess
import time
from urllib.parse import quote, unquote

import requests
from defusedxml import ElementTree


class DavAccounts:
    dir: str
    url: str
    users: dict[str, str]

    @property
    def _users_file(self) -> str:
        return os.path.join(self.dir, "users")

    def _write_users(self) -> None:
        descriptor = os.open(self._users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.writelines(f"{user}:{password}\n" for user, password in self.users.items())

    def add_user(self, user: str, password: str) -> None:
        """Add or change an account; the server re-reads the file when it changes."""
        self.users[user] = password
        self._write_users()
        time.sleep(0.01)

    def calendar_url(self, user: str, name: str) -> str:
        raise NotImplementedError

    def make_calendar(self, user: str, name: str, display: str = "") -> str:
        """MKCALENDAR the user's calendar `name` and return its URL."""
        url = self.calendar_url(user, name)
        body = (
            '<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
            'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>'
            f"{display or name}</d:displayname></d:prop></d:set></c:mkcalendar>")
        response = requests.request("MKCALENDAR", url, data=body.encode(), timeout=10,
                                    auth=(user, self.users[user]),
                                    headers={"Content-Type": "application/xml; charset=utf-8"})
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
        # Only each response's own href: servers also put hrefs inside properties (Xandikos
        # lists the principal's urn:uuid in DAV:owner).
        hrefs = [node.text.strip() for node in ElementTree.fromstring(response.content)
                 .findall("{DAV:}response/{DAV:}href")]
        # One spelling whatever the server's escaping: "@" as "%40", as Apo names its files.
        return [quote(unquote(h.rsplit("/", 1)[-1]), safe="") for h in hrefs
                if not h.endswith("/")]


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
