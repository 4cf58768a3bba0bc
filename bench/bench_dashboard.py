"""分析 (O7) with a year of bookings: how long the dashboard takes to render.

Run: ``python bench/bench_dashboard.py [--bookings 100000] [--reps 5]``. SQLite in a throwaway
folder (or DATABASE_URL: its tables are dropped and created). It seeds one organization with
3 pages, 5 members and N bookings made over the last 365 days (a tenth cancelled, some with an
outcome, each with a create sync in a final state), then times GET /admin/analytics for the
whole year, in-process, and prints the median of ``--reps`` renders with min and max
(goal: under 200 ms).
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
from sqlalchemy import insert  # noqa: E402

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
    rows, links, syncs = [], [], []
    for i in range(1, count + 1):
        made = now - timedelta(seconds=rng.randrange(365 * 86400))
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
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": "bench-pass"})
    today = datetime.now(UTC).date()
    path = (f"/admin/analytics?from={(today - timedelta(days=364)).isoformat()}"
            f"&to={today.isoformat()}")
    assert client.get(path).status_code == 200  # warm-up (templates, statements)
    times = []
    for _ in range(args.reps):
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    print(f"dashboard, one year of {args.bookings:,} bookings: {statistics.median(times):.0f} ms "
          f"(min {min(times):.0f}, max {max(times):.0f}; goal < 200 ms)")


if __name__ == "__main__":
    main()
