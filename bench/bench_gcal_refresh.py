"""Google Calendar provider calls per member per refresh (K3), from the emulator's usage.

Run: ``python bench/bench_gcal_refresh.py [members] [rounds]``. It starts the Google emulator
(subprocess) and the app on a throwaway SQLite database, connects N members through the real
OAuth flow (consent, PKCE code exchange), syncs every connection once, then prints the
Calendar API calls per member per refresh:

1. when nothing changed (goal <= 1);
2. when each member's calendar changed once;
3. an hour later, when every stored access token has expired (one token refresh first);
4. when Google ended the access tokens early (a 401, a refresh, the call again).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from tests.factories import ALWAYS_WORKING, make_member, make_org  # noqa: E402
from tests.fixtures_google_calendar_emulator import APP_CALLBACK, query_of, start_gcal_emulator  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.jobs.calendars import options  # noqa: E402
from webapp.services.calendars import google_connect, sync  # noqa: E402


def main(members: int = 20, rounds: int = 5) -> None:
    gcal = start_gcal_emulator("--seed", "empty")
    workdir = tempfile.mkdtemp(prefix="apo-bench-gcal-")
    os.environ["APO_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    client_id, secret = gcal.register_client([APP_CALLBACK])
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "BASE_URL": "http://127.0.0.1",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
                      "GOOGLE_CLIENT_ID": client_id, "GOOGLE_CLIENT_SECRET": secret,
                      "GOOGLE_BASE_URL": gcal.url})
    try:
        with app.app_context():
            db.create_all()
            connections = _connect(app, gcal, members)
            _round(connections)  # the first, full sync
            _report(gcal, connections, rounds, "nothing changed", lambda: None)
            _report(gcal, connections, 1, "every calendar changed once",
                    lambda: [_seed(gcal, i, "変更", 20) for i in range(members)])
            _report(gcal, connections, 1, "an hour later (stored access tokens expired)",
                    lambda: _expire_stored(connections))
            _report(gcal, connections, 1, "access tokens ended early by Google (401)",
                    lambda: gcal.control("POST", "tokens/revoke", {"expire_access": True}))
    finally:
        gcal.stop()


def _seed(gcal, index: int, summary: str, hour: int, **extra) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    gcal.seed_event(f"user{index}@example.com", summary=summary,
                    start={"dateTime": f"{day}T{hour:02d}:00:00+09:00", "timeZone": "Asia/Tokyo"},
                    end={"dateTime": f"{day}T{hour:02d}:30:00+09:00", "timeZone": "Asia/Tokyo"},
                    **extra)


def _expire_stored(connections) -> None:
    for connection in connections:
        keyring = options().keyring
        credentials = json.loads(keyring.decrypt(connection.credentials_enc))
        connection.credentials_enc = keyring.encrypt(json.dumps(dict(credentials, expires_at=0)))
    db.session.commit()


def _connect(app, gcal, members: int) -> list:
    org = make_org()
    google = google_connect.google_app(app.config)
    found = []
    for index in range(members):
        email = f"user{index}@example.com"
        gcal.control("POST", "users", {"email": email, "name": email, "password": "pw"})
        _seed(gcal, index, "会議", 10)
        _seed(gcal, index, "定例", 13, recurrence=["RRULE:FREQ=WEEKLY;COUNT=20"])
        member = make_member(org, email=email, working_hours=ALWAYS_WORKING)
        db.session.flush()
        pending, url = google_connect.begin_connect(member, google, APP_CALLBACK)
        code = query_of(gcal.authorize(url, email, "pw"))["code"]
        found.append(google_connect.complete_connect(member, google, pending, code,
                                                     APP_CALLBACK, options()))
        db.session.commit()
    return found


def _round(connections) -> float:
    started = time.perf_counter()
    for connection in connections:
        outcome = sync.sync_connection(connection, options())
        assert outcome.error is None, outcome.error
    db.session.commit()
    return time.perf_counter() - started


def _report(gcal, connections, rounds: int, label: str, change) -> None:
    gcal.control("DELETE", "usage")
    elapsed = 0.0
    for _ in range(rounds):
        change()
        elapsed += _round(connections)
    usage = gcal.usage()
    per = usage["total"] / (len(connections) * rounds)
    print(f"{label}: {len(connections)} members x {rounds} refresh(es): {usage['total']} calls "
          f"= {per:.2f} per member per refresh; {elapsed / rounds * 1000:.0f} ms per round")
    for endpoint, count in sorted(usage["by_endpoint"].items()):
        print(f"    {endpoint}: {count}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
