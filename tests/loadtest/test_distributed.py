"""Locust's distributed mode: a master and two workers on this machine against the reference, merged stats.

Each worker runs half of the users, and rooms mix the two workers' users (`scenarios.next_slot`), so fan-out
samples cross processes and rely on the sender's wall-clock stamp. The master's CSV must hold what both
workers measured: every user connects exactly once, so `connect` counts all users only if both workers'
stats were merged, and the AI-outcome tally (sent with the workers' reports) must match the AI rows.
"""

from __future__ import annotations

import contextlib
import csv
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loadtest.servers import CLEAN_ENV, LOCUSTFILE, PYTHON, gemini_double, reference, run_locust
from tests.support.processes import free_port, stop

pytestmark = pytest.mark.loadtest

USERS = 6


@contextlib.contextmanager
def workers(count: int, port: int, log_dir: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` Locust workers for the master on `port`; each is killed on the way out, also on failure."""
    started: list[subprocess.Popen[str]] = []
    try:
        for n in range(count):
            log = (log_dir / f"worker{n}.log").open("w", encoding="utf-8")
            command = [PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1"]
            started.append(
                subprocess.Popen(
                    [*command, "--master-port", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=log_dir,
                    env=CLEAN_ENV,
                    start_new_session=True,
                )
            )
            log.close()
        yield started
    finally:
        for process in started:
            stop(process)


def test_master_and_two_workers_merge_their_stats(tmp_path: Path) -> None:
    port = free_port()
    with (
        gemini_double("--latency", "fast", "--quota", "off") as double,
        reference("--gemini-base-url", double, env={"ROOMWIRE_AI_BUDGET_RPM": "100000"}) as host,
        workers(2, port, tmp_path) as started,
    ):
        args = f"--master --expect-workers 2 --master-bind-host 127.0.0.1 --master-bind-port {port}"
        run = run_locust(
            host,
            tmp_path / "merged",
            *args.split(),
            *f"-u {USERS} -r {USERS} -t 6s --scenario mixed --room-size {USERS} --ask-share 0.34".split(),
            *"--ai-rate 1 --msg-rate 2 --ai-deadline-s 10 --fanout-deadline-s 5".split(),
            timeout=180,
        )
        exits = [process.wait(timeout=30) for process in started]
    worker_logs = [(tmp_path / f"worker{n}.log").read_text(encoding="utf-8") for n in range(2)]
    assert run.returncode == 0, run.output + "\n".join(worker_logs)
    assert exits == [0, 0], worker_logs
    assert "(index 0) reported as ready" in run.output and "(index 1) reported as ready" in run.output
    assert run.failures() == [], run.output
    assert run.count("connect") == USERS  # 3 from each worker: both workers' stats reached the master
    assert run.count("fanout") > 0 and run.count("ai total") > 0 and run.count("ai ttft") > 0
    with (tmp_path / "merged_ai_outcomes.csv").open(encoding="utf-8") as handle:
        tally = {row["outcome"]: int(row["exchanges"]) for row in csv.DictReader(handle)}
    assert tally["ok"] == run.count("ai total")  # the workers' tallies, merged on the master, agree with the stats
    assert sum(tally.values()) == tally["ok"]
