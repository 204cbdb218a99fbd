"""Turn the runs of a benchmark into medians, spreads and ratios, as a table and as JSON.

Ratios are paired: in each round the reference ran next to the seed (order rotated from round to round), so
`reference / seed` is computed per round and the median of those is reported, with its min and max. That cancels
most of the drift a shared 2-core machine has between rounds, which a ratio of two medians would not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

#: Per scenario, the metrics shown in the table: (key, label, better) where better is "higher" or "lower".
HEADLINES: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "capacity10": (
        ("deliveries_per_s", "fan-out, room of 10: deliveries/s", "higher"),
        ("server_cpu_us_per_delivery", "fan-out, room of 10: server CPU µs/delivery", "lower"),
        ("loadgen_cpu_share", "fan-out, room of 10: load generator CPU (cores)", "lower"),
    ),
    "capacity100": (
        ("deliveries_per_s", "fan-out, room of 100: deliveries/s", "higher"),
        ("server_cpu_us_per_delivery", "fan-out, room of 100: server CPU µs/delivery", "lower"),
        ("loadgen_cpu_share", "fan-out, room of 100: load generator CPU (cores)", "lower"),
    ),
    "latency": (
        ("latency_p50_ms", "latency at 5,000 deliveries/s: p50 ms", "lower"),
        ("latency_p99_ms", "latency at 5,000 deliveries/s: p99 ms", "lower"),
        ("delivered_fraction", "latency run: fraction delivered", "higher"),
    ),
    "stall": (("fraction", "stalled reader: deliveries to the 9 ÷ no-stall control", "higher"),),
    "ai": (
        ("server_added_p50_ms", "AI, 20 askers: ms added to TTFT per answer, p50", "lower"),
        ("server_added_p95_ms", "AI, 20 askers: ms added to TTFT per answer, p95", "lower"),
        ("server_added_p99_ms", "AI, 20 askers: ms added to TTFT per answer, p99", "lower"),
        ("server_before_p50_ms", "AI: ai_msg sent → request at the double, p50 ms", "lower"),
        ("server_after_p50_ms", "AI: first chunk sent by the double → ai_chunk at the client, p50 ms", "lower"),
        ("server_added_wire_p50_ms", "AI: ms added until chunk 1 is at the client's socket, p50", "lower"),
        ("server_added_wire_p99_ms", "AI: ms added until chunk 1 is at the client's socket, p99", "lower"),
        ("server_client_wake_p50_ms", "AI: first chunk at the client's socket → read by the client, p50 ms", "lower"),
        ("server_cpu_ms_per_answer", "AI: server CPU ms per answer (relay + SDK)", "lower"),
        ("sdk_added_p50_ms", "AI floor: the SDK alone, 20 streams on the server core, ms added p50", "lower"),
        ("sdk_added_p99_ms", "AI floor: the SDK alone, 20 streams on the server core, ms added p99", "lower"),
        ("sdk_cpu_ms_per_answer", "AI floor: the SDK alone, CPU ms per answer", "lower"),
    ),
    "storm": (
        ("server_cpu_ms_per_admission", "reconnect storm (2,000 in rooms of 10): server CPU ms per admission", "lower"),
        ("admissions_per_s", "reconnect storm: admissions/s", "higher"),
        ("refused", "reconnect storm: refused or failed upgrades", "lower"),
    ),
    "sdk": (
        ("sdk_cpu_ms_per_answer", "the SDK alone: CPU ms per answer", "lower"),
        ("answers_per_core_s", "the SDK alone: answers per second of one core", "higher"),
        ("sdk_added_p50_ms", "the SDK alone: ms added to TTFT, p50", "lower"),
        ("sdk_added_p99_ms", "the SDK alone: ms added to TTFT, p99", "lower"),
    ),
    "idle": (
        ("rss_per_connection_kib", "idle connections: server RSS KiB per connection", "lower"),
        ("connections", "idle connections: open at the end", "higher"),
    ),
}


class Measured(dict[str, float]):
    """A scenario's figures, with the per-answer values behind them when the scenario keeps them (the AI
    scenario: `{name: [(block, ms), ...]}`, pooled over rounds by `ai_share.py`)."""

    def __init__(self, figures: Mapping[str, float], per_answer: Mapping[str, list[tuple[int, float]]]) -> None:
        super().__init__(figures)
        self.per_answer = dict(per_answer)


@dataclass
class Run:
    """One measurement: a target in a scenario in a round."""

    round: int
    scenario: str
    target: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    load_average: float | None = None  # the machine's 1-minute load when the run started (2 cores: > 2 is busy)
    per_answer: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # see `Measured`

    def to_json(self) -> dict[str, object]:
        return {k: _finite(v) if k == "metrics" else v for k, v in asdict(self).items()}


def _finite(metrics: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (v if isinstance(v, int | float) and math.isfinite(v) else None) for k, v in metrics.items()}


def spread(values: Iterable[float]) -> dict[str, float | int | None]:
    """Median, min, max and count of the finite values (None when there are none)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(finite), "min": min(finite), "max": max(finite), "n": len(finite)}


def summarize(runs: list[Run], base: str = "seed") -> dict[str, dict[str, object]]:
    """`{scenario: {metric: {"targets": {target: spread}, "ratios": {target: spread of per-round ratios}}}}`."""
    summary: dict[str, dict[str, object]] = {}
    for scenario in dict.fromkeys(r.scenario for r in runs):
        mine = [r for r in runs if r.scenario == scenario and r.error is None]
        metrics = dict.fromkeys(k for r in mine for k in r.metrics)
        targets = list(dict.fromkeys(r.target for r in mine))
        per_metric: dict[str, object] = {}
        for metric in metrics:
            values = {t: [r.metrics.get(metric, math.nan) for r in mine if r.target == t] for t in targets}
            ratios = {t: spread(_paired_ratios(mine, metric, t, base)) for t in targets if t != base}
            per_metric[metric] = {"targets": {t: spread(v) for t, v in values.items()}, "ratios": ratios}
        summary[scenario] = per_metric
    return summary


def _paired_ratios(runs: list[Run], metric: str, target: str, base: str) -> list[float]:
    ratios = []
    for round_ in sorted({r.round for r in runs}):
        top = [r.metrics.get(metric, math.nan) for r in runs if r.round == round_ and r.target == target]
        bottom = [r.metrics.get(metric, math.nan) for r in runs if r.round == round_ and r.target == base]
        if top and bottom and bottom[0] and math.isfinite(bottom[0]):
            ratios.append(top[0] / bottom[0])
    return ratios


def table(summary: Mapping[str, Mapping[str, object]], targets: list[str], base: str = "seed") -> str:
    """The headline metrics: median [min–max] per target, then each median ratio to `base`."""
    others = [t for t in targets if t != base]
    header = ["metric", *targets, *(f"{t}÷{base}" for t in others)]
    rows = [header]
    for scenario, headlines in HEADLINES.items():
        for key, label, better in headlines:
            data = summary.get(scenario, {}).get(key)
            if not isinstance(data, dict):
                continue
            cells = [f"{label} ({better} is better)"]
            cells += [_cell(data["targets"].get(t)) for t in targets]
            cells += [_cell(data["ratios"].get(t), ratio=True) for t in others]
            rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(stats: object, ratio: bool = False) -> str:
    if not isinstance(stats, dict) or stats.get("median") is None:
        return "n/a"
    fmt = _fmt_ratio if ratio else _fmt
    if stats["n"] == 1:
        return fmt(stats["median"])
    return f"{fmt(stats['median'])} [{fmt(stats['min'])}–{fmt(stats['max'])}]"


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"
