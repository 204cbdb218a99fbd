"""The AI budget as the suite spends it: paced within ai_budget_rpm, a refusal it provoked held and asked again,
and a check that only waits gives its concurrency slot back."""

from __future__ import annotations

import asyncio

import pytest

from roomwire.conformance.budget import DEFAULT_HOLD_S, MARGIN_S, MAX_HOLD_S, WINDOW_S, AiBudget, Gate
from roomwire.conformance.checks.common import ask
from roomwire.conformance.outcomes import Skip
from tests.conformance.conftest import CtxFactory
from tests.conformance.toy import Toy


class FakeTime:
    """A clock that only moves when the budget sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def budget(rpm: int) -> tuple[AiBudget, FakeTime]:
    time = FakeTime()
    return AiBudget(rpm, clock=time.clock, sleep=time.sleep), time


async def test_questions_are_paced_within_the_window() -> None:
    ai, time = budget(3)
    for _ in range(3):
        await ai.admit()
    assert time.slept == [] and ai.in_window() == 3
    time.now += 10
    await ai.admit()  # the fourth waits until the first has left the window, plus the margin
    assert time.now == pytest.approx(1000.0 + WINDOW_S + MARGIN_S)
    assert ai.stats.accepted == 4 and ai.stats.waited_s == pytest.approx(WINDOW_S + MARGIN_S - 10)


async def test_a_refusal_gives_the_slot_back_and_holds_every_question() -> None:
    ai, time = budget(10)
    admission = await ai.admit()
    hold = ai.refused(admission, 7)
    assert hold == pytest.approx(7 + MARGIN_S / 2) and ai.in_window() == 0
    await ai.admit()
    assert time.now == pytest.approx(1000.0 + hold)
    assert ai.refused(await ai.admit(), "soon") == pytest.approx(DEFAULT_HOLD_S + MARGIN_S / 2)  # no usable one
    assert ai.refused(await ai.admit(), 3600) == MAX_HOLD_S
    assert ai.stats.refused == 3 and "3 of the paced questions refused" in ai.summary()


async def test_reserved_room_given_back_and_a_later_run_inherits_the_window() -> None:
    ai, time = budget(2)
    admission = await ai.admit(5)  # never more than the budget
    assert admission.count == 2 and ai.in_window() == 2
    ai.give_back(admission)
    assert ai.in_window() == 1 and ai.stats.accepted == 1
    drained = ai.spend()
    ai.refused(drained, 30)
    assert ai.stats.drain_refused == 1 and ai.stats.drained == 0
    later, _ = budget(2)
    later.inherit(ai)
    assert later.in_window(time.now) == 1
    assert "refused 1 time(s), as it wants" in ai.summary()


async def test_a_check_waiting_for_the_budget_lets_another_run() -> None:
    gate = Gate(1)
    order: list[str] = []

    async def waiting() -> None:
        async with gate.slot() as slot:
            order.append("waiting starts")
            async with gate.idle():
                await asyncio.sleep(0.05)
            order.append("waiting ends")
            assert slot.idle_s >= 0.04 and slot.holding

    async def working() -> None:
        await asyncio.sleep(0.01)
        async with gate.slot():
            order.append("working")

    await asyncio.gather(waiting(), working())
    assert order == ["waiting starts", "working", "waiting ends"]


async def test_a_refusal_the_suite_provoked_is_asked_again(toy_ctx: CtxFactory) -> None:
    async with toy_ctx(Toy(quota_refusals=2)) as ctx:
        time = FakeTime()
        ctx.session._ai = AiBudget(10, clock=time.clock, sleep=time.sleep)
        client = await ctx.driver.join(ctx.room(), "Ann")
        answer = await ask(ctx, client, "Hi?")
        assert answer.status == "ok" and ctx.session.ai.stats.refused == 2
        assert any("asks again" in e.text for e in client.transcript.events)


async def test_a_budget_that_stays_spent_skips_with_the_reason(toy_ctx: CtxFactory) -> None:
    async with toy_ctx(Toy(quota_refusals=5)) as ctx:
        time = FakeTime()
        ctx.session._ai = AiBudget(10, clock=time.clock, sleep=time.sleep)
        client = await ctx.driver.join(ctx.room(), "Ann")
        with pytest.raises(Skip, match="refused the question for its AI budget 3 times"):
            await ask(ctx, client, "Hi?")
