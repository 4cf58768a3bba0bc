"""分析 (O7) with a year of bookings: how long the dashboard takes to render.

Run: ``python bench/bench_dashboard.py [--bookings 100000] [--reps 5]``. SQLite in a throwaway
folder (or DATABASE_URL: its tables are dropped and created, then vacuumed and analyzed as
autovacuum would). It seeds one organization with 3 pages, 5 members and N bookings made over
the last 365 days, their ids in the order they were made as in life (a tenth cancelled, some
with an outcome, each with a create sync in a final state), then times GET /admin/analytics
in-process for the whole year and, as a baseline, for a year with no bookings (the same 53
weeks: session, statements and template without rows), alternating the two. It prints the
median of ``--reps`` renders of each with min and max, and their ratio.

Goal (O7): a year of 100,000 bookings in under 200 ms. On this 2-core machine, medians of 5
(the empty year in brackets), before and after the O7 range counts and indexes: SQLite 700 ms
(78) -> 80 ms (8); PostgreSQL 15, 460 ms (42) -> 115-140 ms (15).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import (  # noqa: E402
    Admin,
    Booking,
    BookingMember,
    BookingPage,
    Member,
    Organization,
    PageMember,
    SyncRecord,
)


def seed(count: int, rng: random.Random) -> None:
    org = Organization(name="Bench", plan="premium", timezone="Asia/Tokyo")
    members = [Member(organization=org, name=f"社員{i}", email=f"m{i}@example.com")
               for i in range(5)]
    pages = [BookingPage(organization=org, title=f"ページ{i}", slug=f"p{i}") for i in range(3)]
    for page in pages:
        page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members)]
    admin = Admin(organization=org, email="admin@example.com", name="admin")
    admin.set_password("bench-pass")
    db.session.add_all([org, admin, *pages])
    db.session.flush()
    now = datetime.now(UTC)
    # Ids follow the time each booking was made, as they do when customers book one by one.
    times = sorted(now - timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(count))
    rows, links, syncs = [], [], []
    for i, made in enumerate(times, start=1):
        start = made + timedelta(days=rng.randrange(1, 30))
        cancelled = rng.random() < 0.1
        outcome = "" if cancelled or rng.random() < 0.7 else rng.choice(("held", "no_show"))
        rows.append({"id": i, "organization_id": org.id, "page_id": rng.choice(pages).id,
                     "status": "cancelled" if cancelled else "confirmed", "start_at": start,
                     "end_at": start + timedelta(minutes=30), "email": f"c{i}@example.com",
                     "token": f"t{i}", "answers": {}, "attendees": [], "created_at": made,
                     "cancelled_at": made + timedelta(hours=1) if cancelled else None,
                     "outcome": outcome, "outcome_at": start if outcome else None})
        links.append({"booking_id": i, "member_id": rng.choice(members).id, "position": 0})
        syncs.append({"organization_id": org.id, "booking_id": i, "action": "create",
                      "status": rng.choice(("succeeded", "succeeded", "partial", "failed")),
                      "created_at": made})
    for model, values in ((Booking, rows), (BookingMember, links), (SyncRecord, syncs)):
        for at in range(0, len(values), 5000):
            db.session.execute(insert(model), values[at:at + 5000])
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="apo-bench-dashboard-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir}/dashboard.sqlite3"
    os.environ.setdefault("APO_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        began = time.perf_counter()
        seed(args.bookings, random.Random(7))
        print(f"seeded {args.bookings:,} bookings in {time.perf_counter() - began:.1f} s "
              f"({db.engine.dialect.name})")
        if db.engine.dialect.name == "postgresql":
            # The planner's statistics and the visibility map that index-only scans rely on.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE bookings, booking_members, sync_records"))
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "bench-pass"})
    today = datetime.now(UTC).date()
    year, empty = (f"/admin/analytics?from={(last - timedelta(days=364)).isoformat()}"
                   f"&to={last.isoformat()}" for last in (today, today - timedelta(days=3 * 365)))
    times: dict[str, list[float]] = {year: [], empty: []}
    for path in times:
        assert client.get(path).status_code == 200  # warm-up (templates, statements)
    for _ in range(args.reps):
        for path, spent in times.items():
            began = time.perf_counter()
            response = client.get(path)
            spent.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
    full, base = (statistics.median(times[path]) for path in (year, empty))
    for label, path in ((f"one year of {args.bookings:,} bookings", year),
                        ("a year without bookings", empty)):
        spent = times[path]
        print(f"dashboard, {label}: {statistics.median(spent):.0f} ms "
              f"(min {min(spent):.0f}, max {max(spent):.0f})")
    print(f"ratio {full / base:.1f}x the empty year; goal < 200 ms: "
          f"{'met' if full < 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
