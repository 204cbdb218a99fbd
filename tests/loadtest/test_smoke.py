"""`tox -e loadtest-smoke`: every scenario for a few seconds against the reference server, read back from CSV.

The reference runs with the Gemini double as an external process (`--gemini-base-url`) at `--latency fast`,
because the double built into `roomwire serve --gemini fake` keeps Gemini's free-tier quota (10 requests per
minute), which a load test passes in seconds. Settings, by environment, as `docs/loadtest.md` describes:

    chat, ai, mixed   double --quota off; server ROOMWIRE_AI_BUDGET_RPM=100000: no AI request is refused
    ratelimit         double --quota 4; server ROOMWIRE_AI_BUDGET_RPM=12: the first 4 answers, then 8 upstream
                      429s (UP-001), then friendly ai_quota waits (LIMIT-005)

These runs stay far inside the reference's per-address limits (256 connections, 64 pending, 30 joins of a room
at once) and its default rate limit (10 frames/s per connection), so none needs raising.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loadtest.servers import LocustRun, gemini_double, reference, run_locust

pytestmark = pytest.mark.loadtest

FAST = "--ai-deadline-s 10 --fanout-deadline-s 5"


@contextlib.contextmanager
def reference_with_double(*, quota: str, budget: int) -> Iterator[str]:
    with gemini_double("--latency", "fast", "--quota", quota) as double:
        env = {"ROOMWIRE_AI_BUDGET_RPM": str(budget)}
        with reference("--gemini", "fake", "--gemini-base-url", double, env=env) as host:
            yield host


@pytest.fixture(scope="module")
def roomy() -> Iterator[str]:
    """The reference with room to spare: no AI budget or quota in the way."""
    with reference_with_double(quota="off", budget=100_000) as host:
        yield host


def locust(host: str, prefix: Path, args: str) -> LocustRun:
    return run_locust(host, prefix, *f"{args} {FAST}".split())


@pytest.mark.parametrize(
    ("scenario", "names"),
    [
        ("chat", {"connect", "fanout"}),
        ("ai", {"connect", "ai ttft", "ai itl", "ai total"}),
        ("mixed", {"connect", "fanout", "ai ttft", "ai itl", "ai total"}),
    ],
)
def test_a_scenario_records_its_names_without_failures(
    roomy: str, tmp_path: Path, scenario: str, names: set[str]
) -> None:
    run = locust(roomy, tmp_path / scenario, f"-u 10 -r 10 -t 5s --scenario {scenario} --room-size 5 --ai-rate 1")
    assert run.returncode == 0, run.output
    assert run.failures() == [], run.output
    for name in names:
        assert run.count(name) > 0, name
    assert set(run.stats()) == names | {"Aggregated"}


def test_ratelimit_reports_friendly_waits_and_upstream_429s(tmp_path: Path) -> None:
    with reference_with_double(quota="4", budget=12) as host:
        run = locust(host, tmp_path / "ratelimit", "-u 4 -r 4 -t 5s --scenario ratelimit --max-error-ratio 1")
    assert run.returncode == 0, run.output  # failures are this scenario's point; the total ratio gate allows them
    errors = run.failure_errors()
    assert set(errors) == {"ai error: ErrorNotice(ai_quota)", "upstream 429: ErrorNotice(upstream_rate_limited)"}
    assert errors["upstream 429: ErrorNotice(upstream_rate_limited)"] == 8  # budget 12 - quota 4
    assert run.count("ai total") == 4
    lines = (tmp_path / "ratelimit_ai_outcomes.csv").read_text(encoding="utf-8").splitlines()
    assert "upstream 429 (upstream_rate_limited),8," in "\n".join(lines)
    assert "hang (no ai_done in time),0,0" in lines


def test_an_impossible_threshold_makes_the_run_exit_non_zero(roomy: str, tmp_path: Path) -> None:
    run = locust(roomy, tmp_path / "impossible", "-u 4 -r 4 -t 3s --scenario chat --max-p99-ms connect=0")
    assert run.returncode == 1, run.output
    assert "threshold breached: FAIL p99 of 'connect' <= 0 ms" in run.output
    assert run.count("connect") == 4 and run.failures() == []
