"""The reference server as a real `python -m roomwire serve` process, on a fixed port so it can be restarted.

The restart tests kill the process (SIGTERM: graceful, 1012 and a `server_restart` notice; SIGKILL: the page
sees a dead TCP connection) and start a new one on the same port, exactly what a deployment does; so the port is
chosen once (bound to port 0 and released) instead of per start. The server talks to a Gemini double in a
thread of the test process (`--gemini real --gemini-base-url`: the server's real upstream path, with the canary
as its key), so a test can queue upstream faults and read the journal.
It runs in an empty working directory with a clean environment: a developer's `.env` or `ROOMWIRE_*` variables
never leak in, and the only key it has is the test's canary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import processes
from tests.support.processes import free_port
from tests.support.timing import UNIT

START_TIMEOUT_S = 6 * UNIT
STOP_TIMEOUT_S = 4 * UNIT


class ReferenceProcess:
    """`roomwire serve` in a subprocess; `start()` returns once `/healthz` answers."""

    def __init__(self, *, double_url: str, api_key: str, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.double_url = double_url
        self.api_key = api_key
        self.workdir = workdir
        self.log_path = workdir / "reference.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMWIRE_", "GOOGLE_", "GEMINI_"))}
        self.env["GEMINI_API_KEY"] = api_key  # the canary: FAKE, test only
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        command = [sys.executable, "-m", "roomwire", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        # "real" with a base URL: the SDK sends the configured key (the canary) to the double. Fake mode would send
        # the double's own fake key instead, and a key_echo fault would then echo that, proving nothing.
        command += ["--gemini", "real", "--gemini-base-url", self.double_url]
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"roomwire serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"roomwire serve did not answer /healthz within {START_TIMEOUT_S:g} s:\n{self.log()}")

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int | None:
        """Send `signum` and wait for the exit (SIGKILL after STOP_TIMEOUT_S); returns the exit code."""
        process, self.process = self.process, None
        return None if process is None else processes.stop(process, signum, STOP_TIMEOUT_S)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
