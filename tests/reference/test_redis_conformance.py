"""The conformance suite against two reference instances on one Redis: `roomwire check URL1 URL2 --double D`.

The suite places client `n` of each check on instance `n % 2` (conformance/target.py), so every broadcast,
presence, leave and reconnect check is a cross-instance check here. The deployment (Redis, the Gemini double, two
instances started as `roomwire serve` would start them) is tests/scaleout/deployment.py; run it by hand with
`python -m tests.scaleout.deployment`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.scaleout.deployment import ROOT, check_command, deployment

pytestmark = [pytest.mark.redis, pytest.mark.scaleout, pytest.mark.slow]

SUITE_TIMEOUT_S = 600
#: SHOULDs with a wall-clock bound (CHAT-006: a broadcast within 1 s). On a loaded 2-core CI machine running two
#: instances, Redis and the suite, they may miss; the benchmark measures latency instead (docs/scaleout.md).
WALL_CLOCK_SHOULDS = frozenset({"CHAT-006"})


@pytest.mark.timeout(SUITE_TIMEOUT_S + 120)
async def test_the_conformance_suite_passes_against_two_instances_on_one_redis(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    async with deployment(instances=2) as running:
        command = check_command(running, "--report-json", str(report))
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(process.communicate(), SUITE_TIMEOUT_S)
    text = output.decode(errors="replace")
    verdicts = [line for line in text.splitlines() if line.lstrip().startswith(("FAIL ", "ERROR ", "WARN "))]
    assert process.returncode == 0, "\n".join(verdicts) + "\n" + text[-6000:]
    results = json.loads(report.read_text())
    assert results["facts"]["endpoints"] == list(running.urls)  # both instances were checked
    failed = [
        (r["id"], r["status"], r["detail"]) for r in results["requirements"] if r["status"] not in ("pass", "skip")
    ]
    assert not failed, failed  # SHOULDs too: a failed SHOULD alone would still exit 0
    assert results["summary"]["pass"] > 50  # the suite ran, not only skipped
