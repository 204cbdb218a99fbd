"""The scale-out benchmark runs end to end (one short round): every configuration starts, measures and stops.

It runs as a process, as a person runs it: the benchmark pins itself when the machine has cores to spare, which
must not happen to the test process. Numbers are not judged here (docs/scaleout.md has them).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench import child
from tests.scaleout.redis_server import require_redis_server

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.mark.timeout(600)
async def test_the_scaleout_benchmark_measures_every_configuration(tmp_path: Path) -> None:
    require_redis_server()
    results = tmp_path / "results.json"
    command = child.command("bench.scaleout", "--quick", "--scenarios", "capacity10", "--json", str(results))
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=child.environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 540)
    assert process.returncode == 0, output.decode(errors="replace")[-4000:]
    report = json.loads(results.read_text())
    runs = {run["target"]: run for run in report["runs"]}
    assert set(runs) == {"memory-1", "redis-1", "redis-2"}
    assert all(run["error"] is None and run["metrics"]["deliveries_per_s"] > 0 for run in runs.values())
    assert "redis-2÷redis-1" in output.decode()
