"""The benchmark runs end to end in its quickest mode against both servers and writes a well-formed result.

Performance is never asserted here (CONTRIBUTING: numbers live in docs/benchmarks.md, as ratios): this proves
that every scenario starts, drives and stops both the seed copy and the reference, that every process it started
is gone afterwards, and that the JSON has what the docs and the table read.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from roomwire.loadtest.bench.report import HEADLINES
from roomwire.loadtest.bench.run import SCENARIOS

TARGETS = ("seed", "reference")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_benchmark_produces_a_well_formed_result(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "roomwire.loadtest.bench", "--quick", "--targets", ",".join(TARGETS),
               "--idle-connections", "200", "--json", str(out)]  # fmt: skip
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before, "a benchmark process outlived it"

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["quick"] is True and result["rounds"] == 1
    assert set(result["server_commands"]) >= set(TARGETS)
    runs = {(r["scenario"], r["target"]): r for r in result["runs"]}
    assert set(runs) == {(s, t) for s in SCENARIOS for t in TARGETS}
    for (scenario, target), run in runs.items():
        assert run["error"] is None, (scenario, target, run["error"])
        for key, _, _ in HEADLINES[scenario]:
            value = run["metrics"][key]
            assert value is None or (isinstance(value, int | float) and math.isfinite(value)), (scenario, key)
    for scenario, metrics in result["summary"].items():
        for key, _, _ in HEADLINES[scenario]:
            assert set(metrics[key]["targets"]) == set(TARGETS)
            assert set(metrics[key]["ratios"]) == {"reference"}
    assert "reference÷seed" in done.stdout
