"""Processes the load-test tests start: the test room server, the Gemini double, the reference, Locust.

Every helper is a context manager that starts its process on 127.0.0.1 with port 0, reads the port the process
announces, and kills the whole process group on the way out, also when the test failed. Locust runs are
bounded twice: by their own --run-time and by a subprocess timeout.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import running, stop

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
PYTHON = sys.executable
#: Environment of every child: no real Gemini, whatever the developer's shell holds.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_", "ROOMWIRE_"))}


@contextlib.contextmanager
def started(command: Sequence[str], pattern: str, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `command` and yield the first match of `pattern` (group 1) on its stdout, e.g. its URL."""
    env = {**CLEAN_ENV, **(env or {})}
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env) as process:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        for line in process.stdout:
            match = re.search(pattern, line)
            if match:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{command[:4]} did not announce itself")
        else:
            raise RuntimeError(f"{command[:4]} exited with {process.wait()} before announcing itself")
        yield match.group(1)


def room_server(*flags: str) -> contextlib.AbstractContextManager[str]:
    """The test room server (tests/loadtest/roomserver.py); yields `ws://127.0.0.1:<port>`."""
    return _url(started([PYTHON, "-m", "tests.loadtest.roomserver", *flags], r"PORT (\d+)"), "ws://127.0.0.1:{}")


def gemini_double(*flags: str) -> contextlib.AbstractContextManager[str]:
    """`roomwire gemini-double --port 0 ...`; yields its base URL."""
    command = [PYTHON, "-m", "roomwire", "gemini-double", "--port", "0", *flags]
    return started(command, r"serving Gemini on (http://\S+/)")


def reference(*flags: str, env: dict[str, str] | None = None) -> contextlib.AbstractContextManager[str]:
    """`roomwire serve --port 0 ...`; yields `ws://127.0.0.1:<port>` (the -H Locust wants)."""
    command = [PYTHON, "-m", "roomwire", "serve", "--port", "0", "--log-level", "WARNING", *flags]
    return started(command, r"roomwire serve: (ws://[^/]+)", env=env)


@contextlib.contextmanager
def _url(manager: contextlib.AbstractContextManager[str], template: str) -> Iterator[str]:
    with manager as value:
        yield template.format(value)


@dataclass
class LocustRun:
    """A finished Locust run: its exit code, output, and its CSV files read back."""

    returncode: int
    output: str
    prefix: Path

    def stats(self) -> dict[str, dict[str, str]]:
        return stats_rows(self.prefix)

    def failures(self) -> list[dict[str, str]]:
        path = Path(f"{self.prefix}_failures.csv")
        if not path.exists():
            return []
        with path.open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def count(self, name: str) -> int:
        return int(self.stats().get(name, {}).get("Request Count", 0))

    def failure_errors(self) -> dict[str, int]:
        """Occurrences by "<name>: <error>"."""
        return {f"{row['Name']}: {row['Error']}": int(row["Occurrences"]) for row in self.failures()}


def stats_rows(prefix: Path) -> dict[str, dict[str, str]]:
    """`<prefix>_stats.csv` rows by Name (Aggregated included)."""
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def start_locust(
    host: str, prefix: Path, *args: str, extra_env: dict[str, str] | None = None, output: bool = False
) -> subprocess.Popen[str]:
    """`locust -f loadtest/locustfile.py -H host --headless --csv prefix ...` in its own process group (stop it
    with `stop`); its output on a pipe when `output`, else discarded."""
    command = [PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "-H", host, "--headless", "--csv", str(prefix), *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
        text=True,
        cwd=prefix.parent,
        env={**CLEAN_ENV, **(extra_env or {})},
        start_new_session=True,
    )


def probe_command(host: str, room_size: int, rate: float, duration: float) -> list[str]:
    """`tests/loadtest/fanout_probe.py` (the independent asyncio client) for one room at Locust's pace."""
    return [PYTHON, "-m", "tests.loadtest.fanout_probe", host, "--room-size", str(room_size), "--rate", str(rate),
            "--duration", str(duration), "--settle", "1"]  # fmt: skip


def run_locust(
    host: str, prefix: Path, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None
) -> LocustRun:
    """`start_locust` with its output kept, bounded by `timeout`."""
    process = start_locust(host, prefix, *args, extra_env=extra_env, output=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        stop(process)
    return LocustRun(process.returncode, output, prefix)
