"""Ports and child processes for the tests: a port nobody listens on, and a child that is always stopped.

`running()` starts a child in its own session, so that stopping it stops everything it started (a server's
workers, Locust's greenlets' subprocesses), and stops it on the way out whatever happened inside the block.
`stop()` is the one way to end a child: the signal asked for, then SIGKILL when it lingers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from tests.support.timing import UNIT

AnyStr = TypeVar("AnyStr", str, bytes)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (for a child that must be told its port, or a closed one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[AnyStr], signum: signal.Signals = signal.SIGTERM, within: float = 2 * UNIT) -> int:
    """Send `signum` (to the child's whole group when it leads one), SIGKILL after `within` s; close its pipes.

    Returns the exit code (negative: the signal that ended it). Safe to call on a child that already ended.
    """
    if process.poll() is None:
        _signal(process, signum)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait(within)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return process.returncode


def _signal(process: subprocess.Popen[AnyStr], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)


@contextlib.contextmanager
def running(command: Sequence[str], **options: Any) -> Iterator[subprocess.Popen[Any]]:
    """`subprocess.Popen(command, **options)` in a session of its own, stopped (`stop()`) when the block ends."""
    process: subprocess.Popen[Any] = subprocess.Popen(list(command), start_new_session=True, **options)
    try:
        yield process
    finally:
        stop(process)
