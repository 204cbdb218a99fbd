"""Prometheus metrics of one app, in its own registry (never the process-global one), served at /metrics.

Per-frame counts, and the broadcast-time histogram observed once per published event, are plain numbers bumped
on the hot path (a prometheus `Counter.inc` or `Histogram.observe` takes a lock, and a broadcast to 100 members
would take it 100 times); a collector turns them into counters and a histogram at scrape time, with the live
gauges (connections, rooms). Label values are a fixed vocabulary: client-chosen text (an unknown frame
`type`, a room id) never becomes a label.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from roomwire.reference.ai import Usage

#: USD per million tokens (input, output), the seed's price table.
PRICES_PER_MILLION = {"gemini-2.5-flash": (0.30, 2.50), "gemini-2.5-flash-lite": (0.10, 0.40)}
#: Values of frames_in{type}: the client frame types, and what arrives that is not one.
IN_TYPES = frozenset({"user_msg", "ai_msg", "ping", "binary", "dropped"})

Gauges = Callable[[], dict[str, float]]
BROADCAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class PlainHistogram:
    """A histogram of plain numbers for the per-frame path, exported at scrape time by `_Live`.

    prometheus_client's `Histogram.observe` takes a lock and walks the buckets in Python on every call; here one
    `bisect` and two additions. Buckets are `le` bounds as prometheus_client's (a value equal to a bound counts in
    it), with +Inf last.
    """

    __slots__ = ("name", "documentation", "bounds", "counts", "sum", "created")

    def __init__(self, name: str, documentation: str, bounds: Sequence[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.created = time.time()  # prometheus_client exports `<name>_created` too

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, count in zip((*map(_bound, self.bounds), "+Inf"), self.counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        family = HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=self.sum)
        family.add_sample(f"{self.name}_created", {}, self.created)
        return family


def _bound(value: float) -> str:
    return str(float(value))


class _Live(Collector):
    def __init__(self, metrics: Metrics, gauges: Gauges) -> None:
        self._metrics = metrics
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name, value in self._gauges().items():
            yield GaugeMetricFamily(f"roomwire_{name}", f"current number of {name.replace('_', ' ')}", value=value)
        for direction, tally in (("in", self._metrics.frames_in), ("out", self._metrics.frames_out)):
            family = CounterMetricFamily(
                f"roomwire_frames_{direction}", f"WebSocket frames {direction}", labels=["type"]
            )
            for kind, count in sorted(tally.items()):
                family.add_metric([kind], count)
            yield family
        yield self._metrics.broadcast_seconds.family()


class Metrics:
    """Every metric the server keeps (see the module docstring)."""

    def __init__(self, model: str, gauges: Gauges) -> None:
        self.registry = CollectorRegistry()
        self.frames_in: dict[str, int] = {}  # plain dicts: faster to bump than a `Counter`
        self.frames_out: dict[str, int] = {}
        self._prices = PRICES_PER_MILLION.get(model.removeprefix("models/"))
        r = self.registry
        self.broadcast_seconds = PlainHistogram(
            "roomwire_broadcast_seconds", "time to hand one room event to every local member", BROADCAST_BUCKETS
        )
        self.ai_requests = Counter("roomwire_ai_requests", "AI requests by outcome", ["outcome"], registry=r)
        self.ai_ttft = Histogram(
            "roomwire_ai_time_to_first_chunk_seconds", "from an accepted ai_msg to its first ai_chunk", registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        )  # fmt: skip
        self.upstream_429 = Counter("roomwire_upstream_rate_limited", "upstream 429 answers", registry=r)
        self.tokens = Counter("roomwire_ai_tokens", "tokens from usageMetadata", ["direction"], registry=r)
        self.cost = Counter("roomwire_ai_cost_usd", "estimated upstream cost (the seed's price table)", registry=r)
        self.closes = Counter(
            "roomwire_connections_closed", "connections ended, by leave reason", ["reason"], registry=r
        )
        self.refused = Counter(
            "roomwire_connections_refused", "upgrades refused or closed at once", ["why"], registry=r
        )
        r.register(_Live(self, gauges))

    def frame_in(self, kind: object) -> None:
        label = kind if isinstance(kind, str) and kind in IN_TYPES else "invalid"
        self.frames_in[label] = self.frames_in.get(label, 0) + 1

    def usage(self, usage: Usage) -> None:
        self.tokens.labels("in").inc(usage.prompt_tokens)
        self.tokens.labels("out").inc(usage.output_tokens)
        if self._prices is not None:
            price_in, price_out = self._prices
            self.cost.inc((usage.prompt_tokens * price_in + usage.output_tokens * price_out) / 1_000_000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
