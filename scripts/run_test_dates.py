"""`make test-dates`: the date-sensitive tests, each run with the clock moved to a hard date.

Every moment is the next one after today, so the shift is always forward and under a year:

- the 1st of a month, 09:30 Tokyo (a fresh month: nothing before it in the picker);
- 23:30 Tokyo on the last day of a month (already the next month's eve; Tokyo and UTC agree
  on the date only until 15:00 UTC);
- 31 December 15:30 UTC (already 1 January in Tokyo: another year in one zone only);
- the Saturday evening before US clocks spring forward (New York loses 02:00-03:00 overnight).

The tests are those marked `dates` (tests/conftest.py lists them). Each moment's run puts
scripts/shifted_clock on PYTHONPATH with APO_CLOCK_SHIFT, so pytest and every Python process
it starts (the live server, `make run`'s web, worker and emulators) share one shifted clock.
`--at 2027-01-31T14:30:00Z` runs one chosen moment instead; other arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from services import start_embedded_redis  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
TOKYO, NEW_YORK = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")


def _first_after(now: datetime, candidates) -> datetime:
    return next(moment for moment in candidates if moment > now)


def _months(now: datetime):
    year, month = now.year, now.month
    for _ in range(14):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def first_of_month(now: datetime) -> datetime:
    return _first_after(now, (datetime(y, m, 1, 9, 30, tzinfo=TOKYO) for y, m in _months(now)))


def last_evening_of_month(now: datetime) -> datetime:
    def last_day(y: int, m: int) -> date:
        return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
    return _first_after(now, (datetime.combine(last_day(y, m), datetime.min.time(), TOKYO)
                              .replace(hour=23, minute=30) for y, m in _months(now)))


def new_year_in_tokyo(now: datetime) -> datetime:
    return _first_after(now, (datetime(y, 12, 31, 15, 30, tzinfo=UTC)
                              for y in (now.year, now.year + 1)))


def eve_of_us_spring_forward(now: datetime) -> datetime:
    def second_sunday_of_march(year: int) -> date:
        first = date(year, 3, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7)
    return _first_after(now, (datetime.combine(second_sunday_of_march(y) - timedelta(days=1),
                                               datetime.min.time(), NEW_YORK).replace(hour=20)
                              for y in (now.year, now.year + 1)))


MOMENTS = {
    "first of a month": first_of_month,
    "23:30 Tokyo, last day of a month": last_evening_of_month,
    "31 Dec 15:30 UTC (1 Jan in Tokyo)": new_year_in_tokyo,
    "eve of US spring forward": eve_of_us_spring_forward,
}


def run_at(moment: datetime, pytest_args: list[str], env: dict) -> int:
    shift = int(moment.timestamp() - time.time())
    print(f"test-dates: {moment.astimezone(UTC):%Y-%m-%dT%H:%MZ} "
          f"({moment.astimezone(TOKYO):%m-%d %H:%M} Tokyo), clock +{shift} s", flush=True)
    shifted = {**env, "APO_CLOCK_SHIFT": str(shift),
               "PYTHONPATH": os.pathsep.join(filter(None, [
                   os.path.join(ROOT, "scripts", "shifted_clock"), env.get("PYTHONPATH")]))}
    # Its pytest plugin is not used, and loading it after sitecustomize imported the module
    # only earns a warning.
    command = [os.path.join(BIN, "pytest"), "-p", "no:time_machine", "-m", "dates", "-q",
               *pytest_args]
    return subprocess.call(command, cwd=ROOT, env=shifted)


def main(argv: list[str]) -> int:
    chosen = None
    if argv[:1] == ["--at"]:
        chosen, argv = datetime.fromisoformat(argv[1].replace("Z", "+00:00")), argv[2:]
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # dates are the point here, not the database
    redis_process = None
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_embedded_redis()
    try:
        now = datetime.now(UTC)
        moments = {"chosen": chosen} if chosen else {
            name: pick(now) for name, pick in MOMENTS.items()}
        results = {name: run_at(moment, argv, env) for name, moment in moments.items()}
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    for name, status in results.items():
        print(f"test-dates: {'passed' if status == 0 else 'FAILED'}  {name}", flush=True)
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
