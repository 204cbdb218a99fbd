"""A stateful model of one room, driven by Hypothesis (`RuleBasedStateMachine`): members join, talk, ask the
AI, leave and drop in random order, and what every member receives is checked against the model.

After each step, the step's own promise is awaited at every member it concerns: a message reaches every
current member (CHAT-001), a join is seen by everyone (PRES-001), a leave or a dropped TCP connection is
announced to those who remain (PRES-002, PRES-003). At the end of each example: every member saw each
sender's messages once and in order (CHAT-004), AI frames reached only their askers (AI-001), and every
question got exactly one ai_done (AI-002). Bounded: `EXAMPLES` rooms of at most `STEPS` steps, at most four
members, no shrinking (a failure reports its own steps), derandomized (the same histories every run).

Hypothesis runs in a worker thread and every rule hands its I/O to the suite's event loop, so the driver,
its transcripts and its timeouts are the same as in every other check.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from roomwire.conformance import frames
from roomwire.conformance.checks.common import leave_deadline
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement
from roomwire.spec.errors import SpecViolation

EXAMPLES = 2
STEPS = 10
MAX_MEMBERS = 4
#: Questions the model asks in a run, admitted in the AI budget before it starts (a rule cannot wait for it).
MODEL_QUESTIONS = 1
T = TypeVar("T")


@dataclass
class Room:
    """The model: who is in the room, and what each sender said, in order."""

    name: str
    members: dict[str, Client] = field(default_factory=dict)
    said: dict[str, list[str]] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)


class RoomMachine(RuleBasedStateMachine):
    """Rules act on the live target through `ctx`; set by `machine_for`."""

    ctx: CheckContext
    loop: asyncio.AbstractEventLoop
    rooms: itertools.count[int]
    names: itertools.count[int]
    questions: list[int]  # questions left in the run's admission (MODEL_QUESTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.room = Room(self.ctx.room(100 + next(self.rooms)))
        self.gone: list[Client] = []

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.ctx.timeouts(60.0))

    # --- steps ----------------------------------------------------------------------------------------------------

    async def _join(self) -> None:
        name = f"M{next(self.names)}"
        marks = {n: c.mark() for n, c in self.room.members.items()}
        client = await self.ctx.driver.join(self.room.name, name, via_proxy=True)
        self.room.members[name] = client
        for other, mark in marks.items():
            await self.ctx.expect(
                self.room.members[other],
                frames.join(name),
                f"the join of {name}",
                since=mark,
                requirement_id="PRES-001",
            )

    @initialize()
    def first_members(self) -> None:
        self.run(self._join())
        self.run(self._join())

    @precondition(lambda self: len(self.room.members) < MAX_MEMBERS)
    @rule()
    def join(self) -> None:
        self.run(self._join())

    async def _say(self, name: str) -> None:
        text = self.ctx.token("m")
        self.room.said.setdefault(name, []).append(text)
        marks = {n: c.mark() for n, c in self.room.members.items()}
        await self.room.members[name].say(text)
        for other, client in self.room.members.items():
            await self.ctx.expect(
                client, frames.user_msg(text), f"{name}'s message", since=marks[other], requirement_id="CHAT-001"
            )

    @precondition(lambda self: bool(self.room.members))
    @rule(data=st.data())
    def say(self, data: st.DataObject) -> None:
        self.run(self._say(data.draw(st.sampled_from(sorted(self.room.members)))))

    @precondition(lambda self: bool(self.room.members))
    @rule(data=st.data())
    def ask(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.room.members)))
        client = self.room.members[name]
        if len(client.find(frames.ai_done())) < self.room.asked.get(name, 0):
            return  # one question in flight per connection (AI-006); asking again would be refused, not modelled
        if not self.questions[0]:
            return  # the run's AI budget for the model is spent (a refused ai_quota would still end in one ai_done)
        self.questions[0] -= 1
        self.room.asked[name] = self.room.asked.get(name, 0) + 1
        self.run(client.ask(f"Hi! {self.ctx.token('q')} [[chunks=2]] [[sentences=1]]"))

    async def _leave(self, name: str, drop: bool) -> None:
        client = self.room.members.pop(name)
        marks = {n: c.mark() for n, c in self.room.members.items()}
        if drop:
            self.ctx.driver.proxy_of(client).drop(rst=True)
        else:
            await client.close(self.ctx.timeouts.close)
        self.gone.append(client)
        rid = "PRES-003" if drop else "PRES-002"
        for other, watcher in self.room.members.items():
            what = f"the leave of {name} ({'TCP reset' if drop else 'close frame'})"
            await self.ctx.expect(
                watcher,
                frames.leave(name),
                what,
                since=marks[other],
                within=leave_deadline(self.ctx),
                requirement_id=rid,
            )

    @precondition(lambda self: len(self.room.members) > 1)
    @rule(data=st.data(), drop=st.booleans())
    def leave(self, data: st.DataObject, drop: bool) -> None:
        self.run(self._leave(data.draw(st.sampled_from(sorted(self.room.members))), drop))

    # --- end of an example ----------------------------------------------------------------------------------------

    async def _verify(self) -> None:
        ctx = self.ctx
        for name, client in self.room.members.items():
            await client.wait_count(frames.ai_done(), self.room.asked.get(name, 0), ctx.timeouts.ai)
        await asyncio.sleep(ctx.timeouts.settle)
        everyone = list(self.room.members.items()) + [(c.label, c) for c in self.gone]
        for name, client in everyone:
            dones, asked = len(client.find(frames.ai_done())), self.room.asked.get(name, 0)
            if dones != asked and name in self.room.members:
                raise ctx.violation(f"{name}: one ai_done per question ({asked})", client.describe(), "AI-002")
            ctx.protocol_violations([client], "AI-001")
            got = [str(frames.data(i).get("content")) for i in client.find(frames.user_msg())]
            for sender, texts in self.room.said.items():
                seen = [t for t in got if t in texts]
                if len(set(seen)) != len(seen) or seen != [t for t in texts if t in seen]:
                    raise ctx.violation(f"{name} sees {sender}'s messages once each, in order", f"{seen}", "CHAT-004")

    def teardown(self) -> None:
        try:
            self.run(self._verify())
        finally:
            for client in list(self.room.members.values()):
                self.run(client.close(self.ctx.timeouts.close))


def machine_for(ctx: CheckContext, loop: asyncio.AbstractEventLoop) -> type[RoomMachine]:
    """A RoomMachine class bound to this check's context (one class per run, so runs never share state)."""
    return type(
        "BoundRoomMachine",
        (RoomMachine,),
        {
            "ctx": ctx,
            "loop": loop,
            "rooms": itertools.count(),
            "names": itertools.count(),
            "questions": [MODEL_QUESTIONS],
        },
    )


MODEL_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    database=None,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)


def first_violation(error: BaseException) -> BaseException:
    """Hypothesis may report a failure it could not replay as a group; the target's violation inside wins."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = first_violation(inner)
            if isinstance(found, SpecViolation):
                return found
    return error


@requirement(
    "CHAT-004", also=("CHAT-001", "PRES-001", "PRES-002", "PRES-003", "AI-001", "AI-002"), slow=True, ai=MODEL_QUESTIONS
)
async def a_random_room_history_matches_the_model(ctx: CheckContext) -> None:
    """Random joins, messages, questions, closes and drops: every member's view matches the room model."""
    from hypothesis.reporting import with_reporter

    await ctx.session.ai.admit(MODEL_QUESTIONS)
    machine = machine_for(ctx, asyncio.get_running_loop())

    def run() -> None:
        with with_reporter(lambda text: ctx.note(str(text))):
            run_state_machine_as_test(machine, settings=MODEL_SETTINGS)

    try:
        await asyncio.to_thread(run)
    except BaseExceptionGroup as group:
        raise first_violation(group) from None
    ctx.notes[:] = [f"{EXAMPLES} random room histories of up to {STEPS} steps matched the model"]
