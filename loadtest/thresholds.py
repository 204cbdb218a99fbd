"""Thresholds as code: `--max-p95-ms`, `--max-p99-ms`, `--max-error-ratio`, per request name or for the total.

Each option may be repeated; a value is `LIMIT` (Locust's `Aggregated` row) or `NAME=LIMIT` (one request
name, spaces optionally written `-` or `_`: `ai-ttft=800`). For `--max-error-ratio` the name `ai` means all AI
exchanges together: the failures of `ai total`, `ai error` and `upstream 429` over their sum, because each
question ends in exactly one of those rows (`roomwire.loadtest.metrics`).

A threshold never passes for lack of data, the k6 pitfall (grafana/k6#1526) where a misspelled metric makes a
threshold pass silently: a name nobody recorded, or one with no samples, fails with "no samples" and the
names that do exist. A name we never record is also warned about when the run starts.

Nothing here imports Locust: `evaluate` reads any rows that look like Locust's `StatsEntry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from roomwire.loadtest.metrics import AGGREGATED, AI_ERROR, AI_TOTAL, REQUEST_NAMES, UPSTREAM_429
from roomwire.spec.errors import UsageError

AI_GROUP = "ai"
#: Names a threshold can meaningfully name, per kind (others are accepted but warned about, then fail).
LATENCY_NAMES = (AGGREGATED, *REQUEST_NAMES)
RATIO_NAMES = (AGGREGATED, AI_GROUP, *REQUEST_NAMES)
_PERCENTILE = {"p95": 0.95, "p99": 0.99}


class StatsRow(Protocol):
    """What a threshold reads from a Locust `StatsEntry`."""

    @property
    def num_requests(self) -> int: ...
    @property
    def num_failures(self) -> int: ...
    def get_response_time_percentile(self, percent: float) -> float: ...


@dataclass(frozen=True)
class Threshold:
    kind: str  # "p95", "p99" or "error_ratio"
    name: str
    limit: float

    def describe(self) -> str:
        unit = "" if self.kind == "error_ratio" else " ms"
        return f"{self.kind.replace('_', ' ')} of {self.name!r} <= {self.limit:g}{unit}"


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    passed: bool
    actual: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.threshold.describe()}: {self.actual}"


def canonical_name(text: str) -> str:
    """`ai-ttft`, `ai_ttft`, `AI TTFT` -> `ai ttft`; `aggregated`/`total` -> `Aggregated`."""
    name = " ".join(text.replace("-", " ").replace("_", " ").split())
    if name.lower() in ("aggregated", "total", "all"):
        return AGGREGATED
    lowered = name.lower()
    return lowered if lowered in (*REQUEST_NAMES, AI_GROUP) else name


def parse(kind: str, values: Iterable[str]) -> list[Threshold]:
    """Thresholds of one kind from the option's values.

    Raises:
        UsageError: a value is not `LIMIT` or `NAME=LIMIT` with a non-negative number (a ratio at most 1).
    """
    thresholds = []
    for value in values:
        name, _, limit_text = value.rpartition("=")
        try:
            limit = float(limit_text)
        except ValueError:
            raise UsageError(f"--max-{kind.replace('_', '-')}: {value!r} is not [NAME=]NUMBER") from None
        if limit < 0 or (kind == "error_ratio" and limit > 1):
            raise UsageError(f"--max-{kind.replace('_', '-')}: {limit:g} is out of range")
        thresholds.append(Threshold(kind, canonical_name(name) if name else AGGREGATED, limit))
    return thresholds


def parse_options(options: object) -> list[Threshold]:
    """All thresholds from Locust's parsed options (`max_p95_ms`, `max_p99_ms`, `max_error_ratio`)."""
    return (
        parse("p95", getattr(options, "max_p95_ms", None) or [])
        + parse("p99", getattr(options, "max_p99_ms", None) or [])
        + parse("error_ratio", getattr(options, "max_error_ratio", None) or [])
    )


def unknown_names(thresholds: Iterable[Threshold]) -> list[str]:
    """Thresholds naming something roomwire never records (probably a typo): they will fail."""
    problems = []
    for threshold in thresholds:
        known = RATIO_NAMES if threshold.kind == "error_ratio" else LATENCY_NAMES
        if threshold.name not in known:
            problems.append(f"{threshold.describe()}: {threshold.name!r} is not one of {', '.join(known)}")
    return problems


def _check(threshold: Threshold, rows: Mapping[str, StatsRow]) -> Verdict:
    if threshold.kind == "error_ratio" and threshold.name == AI_GROUP:
        group = [rows[name] for name in (AI_TOTAL, AI_ERROR, UPSTREAM_429) if name in rows]
        requests = sum(row.num_requests for row in group)
        failures = sum(row.num_failures for row in group)
    else:
        row = rows.get(threshold.name)
        if row is None or not row.num_requests:
            seen = ", ".join(sorted(name for name, r in rows.items() if r.num_requests)) or "none"
            return Verdict(threshold, False, f"no samples named {threshold.name!r} (recorded: {seen})")
        if threshold.kind in _PERCENTILE:
            value = row.get_response_time_percentile(_PERCENTILE[threshold.kind])
            return Verdict(threshold, value <= threshold.limit, f"{value:g} ms over {row.num_requests} samples")
        requests, failures = row.num_requests, row.num_failures
    if not requests:
        return Verdict(threshold, False, f"no samples for {threshold.name!r}")
    ratio = failures / requests
    return Verdict(threshold, ratio <= threshold.limit, f"{ratio:.4f} ({failures} of {requests} failed)")


def evaluate(thresholds: Iterable[Threshold], rows: Mapping[str, StatsRow]) -> list[Verdict]:
    """One verdict per threshold, against rows keyed by request name (`Aggregated` for the total)."""
    return [_check(threshold, rows) for threshold in thresholds]


def decides_errors(thresholds: Iterable[Threshold]) -> bool:
    """True when an error-ratio threshold covers the total, which then replaces Locust's "any failure exits 1"."""
    return any(t.kind == "error_ratio" and t.name == AGGREGATED for t in thresholds)
