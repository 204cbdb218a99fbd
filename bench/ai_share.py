"""The server's own share of time to first chunk, pooled over every round of a run, with a bootstrap interval.

Issue 15 asks for the share (what the server adds − what the SDK alone adds, per request: `ai.py`) at p50 and
p99. One round's p99 is its ~5 slowest answers of 480 minus the floor's ~5, so it moves by milliseconds from round
to round on a shared machine (docs/benchmarks.md); the median of per-round p99s does not settle it either. Here
every answer of every round is pooled per side (8 rounds: 3,840 a side, a p99 of ~38 answers), and the share is
`quantile(server) − quantile(floor)` over the pools.

The interval resamples *blocks*, not answers: a block is the floor's and the server's answers of one
`side_by_side` block of one round, which ran in the same minute (answers within a block share the machine's state,
so they are not independent). A draw takes as many blocks as there are, with replacement, keeping each block's
two sides together, and computes the share of the draw; the 5th and 95th percentiles of 1,000 draws are the 90%
interval. The draws are seeded, so the same results give the same interval.

    python -m bench.ai_share run1.json run2.json ...

pools the AI runs of several result files of `python -m bench` (their rounds numbered apart) and prints the same
lines the benchmark prints under its tables: a longer run, made of shorter ones.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .ai import quantile
from .report import Run

#: (name suffix, the server's per-answer key): as measured before (`added`), and at the asker's socket.
MEASURES = (("", "server_added"), ("_wire", "server_added_wire"))
QUANTILES = (("p50", 0.50), ("p99", 0.99))
RESAMPLES = 1000

Block = dict[str, list[float]]


def blocks_of(runs: Iterable[Run], target: str) -> dict[tuple[int, int], Block]:
    """`target`'s per-answer values from every AI run that kept them, by (round, block)."""
    found: dict[tuple[int, int], Block] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        if run.scenario != "ai" or run.target != target or run.error is not None:
            continue
        for key, values in run.per_answer.items():
            for block, value in values:
                found[(run.round, int(block))][key].append(value)
    return dict(found)


def shares(blocks: Sequence[Block], server_key: str) -> dict[str, float]:
    """The share at each of `QUANTILES` over the pooled answers of `blocks` (NaN where a side has none)."""
    server = sorted(v for b in blocks for v in b.get(server_key, ()))
    floor = sorted(v for b in blocks for v in b.get("sdk_added", ()))
    if not server or not floor:
        return {name: float("nan") for name, _ in QUANTILES}
    return {name: quantile(server, q) - quantile(floor, q) for name, q in QUANTILES}


@dataclass(frozen=True)
class Pooled:
    """One target's pooled shares (`share_p50_ms`, `share_wire_p99_ms`, ...), their 90% intervals under the same
    keys, and what they rest on."""

    rounds: int
    blocks: int
    server_answers: int
    sdk_answers: int
    shares: dict[str, float]
    intervals: dict[str, tuple[float, float]]


def pooled(runs: Sequence[Run], *, resamples: int = RESAMPLES, seed: int = 0) -> dict[str, Pooled]:
    """Per target of the AI scenario that kept its answers: the pooled share at p50 and p99, as measured and at the
    socket, each with its 90% block-bootstrap interval."""
    result: dict[str, Pooled] = {}
    for target in dict.fromkeys(r.target for r in runs if r.scenario == "ai" and r.per_answer):
        found = blocks_of(runs, target)
        units = [found[key] for key in sorted(found)]
        rng = random.Random(seed)
        draws = [[rng.choice(units) for _ in units] for _ in range(resamples)]
        point: dict[str, float] = {}
        intervals: dict[str, tuple[float, float]] = {}
        for suffix, server_key in MEASURES:
            booted = [shares(draw, server_key) for draw in draws]
            for name, value in shares(units, server_key).items():
                if math.isnan(value):  # a side without such answers (no kernel stamps, say): no figure
                    continue
                key = f"share{suffix}_{name}_ms"
                spread = sorted(b[name] for b in booted if not math.isnan(b[name]))
                point[key], intervals[key] = value, (quantile(spread, 0.05), quantile(spread, 0.95))
        result[target] = Pooled(
            rounds=len({round_ for round_, _ in found}),
            blocks=len(units),
            server_answers=sum(len(b.get("server_added", ())) for b in units),
            sdk_answers=sum(len(b.get("sdk_added", ())) for b in units),
            shares=point,
            intervals=intervals,
        )
    return result


def lines(pooled_shares: Mapping[str, Pooled]) -> list[str]:
    """The pooled shares as the benchmark prints them under its tables."""
    out = []
    for target, p in pooled_shares.items():
        out.append(
            f"AI share over the floor, {target}, pooled over {p.rounds} rounds ({p.blocks} blocks, "
            f"{p.server_answers} answers through the server, {p.sdk_answers} by the SDK alone), ms "
            "[90% block-bootstrap interval]:"
        )
        for suffix, label in (("", "as measured"), ("_wire", "at the asker's socket")):
            cells = []
            for name, _ in QUANTILES:
                key = f"share{suffix}_{name}_ms"
                if key in p.shares:
                    low, high = p.intervals[key]
                    cells.append(f"{name} {p.shares[key]:.2f} [{low:.2f}–{high:.2f}]")
            out.append(f"  {label}: " + ", ".join(cells))
    return out


def runs_of(results: Sequence[Mapping[str, object]]) -> list[Run]:
    """The runs of several result files as one run list, each file's rounds numbered after the previous file's."""
    runs: list[Run] = []
    for offset, result in enumerate(results):
        entries = result.get("runs")
        for entry in entries if isinstance(entries, list) else ():
            per_answer = {key: [(int(block), float(ms)) for block, ms in values]
                          for key, values in (entry.get("per_answer") or {}).items()}  # fmt: skip
            runs.append(Run(round=offset * 1_000 + entry["round"], scenario=entry["scenario"], target=entry["target"],
                            error=entry["error"], per_answer=per_answer))  # fmt: skip
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ai_share", description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="result files of `python -m bench` with the ai scenario")
    args = parser.parse_args(argv)
    results = []
    for path in args.results:
        with open(path, encoding="utf-8") as handle:
            results.append(json.load(handle))
    found = pooled(runs_of(results))
    print("\n".join(lines(found)) if found else "no AI runs with per-answer values in these files")  # noqa: T201
    return 0 if found else 1


if __name__ == "__main__":
    raise SystemExit(main())
