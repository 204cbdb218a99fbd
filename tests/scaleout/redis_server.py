"""A real `redis-server` for tests: a free port, a temporary directory, no persistence, always stopped.

`redis_server()` starts one and stops it when the block ends, also when the test fails. `kill()` ends it at once
(SIGKILL, as a crash or an OOM kill would) and `start()` brings a fresh one back on the same port, with no data
(`--save ''`, `--appendonly no`): what an instance sees when Redis restarts without persistence.

Absent binary: the test is skipped with the reason on a developer's machine, and fails in CI (`CI` set), where
`.ci/run` installs Debian's `redis-server`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port, stop

BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"


def require_redis_server() -> str:
    """The binary's path; skips (or, in CI, fails) when it is absent."""
    if os.access(BINARY, os.X_OK):
        return BINARY
    reason = f"redis-server not found ({BINARY}); install Debian's redis-server package"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the Redis tests")
    pytest.skip(reason)


class RedisServer:
    """One `redis-server` process on 127.0.0.1 (see the module docstring)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, within: float = 20.0) -> None:
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.directory), "--protected-mode", "no", "--loglevel", "warning",
        ]  # fmt: skip
        log = open(self.directory / "redis.log", "ab")  # the child keeps its own copy; ours is closed below
        try:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + within
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start: {self.log_tail()}")
            time.sleep(0.02)

    def answers(self) -> bool:
        """Whether it answers PING (a raw RESP exchange: no client library needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, their sockets just end."""
        process, self.process = self.process, None
        if process is not None:
            stop(process, signal.SIGKILL)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop(process)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        return ""


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    binary = require_redis_server()
    directory = Path(tempfile.mkdtemp(prefix="roomwire-redis-"))
    server = RedisServer(binary, directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
