"""Thresholds never pass for lack of data (roomwire.loadtest.thresholds)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from roomwire.loadtest.thresholds import (
    Threshold,
    canonical_name,
    decides_errors,
    evaluate,
    parse,
    parse_options,
    unknown_names,
)
from roomwire.spec.errors import UsageError


@dataclass
class Row:
    """Quacks like Locust's StatsEntry: counts and a percentile from a list of times."""

    times: list[float] = field(default_factory=list)
    num_failures: int = 0

    @property
    def num_requests(self) -> int:
        return len(self.times)

    def get_response_time_percentile(self, percent: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(len(ordered) * percent))]


ROWS = {
    "Aggregated": Row([10.0] * 90 + [500.0] * 10, num_failures=2),
    "fanout": Row([5.0] * 98 + [300.0] * 2, num_failures=1),
    "ai total": Row([800.0] * 10, num_failures=1),
    "ai error": Row([50.0] * 3, num_failures=3),
    "upstream 429": Row([60.0], num_failures=1),
    "connect": Row([], num_failures=0),
}


@pytest.mark.parametrize(
    ("text", "name"),
    [("ai-ttft", "ai ttft"), ("AI_TTFT", "ai ttft"), ("upstream-429", "upstream 429"), ("total", "Aggregated")],
)
def test_names_may_be_written_without_spaces(text: str, name: str) -> None:
    assert canonical_name(text) == name


def test_parse_reads_bare_and_named_limits() -> None:
    assert parse("p95", ["250", "fanout=200", "ai-ttft=800.5"]) == [
        Threshold("p95", "Aggregated", 250.0),
        Threshold("p95", "fanout", 200.0),
        Threshold("p95", "ai ttft", 800.5),
    ]


@pytest.mark.parametrize(("kind", "value"), [("p95", "fast"), ("p95", "fanout="), ("p99", "-1"), ("error_ratio", "2")])
def test_parse_refuses_nonsense(kind: str, value: str) -> None:
    with pytest.raises(UsageError):
        parse(kind, [value])


def test_options_are_read_from_locust_s_namespace() -> None:
    options = argparse.Namespace(max_p95_ms=["fanout=1"], max_p99_ms=[], max_error_ratio=["0.01"])
    assert parse_options(options) == [Threshold("p95", "fanout", 1.0), Threshold("error_ratio", "Aggregated", 0.01)]
    assert parse_options(argparse.Namespace()) == []


def test_latency_thresholds_pass_and_fail_on_the_percentile() -> None:
    verdicts = evaluate(parse("p95", ["fanout=10", "fanout=4"]) + parse("p99", ["400"]), ROWS)
    assert [v.passed for v in verdicts] == [True, False, False]
    assert verdicts[1].line() == "FAIL p95 of 'fanout' <= 4 ms: 5 ms over 100 samples"


def test_error_ratio_per_name_for_the_total_and_for_all_ai_exchanges() -> None:
    verdicts = evaluate(parse("error_ratio", ["fanout=0.01", "0.01", "ai=0.3", "ai=0.4"]), ROWS)
    assert [v.passed for v in verdicts] == [True, False, False, True]
    assert verdicts[2].actual == "0.3571 (5 of 14 failed)"  # 1 hang + 3 ai error + 1 upstream 429 over 10+3+1


@pytest.mark.parametrize("value", ["fanuot=200", "connect=200", "ai=100"])
def test_a_name_without_samples_fails_instead_of_passing_silently(value: str) -> None:
    [verdict] = evaluate(parse("p95", [value]), ROWS)
    assert not verdict.passed
    assert verdict.actual.startswith("no samples named")
    assert "recorded: Aggregated, ai error, ai total, fanout, upstream 429" in verdict.actual


def test_an_ai_ratio_without_any_ai_exchange_fails() -> None:
    [verdict] = evaluate(parse("error_ratio", ["ai=0.5"]), {"fanout": Row([1.0])})
    assert (verdict.passed, verdict.actual) == (False, "no samples for 'ai'")


def test_unknown_names_are_reported_up_front() -> None:
    problems = unknown_names(parse("p95", ["fanuot=1", "fanout=1", "ai=1"]) + parse("error_ratio", ["ai=0.1"]))
    assert len(problems) == 2
    assert "'fanuot' is not one of" in problems[0] and "'ai' is not one of" in problems[1]


def test_only_a_total_error_ratio_replaces_locust_s_any_failure_rule() -> None:
    assert decides_errors(parse("error_ratio", ["0.05"]))
    assert not decides_errors(parse("error_ratio", ["fanout=0.05"]) + parse("p95", ["100"]))
