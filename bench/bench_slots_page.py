"""The public page under load (O4, O5): slots of a team page as its bookings grow.

Run: ``python bench/bench_slots_page.py [--counts 100,1000,10000] [--reps 3] [--clients 50]``.
For each count it seeds a fresh database with one round-robin team page of 5 members and that
many confirmed bookings (30 minutes each, with their BusySlot claims) spread at random over the
page's 60-day window, then times GET /p/<slug> (the month view and its first day's times) and
the day partial (GET /p/<slug>?day=... with HX-Request) in-process, ``--reps`` rounds of
``-n`` requests each. At the largest count it serves the app with gunicorn on a free loopback
port and lets ``--clients`` concurrent clients fetch the page and the partial. It prints medians
over the rounds with [min-max], the ratio largest/smallest count (goal: at most 2) and the p95
latency under concurrency, with the CPU the web processes spent per view served under that load
(warm: the shared cache holds the page). It also times each view right after a change bumped the
organization's availability version (cold: the first view after a booking computes afresh).

SQLite (a temporary file) by default; with DATABASE_URL set it uses that database, dropping
and creating all tables in it: point it at a database of your own.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import (  # noqa: E402
    Booking,
    BookingMember,
    BookingPage,
    BusySlot,
    Member,
    Organization,
    PageMember,
    utcnow,
)
from webapp.services import slots as slot_rules  # noqa: E402

MEMBERS = 5
WINDOW_DAYS = 365
TOKYO = ZoneInfo("Asia/Tokyo")
DURATION = 30
SLUG = "team"


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-" \
           f"{fmt.format(max(values))}]"


def cells(first: datetime, window_days: int, anytime: bool) -> list[tuple[int, datetime]]:
    """(member index, start) of every half hour a booking can take: the members' working hours
    (Mon-Fri 9:00-18:00 Tokyo, where customers book) or, with `anytime`, round the clock."""
    found = []
    for offset in range(1, window_days - 1):
        day = (first + timedelta(days=offset)).date()
        if not anytime and day.weekday() >= 5:
            continue
        hours = range(24) if anytime else range(9, 18)
        for hour in hours:
            for minute in (0, 30):
                start = datetime.combine(day, time(hour, minute), tzinfo=TOKYO).astimezone(UTC)
                found += [(m, start) for m in range(MEMBERS)]
    return found


def seed(count: int, rng: random.Random, window_days: int, anytime: bool) -> None:
    """One team page and `count` confirmed bookings, claims included, over its window."""
    org = Organization(name="Bench", plan="premium")
    members = [Member(organization=org, name=f"m{i}", email=f"m{i}@example.com")
               for i in range(MEMBERS)]
    page = BookingPage(organization=org, title="Team", slug=SLUG, duration_minutes=DURATION,
                       window_days=window_days, attend_mode="round_robin")
    page.page_members = [PageMember(member=m, position=i) for i, m in enumerate(members)]
    db.session.add_all([org, page])
    db.session.flush()
    # Distinct (member, half-hour) cells, so no two claims collide.
    rows, links, claims = [], [], []
    for booking_id, (index, start) in enumerate(
            rng.sample(cells(utcnow().astimezone(TOKYO), window_days, anytime), count), 1):
        member = members[index]
        end = start + timedelta(minutes=DURATION)
        rows.append({"id": booking_id, "organization_id": org.id, "page_id": page.id,
                     "status": "confirmed", "start_at": start, "end_at": end,
                     "email": f"c{booking_id}@example.com", "token": f"t{booking_id}",
                     "answers": {}, "attendees": []})
        links.append({"booking_id": booking_id, "member_id": member.id, "position": 0})
        claims += [{"member_id": member.id, "unit_start": unit, "booking_id": booking_id}
                   for unit in slot_rules.claimed_units(start, end, 0)]
    for model, values in ((Booking, rows), (BookingMember, links), (BusySlot, claims)):
        for at in range(0, len(values), 5000):
            db.session.execute(insert(model), values[at:at + 5000])
    db.session.commit()


def targets(app) -> dict[str, tuple[str, dict]]:
    """The timed requests: the page as first opened, the page on a month wholly inside the
    window (the most claims one view reads), and that month's first day as an htmx partial."""
    from webapp.services import picker  # after create_app: its imports are circular before

    with app.app_context():
        page = db.session.scalar(db.select(BookingPage).where(BookingPage.slug == SLUG))
        month = (utcnow() + timedelta(days=31)).strftime("%Y-%m")
        view = picker.month_view(page, utcnow(), "Asia/Tokyo", month=picker.parse_month(month))
        day = view.chosen.isoformat()
    return {"page": (f"/p/{SLUG}", {}), "full month": (f"/p/{SLUG}?month={month}", {}),
            "day partial": (f"/p/{SLUG}?day={day}", {"HX-Request": "true"})}


def time_requests(client, n: int, paths: dict, cold: bool = False) -> dict[str, float]:
    """Mean ms per request of n requests to each path; with ``cold``, each right after a bump
    of the availability version (what the first view after a booking costs)."""
    results = {}
    for name, (path, headers) in paths.items():
        assert client.get(path, headers=headers).status_code == 200  # warm-up
        spent = 0.0
        for _ in range(n):
            if cold:
                _bump(client.application)
            began = clock.perf_counter()
            assert client.get(path, headers=headers).status_code == 200
            spent += clock.perf_counter() - began
        results[name] = spent / n * 1000
    return results


def _bump(app) -> None:
    from webapp.services import availability_cache

    with app.app_context():
        org_id = db.session.scalar(db.select(Organization.id))
        availability_cache.bump(db.session, [org_id])
        db.session.commit()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree_cpu(pid: int) -> float:
    """User+system CPU seconds of a process and everything below it (live ones)."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def concurrent(database_url: str, paths: dict, clients: int, per_client: int,
               redis_url: str, limit: float = 120) -> tuple[list[float], int, float]:
    """Latencies (ms) of `clients` threads each fetching page and partial `per_client` times
    from a gunicorn serving the seeded database, the count of failed requests, and the web
    processes' CPU ms per view served during the load."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=os.urandom(16).hex(),
               APO_RATELIMIT_STORAGE_URI="memory://", REDIS_URL=redis_url,
               APO_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2",
         "--threads", "8", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    failures = [0]
    deadline = clock.monotonic() + limit
    cpu_ms = float("nan")
    try:
        _wait_up(base + f"/p/{SLUG}", server)
        for path, headers in paths.values():  # both workers warm (imports, templates, cache)
            for _ in range(4):
                requests.get(base + path, headers=headers, timeout=30)
        cpu_before = _tree_cpu(server.pid)
        lock = threading.Lock()
        choices = list(paths.values())

        def client(index: int) -> None:
            session = requests.Session()
            for i in range(per_client):
                if clock.monotonic() > deadline:
                    return
                path, headers = choices[(i + index) % len(choices)]
                began = clock.perf_counter()
                try:
                    ok = session.get(base + path, timeout=30,
                                     headers=headers).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    latencies.append((clock.perf_counter() - began) * 1000)
                    failures[0] += not ok

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(limit + 40)
        cpu_ms = (_tree_cpu(server.pid) - cpu_before) * 1000 / max(1, len(latencies))
    finally:
        _stop(server)
    return latencies, failures[0], cpu_ms


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (its own session), forcefully after 20 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _wait_up(url: str, server: subprocess.Popen, limit: float = 30) -> None:
    deadline = clock.monotonic() + limit
    while clock.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        clock.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else float("nan")


def measure(counts=(100, 1000, 10000), reps: int = 3, n: int = 20, clients: int = 50,
            per_client: int = 10, database_url: str | None = None, out=print,
            window_days: int = WINDOW_DAYS, anytime: bool = False) -> dict:
    """Seed, time and print per count; returns the figures bench_sync.py summarises."""
    workdir = tempfile.mkdtemp(prefix="apo-bench-slots-")
    from scripts.services import start_embedded_redis

    redis_proc, redis_url = start_embedded_redis()
    try:
        rng = random.Random(12)
        times: dict[int, dict[str, list[float]]] = {}
        colds: dict[int, dict[str, list[float]]] = {}
        result: dict = {}
        for count in counts:
            url = database_url or f"sqlite:///{workdir}/slots-{count}.sqlite3"
            app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                              "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
            with app.app_context():
                db.drop_all()
                db.create_all()
                seed(count, rng, window_days, anytime)
            paths = targets(app)
            client = app.test_client()
            rounds = [time_requests(client, n, paths) for _ in range(reps)]
            times[count] = {name: [r[name] for r in rounds] for name in paths}
            cold_rounds = [time_requests(client, max(3, n // 4), paths, cold=True)
                           for _ in range(reps)]
            colds[count] = {name: [r[name] for r in cold_rounds] for name in paths}
            out(f"  {count:>6} bookings (ms, median [min-max] of {reps} x {n}): " + ", ".join(
                f"{name} {spread(values)}" for name, values in times[count].items())
                + "; cold: " + ", ".join(f"{name} {spread(values)}"
                                         for name, values in colds[count].items()))
            if count == counts[-1]:
                p95s, cpus, failed, total = [], [], 0, 0
                for _ in range(reps):
                    latencies, bad, cpu = concurrent(url, paths, clients, per_client, redis_url)
                    p95s.append(p95(latencies))
                    cpus.append(cpu)
                    failed, total = failed + bad, total + len(latencies)
                out(f"  {count:>6} bookings, {clients} clients x {per_client} requests (the three "
                    f"in turn; gunicorn 2 workers x 8 threads): p95 {spread(p95s, '{:.0f}')} ms, "
                    f"cpu per view {spread(cpus)} ms, {failed} failed of {total}")
                result["p95_ms"] = statistics.median(p95s)
                result["cpu_ms"] = statistics.median(cpus)
                result["cold_ms"] = max(statistics.median(v) for v in colds[count].values())
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        redis_proc.kill()
        redis_proc.wait()
    low, high = counts[0], counts[-1]
    result["ratios"] = {name: statistics.median(times[high][name])
                        / statistics.median(times[low][name]) for name in times[high]}
    result.update(low=low, high=high, clients=clients)
    return result


def summary(result: dict) -> str:
    ratios = result["ratios"]
    return (f"slots page: {result['low']:,} -> {result['high']:,} bookings ratio "
            f"{max(ratios.values()):.2f} (" + ", ".join(
                f"{name} {value:.2f}" for name, value in ratios.items())
            + f"; goal <= 2), cpu per view {result['cpu_ms']:.1f} ms (goal <= 8), "
            f"p95 at {result['clients']} clients {result['p95_ms']:.0f} ms (goal <= 300); "
            f"cold (first view after a change) {result['cold_ms']:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="100,1000,10000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("-n", type=int, default=20, help="requests per timed round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--window-days", type=int, default=WINDOW_DAYS)
    parser.add_argument("--anytime", action="store_true",
                        help="bookings round the clock (denser months) instead of in working hours")
    args = parser.parse_args()
    counts = tuple(int(c) for c in args.counts.split(","))
    result = measure(counts, args.reps, args.n, args.clients, args.per_client,
                     os.environ.get("DATABASE_URL"), window_days=args.window_days,
                     anytime=args.anytime)
    print(summary(result))


if __name__ == "__main__":
    main()
