"""Rate limits with a virtual clock (LIMIT-003, LIMIT-004, LIMIT-005)."""

from __future__ import annotations

from roomwire.reference.ratelimit import AiBudget, FrameRateLimiter, ceil_seconds
from roomwire.reference.rooms.memory import MemoryBroker


def test_frames_beyond_the_burst_are_dropped_with_one_notice_per_second() -> None:
    limiter = FrameRateLimiter(rate_per_s=2, burst=3, now=0.0)
    assert all(limiter.check(0.0).allowed for _ in range(3))
    first, second = limiter.check(0.0), limiter.check(0.1)
    assert not first.allowed and first.notify and first.retry_after == 1
    assert not second.allowed and not second.notify  # LIMIT-003: at most one notice per second
    assert limiter.check(0.6).allowed  # refilled: 0.6 s x 2/s
    assert limiter.check(1.2).notify is False or True
    assert not limiter.check(1.2).flood


def test_a_persistent_flood_is_flagged() -> None:
    limiter = FrameRateLimiter(rate_per_s=1, burst=2, now=0.0)
    verdicts = [limiter.check(0.0) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, False, False, False]
    assert verdicts[-1].flood and not verdicts[-2].flood  # LIMIT-004: more than `burst` drops
    assert not limiter.check(20.0).flood  # the window forgets


def test_the_ai_budget_is_a_sliding_minute() -> None:
    budget = AiBudget(per_minute=2)
    assert budget.try_acquire(0.0) == 0 and budget.try_acquire(10.0) == 0
    assert budget.try_acquire(30.0) == 30  # LIMIT-005: until the oldest leaves the window
    assert budget.in_window(59.0) == 2 and budget.in_window(60.0) == 1
    assert budget.try_acquire(60.5) == 0
    budget.release()
    assert budget.in_window(60.5) == 1
    AiBudget(1).release()  # nothing to give back


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [ceil_seconds(s) for s in (0.0, 0.2, 1.0, 1.0000000001, 1.5, 58.0)] == [1, 1, 1, 1, 2, 58]


def test_the_ai_budget_gives_back_the_admission_named_and_counts_recorded_ones() -> None:
    budget = AiBudget(per_minute=2)
    assert budget.try_acquire(0.0) == 0 and budget.try_acquire(10.0) == 0
    budget.release(0.0)  # that one, not the most recent
    assert budget.try_acquire(20.0) == 0 and budget.try_acquire(21.0) == 49  # when 10.0 leaves
    budget.record(22.0)  # decided elsewhere: counted whatever the window holds
    budget.per_minute = 2  # the window holds more than its size: wait until it holds one less than that
    assert budget.in_window(22.0) == 3 and budget.try_acquire(22.0) == 58  # when 20.0 leaves
    budget.release(99.0)  # not there: nothing happens
    assert budget.in_window(22.0) == 3


async def test_the_memory_broker_budget_is_this_process_window() -> None:
    budget = MemoryBroker().ai_budget(2)
    first, second, third = [await budget.acquire() for _ in range(3)]
    assert first.wait == 0 and second.wait == 0 and 1 <= third.wait <= 60  # LIMIT-005
    await budget.release(third)  # a refusal holds nothing
    await budget.release(first)
    assert (await budget.acquire()).wait == 0
