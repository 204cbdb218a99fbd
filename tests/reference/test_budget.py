"""The one-process AI budget (LIMIT-005, rooms/budget.py): at most `per_minute` admissions a minute, a wait in
whole seconds beyond that, and a release gives back exactly the admission it names (tests/reference/
test_redis_budget.py holds the budget every instance on one Redis shares to the same rules)."""

from __future__ import annotations

from roomwire.reference.rooms.budget import Grant, LocalBudget


async def test_it_admits_per_minute_then_names_a_wait() -> None:
    budget = LocalBudget(3)
    grants = [await budget.acquire() for _ in range(4)]
    assert [g.wait for g in grants[:3]] == [0, 0, 0]
    assert 59 <= grants[3].wait <= 60  # ERR-001: whole seconds until the oldest admission leaves the window


async def test_a_release_gives_back_the_admission_it_names_and_only_an_admitted_one() -> None:
    budget = LocalBudget(2)
    first, second = await budget.acquire(), await budget.acquire()
    await budget.release(Grant(wait=7, stamp=first.stamp))  # a refusal was never counted: nothing to give back
    assert (await budget.acquire()).wait > 0
    await budget.release(second)
    assert (await budget.acquire()).wait == 0 and budget.window.in_window(second.stamp) == 2
    await budget.release(Grant(wait=0, stamp=-1.0))  # an admission it never made: nothing changes
    assert budget.window.in_window(second.stamp) == 2
