"""Routing by ownership (R1, R3): what it adds to a booking, in one run.

Run: ``python bench/bench_routing.py`` (SQLite in a throwaway folder, the Salesforce emulator
over real HTTP, the app in-process). For the same N bookings made through the public pages,
with routing off and then on, it prints:

- Salesforce calls per booking (the routing step and the booking's create sync): routing on
  adds the one composite lookup (R1: "at most one call per booking");
- the routing step's time for known and unknown emails, interleaved (R3: the same), and its
  CPU per lookup;
- the create sync's calls with routing on, to show the sync itself does not change.

Each figure is the median of the bookings' own figures (min, max). The workers' sync figures
(CPU per sync, throughput, fairness) are ``bench_sync.py``'s: routing runs in the request,
before the booking exists, and changes nothing the worker does.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import KEY, _setup, spread  # noqa: E402

from tests.factories import ALWAYS_WORKING, make_member  # noqa: E402
from tests.fixtures_salesforce_emulator import start_emulator  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.jobs import sync as sync_jobs  # noqa: E402
from webapp.models import AttendMode, Booking, utcnow  # noqa: E402
from webapp.services import bookings  # noqa: E402

COUNT = 12


def calls(emulator) -> int:
    return emulator.usage()["total"]


def book_through_pages(client, page, email: str, routed: bool) -> tuple[float, float]:
    """One booking as a customer makes it; (routing calls, step seconds, step CPU seconds)."""
    url = f"/p/{page.slug}"
    step = cpu = 0.0
    if routed:
        client.get(f"{url}?reroute=1")
        began, began_cpu = time.perf_counter(), time.process_time()
        answer = client.post(f"{url}/route", data={"email": email})
        step, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        assert answer.status_code == 302, answer.status_code
    now = utcnow()
    member_id = None
    if routed:
        member_id = next((m.id for m in page.members if m.email == "suzuki@example.com"), None) \
            if email.startswith("known") else None
    start = bookings.available_slots(page, now, now + _days(2), now + _days(40),
                                     member_id=member_id)[0].start
    form = {"start": start.isoformat(), "name": "ベンチ 様", "email": email}
    made = client.post(f"{url}/book", data=form)
    assert made.status_code == 302, made.get_data(as_text=True)[:300]
    return step, cpu


def _days(n: int):
    from datetime import timedelta

    return timedelta(days=n)


def main() -> None:
    emulator = start_emulator("--seed", "demo")
    workdir = tempfile.mkdtemp(prefix="apo-bench-routing-")
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
                       "SECRET_KEY": "bench", "APO_ENCRYPTION_KEYS": KEY,
                       "SALESFORCE_LOGIN_URL": emulator.login_url,
                       "SALESFORCE_ALLOWED_INSTANCE_HOSTS": ",".join(
                           u.split("//")[1] for u in (emulator.instance_url,
                                                      emulator.login_url))})
    from scripts.services import start_embedded_redis

    redis_proc, redis_url = start_embedded_redis()
    os.environ["REDIS_URL"] = redis_url
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            page = _setup(emulator, "Routing")
            page.attend_mode = AttendMode.ROUND_ROBIN.value
            page.members[0].working_hours = ALWAYS_WORKING
            suzuki = make_member(page.organization, name="鈴木", email="suzuki@example.com",
                                 working_hours=ALWAYS_WORKING)
            from webapp.models import PageMember

            page.page_members.append(PageMember(member=suzuki, position=1))
            db.session.commit()
            users = {u["Email"]: u["Id"] for u in emulator.records("User")}
            for i in range(COUNT):
                emulator.insert("Lead", LastName="既知", Company="既知", IsConverted=False,
                                Email=f"known{i}@example.net",
                                OwnerId=users["suzuki@example.com"])
            client = app.test_client()
            figures = {}
            for routed in (False, True):
                page.route_by_owner = routed
                db.session.commit()
                per_booking, sync_calls, known, unknown, cpu = [], [], [], [], []
                for i in range(COUNT):
                    email = f"known{i}@example.net" if i % 2 == 0 else f"new{i}-{routed}@ex.net"
                    before = calls(emulator)
                    step, step_cpu = book_through_pages(client, page, email, routed)
                    after_page = calls(emulator)
                    booking = db.session.query(Booking).order_by(Booking.id.desc()).first()
                    sync_jobs.run_sync_record(booking.syncs[0].id)
                    db.session.expire_all()
                    per_booking.append(calls(emulator) - before)
                    sync_calls.append(calls(emulator) - after_page)
                    if routed:
                        (known if i % 2 == 0 else unknown).append(step * 1000)
                        cpu.append(step_cpu * 1000)
                figures[routed] = per_booking
                label = "on " if routed else "off"
                print(f"routing {label}: Salesforce calls per booking "
                      f"{spread(per_booking, '{:.0f}')} (the create sync's "
                      f"{spread(sync_calls, '{:.0f}')})")
                if routed:
                    print(f"routing step: known {spread(known, '{:.0f}')} ms, unknown "
                          f"{spread(unknown, '{:.0f}')} ms (ratio "
                          f"{statistics.median(unknown) / statistics.median(known):.2f}); "
                          f"CPU {spread(cpu, '{:.1f}')} ms per lookup")
            added = statistics.median(figures[True]) - statistics.median(figures[False])
            print(f"routing adds {added:.0f} Salesforce call(s) per booking (goal: at most 1)")
    finally:
        emulator.stop()
        redis_proc.kill()
        redis_proc.wait()


if __name__ == "__main__":
    main()
