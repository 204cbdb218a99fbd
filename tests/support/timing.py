"""The one time unit of the tests: every wait for something that must happen is a multiple of `UNIT`.

A wait bounded by `UNIT` ends as soon as its event comes, so a generous unit costs nothing on a quiet machine and
saves a busy one (two cores shared by several jobs) from failing a correct server. A slower machine or a
debugger sets `ROOMWIRE_TEST_TIME_SCALE` (a factor, default 1) instead of editing timeouts. Waits that assert
that something does *not* happen are not multiples of `UNIT`: they are each folder's `QUIET`, short by design.
"""

from __future__ import annotations

import os

#: The environment variable that multiplies every timeout of the tests.
TIME_SCALE_ENV = "ROOMWIRE_TEST_TIME_SCALE"


def time_scale(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """The factor from `ROOMWIRE_TEST_TIME_SCALE`; anything but a positive number is refused loudly."""
    text = environ.get(TIME_SCALE_ENV, "1")
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not scale > 0 or scale == float("inf"):
        raise ValueError(f"{TIME_SCALE_ENV} must be a positive number of times, not {text!r}")
    return scale


#: Seconds: the generous bound of one wait for something that must happen (a frame, a server's start).
UNIT = 5.0 * time_scale()
