"""The full collection run when the process goes quiet after churn (quiet_gc.py)."""

from __future__ import annotations

import asyncio
import gc

from roomwire.reference.quiet_gc import INTERVAL, MIN_YOUNG, QUIET_SHARE, QuietCollector
from tests.support.timing import UNIT


class Process:
    """The collector's view of a process, set by the test: CPU seconds used and (young, full) collections."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.young = 0
        self.full = 0
        self.collected = 0

    def collect(self) -> int:
        self.collected += 1
        self.full += 1
        return 0

    def collector(self) -> QuietCollector:
        return QuietCollector(cpu=lambda: self.cpu, counts=lambda: (self.young, self.full), collect=self.collect)


def test_a_quiet_process_after_churn_collects_once() -> None:
    process = Process()
    collector = process.collector()
    assert not collector.look()  # quiet, but nothing happened since start-up
    process.young += MIN_YOUNG
    assert collector.look() and process.collected == 1
    assert not collector.look() and process.collected == 1  # no new churn since


def test_a_busy_process_is_left_alone_until_it_is_quiet() -> None:
    process = Process()
    collector = process.collector()
    process.young += 5 * MIN_YOUNG
    for _ in range(3):  # a storm: the collection would land in it
        process.cpu += 2 * QUIET_SHARE * INTERVAL
        assert not collector.look()
    assert collector.look() and process.collected == 1  # the storm is over


def test_a_full_collection_of_the_interpreters_own_resets_the_count() -> None:
    process = Process()
    collector = process.collector()
    process.young += MIN_YOUNG
    process.full += 1  # the interpreter collected everything itself
    assert not collector.look()
    process.young += MIN_YOUNG - 1
    assert not collector.look()
    process.young += 1
    assert collector.look()


class Cycle:
    """Garbage that only a collection frees, as every closed connection is."""

    def __init__(self) -> None:
        self.me = self


async def test_on_the_loop_it_frees_cyclic_garbage_and_stops() -> None:
    young = [0]
    collector = QuietCollector(
        counts=lambda: (young[0], gc.get_stats()[2]["collections"]), interval=0.01 * UNIT, cpu=lambda: 0.0
    )
    gc.disable()  # only the collector may collect here
    try:
        Cycle()
        assert any(isinstance(o, Cycle) for o in gc.get_objects())
        young[0] = MIN_YOUNG
        collector.start()
        for _ in range(100):  # bounded: 1 UNIT
            if collector.collections:
                break
            await asyncio.sleep(0.01 * UNIT)
        collector.stop()
        assert collector.collections == 1
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())
    finally:
        gc.enable()
        collector.stop()
