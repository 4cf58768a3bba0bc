"""Runs every Python process of `make test-dates` on one shifted wall clock.

`scripts/run_test_dates.py` puts this directory on PYTHONPATH and sets APO_CLOCK_SHIFT (whole
seconds, may be negative); Python imports `sitecustomize` at start-up, so pytest, the live
server, `make run`'s web and worker processes and the emulators all read the same shifted
wall clock (time.time, datetime.now, time.localtime...), each from its own start. The
monotonic clock, sleeps and timeouts stay real, so nothing waits longer than it would.

time-machine rather than libfaketime: under LD_PRELOAD, redis-server dies at start-up and
Python's timed lock waits hang, and a real browser would need the preload too.
"""

import os

_shift = os.environ.get("APO_CLOCK_SHIFT")
if _shift:
    import time

    import time_machine

    _traveller = time_machine.travel(time.time() + int(_shift), tick=True)
    _traveller.start()
