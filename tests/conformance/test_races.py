"""No verdict from a race: the checks that once decided from one (RECON-004 read right after the welcome, PRES-007
before the newcomer's own join, orders and delays across connections read late) run many times against the
reference while other processes keep the CPU busy, and every run gives every one of them the same verdict: PASS.

The target is the reference with a 20 ms pause after each welcome (`slow_after_welcome`: correct, as a server
that writes frame by frame is; the independent server whose welcome preceded its replay by 1.6-3.3 ms made
RECON-004 flag it in 16 runs of 44). Bounded: the selection takes a few seconds a run, served in the suite's own
loop (the worst case for the suite's attention), with the AI budget advertised large (`TEST_AI_BUDGET`).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from roomwire.conformance.bundled import TEST_AI_BUDGET
from roomwire.conformance.outcomes import Status
from roomwire.conformance.suite import SuiteConfig, run_suite

#: The checks whose verdicts were races (issue 11) and those that judge an order or a delay.
RACY = ("RECON-004", "PRES-007", "RECON-003", "CONN-006", "AI-005", "AI-006", "CHAT-006", "INPUT-007", "IDENT-001")
REPEATS = 8
BURNERS = 2


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """`processes` interpreters spinning on the CPU for as long as the block runs; always stopped."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait(10)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_the_checks_that_raced_give_one_verdict_under_cpu_load() -> None:
    config = SuiteConfig(
        variant="slow_after_welcome",  # correct, with a pause after the welcome like a server on another stack
        only=RACY,
        repeat=REPEATS,
        in_process=True,
        bundled_options=dict(TEST_AI_BUDGET),
    )
    with cpu_load(BURNERS):
        result = await run_suite(config)
    verdicts = {rid: (r.status, r.detail[:300]) for rid, r in result.results.items()}
    assert all(status is Status.PASS for status, _ in verdicts.values()), verdicts
    assert str(result.facts["flaky"]).startswith("none"), result.facts["flaky"]
    assert str(result.facts["repeat"]).startswith(f"{REPEATS} runs")
