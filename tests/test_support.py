"""The shared test support holds its promises: one time unit from the environment, ports nobody listens on, and
children that end, with everything they started, also when the test fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.support.processes import free_port, running, stop
from tests.support.timing import TIME_SCALE_ENV, UNIT, time_scale

#: A child that starts a grandchild in its group, prints the grandchild's pid, and ignores SIGTERM if asked.
FAMILY = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie waits for a parent's wait(), it is not running


def gone(pid: int) -> bool:
    deadline = time.monotonic() + UNIT
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_the_unit_scales_with_the_environment() -> None:
    assert time_scale({}) == 1.0 and time_scale({TIME_SCALE_ENV: "3"}) == 3.0
    for bad in ("0", "-1", "slow", "inf", "nan"):
        with pytest.raises(ValueError, match=TIME_SCALE_ENV):
            time_scale({TIME_SCALE_ENV: bad})
    assert UNIT == 5.0 * time_scale()


def test_a_free_port_refuses_connections() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=UNIT).close()


@pytest.mark.parametrize("mode", ["polite", "stubborn"])
def test_stop_ends_the_child_and_its_group_even_when_sigterm_is_ignored(mode: str) -> None:
    command = [sys.executable, "-c", FAMILY, mode]
    with running(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        code = stop(child, within=0.5 if mode == "stubborn" else UNIT)
        assert code == (-signal.SIGKILL if mode == "stubborn" else -signal.SIGTERM)
        assert child.stdout.closed and gone(grandchild)
        assert stop(child) == code  # stopping again changes nothing


def test_running_stops_the_child_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="the test failed"):
        with running([sys.executable, "-c", "import time; time.sleep(600)"]) as child:
            raise RuntimeError("the test failed")
    assert child.returncode == -signal.SIGTERM


def test_stop_signals_only_the_child_when_it_shares_our_group() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # no session of its own
    assert stop(child) == -signal.SIGTERM  # had it signalled its group (ours), this test would not be here to see it
