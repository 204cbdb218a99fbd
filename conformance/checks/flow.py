"""SPEC.md §12, flow control: FLOW-001, FLOW-002.

A member that stops reading is played by a connection through the fault proxy whose reading is stalled. The
target's kernel still takes megabytes for it (Linux autotunes a loopback send buffer to about 4 MB before the
target's own queue grows), so the check pushes `send_queue_bytes` plus `KERNEL_ALLOWANCE` of large messages
through the room, from up to sixteen senders each paced under the rate limit, at most one send queue's worth
per second overall, while another member times every delivery. The push stops early when the target drops the
silent member or when deliveries stall.

A target may also drop the silent member on its keepalive first (it answers no ping either): then FLOW-001
still judges the others' deliveries, and FLOW-002, whose queue never got the chance to overflow, is skipped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement

KERNEL_ALLOWANCE = 4_608 * 1024
MAX_PUSH_BYTES = 8 * 1024 * 1024
MAX_SENDERS = 16
#: The push never offers a reading member more than this share of its send queue per second: a burst larger
#: than the queue in one instant may rightly drop even a member that reads (FLOW-002), which is not FLOW-001.
MAX_RATE_BYTES_S = 1024 * 1024


class ByteGate:
    """The room-wide pace of the push, shared by all senders (bytes per second, in 50 ms slices)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.allowance = rate / 20
        self.last = asyncio.get_running_loop().time()

    async def take(self, size: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self.allowance = min(self.rate / 20, self.allowance + (now - self.last) * self.rate)
            self.last = now
            if self.allowance >= size or self.allowance >= self.rate / 20:
                self.allowance -= size
                return
            await asyncio.sleep((size - self.allowance) / self.rate)


@dataclass
class Push:
    """What was pushed through the room while one member did not read."""

    observer: Client
    slow: Client
    sent: dict[str, tuple[float, float]] = field(default_factory=dict)  # token: (run clock, stalls) when sent
    delivered: dict[str, float] = field(default_factory=dict)  # token: seconds it took, the suite's stalls excluded
    bytes: int = 0
    stalled: list[str] = field(default_factory=list)
    slow_left: bool = False
    target: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _seen: int = 0

    def update(self) -> None:
        """Read the observer's new frames once: deliveries by token, and the silent member's leave."""
        for item in self.observer.received[self._seen :]:
            content = frames.data(item).get("content")
            token = content.split(" ", 1)[0] if isinstance(content, str) else ""
            if frames.kind(item) == "user_msg" and token in self.sent and token not in self.delivered:
                took = self.observer.took(item, *self.sent[token])
                if took is not None:
                    self.delivered[token] = took
            elif frames.leave("Slow")(item):
                self.slow_left = True
        self._seen = len(self.observer.received)


def _payload(ctx: CheckContext, token: str) -> str:
    """A message of half max_content_chars code points, mostly 4-byte emoji, in at most half the frame limit: far
    under every limit, so a target whose own limit is a little stricter than it advertises fails CONN-006 for
    that, not FLOW-001."""
    limits = ctx.limits
    chars = limits.max_content_chars // 2
    fill = "😀" * chars
    while len(fill.encode()) > limits.max_frame_bytes // 2 - 64 - len(token):
        fill = fill[: len(fill) * 3 // 4]
    return f"{token} {fill}"[:chars]


async def _send(ctx: CheckContext, push: Push, sender: Client, target: int, gate: ByteGate) -> None:
    pacer = Pacer(ctx)
    while not push.stop.is_set() and push.bytes < target:
        await pacer.wait()
        token = ctx.token("bulk")
        text = _payload(ctx, token)
        await gate.take(len(text.encode()))
        if push.stop.is_set():
            return
        push.sent[token] = (ctx.session.clock.now(), ctx.session.stalls.stalled())
        if not await sender.say(text):
            return
        push.bytes += len(text.encode())


async def _watch(ctx: CheckContext, push: Push) -> None:
    """Stop the push when the observer falls more than a frame timeout behind (the room has stalled)."""
    while not push.stop.is_set():
        await asyncio.sleep(0.1)
        push.update()
        now, stalled = ctx.session.clock.now(), ctx.session.stalls.stalled()
        late = [
            t
            for t, (at, stalls_then) in push.sent.items()
            if now - at - (stalled - stalls_then) > ctx.timeouts.frame and t not in push.delivered
        ]
        if late or push.slow_left:
            push.stalled += late
            push.stop.set()


async def push_past_a_slow_reader(ctx: CheckContext) -> Push:
    room = ctx.room()
    observer = await ctx.driver.join(room, "Obs", validate=False)
    senders_n = max(1, min(MAX_SENDERS, ctx.limits.room_capacity - 2))
    senders = [await ctx.driver.join(room, f"S{n}", validate=False) for n in range(senders_n)]
    slow = await ctx.driver.join(room, "Slow", slow_reader=True, validate=False)
    ctx.driver.proxy_of(slow).stall_reading()
    push = Push(observer, slow)
    target = push.target = min(ctx.limits.send_queue_bytes + KERNEL_ALLOWANCE, MAX_PUSH_BYTES)
    gate = ByteGate(min(ctx.limits.send_queue_bytes, MAX_RATE_BYTES_S))
    watcher = asyncio.create_task(_watch(ctx, push))
    try:
        await asyncio.gather(*(_send(ctx, push, s, target, gate) for s in senders))
    finally:
        push.stop.set()
        await watcher
    return push


@requirement("FLOW-001", slow=True)
async def a_member_that_stops_reading_does_not_delay_the_others(ctx: CheckContext) -> None:
    """While one member reads nothing, another receives every broadcast within seconds."""
    push = await push_past_a_slow_reader(ctx)
    bound = ctx.timeouts.frame
    last = list(push.sent)[-1] if push.sent else None
    if last is not None and not push.stalled:
        await push.observer.wait_for(frames.user_msg(containing=last), bound)
    push.update()
    late = push.stalled or [t for t in push.sent if push.delivered.get(t, bound + 1) > bound]
    if late:
        delivered = sum(1 for t in push.sent if t in push.delivered)
        raise ctx.violation(
            f"every broadcast reaches the reading member within {bound:.1f} s while another member reads nothing",
            f"{delivered} of {len(push.sent)} ({push.bytes // 1024} KB pushed) arrived; late or missing: {late[:3]}",
        )
    how = "the silent member was dropped" if push.slow_left else "the silent member was kept"
    ctx.note(f"{len(push.sent)} messages ({push.bytes // 1024} KB) delivered on time; {how}")


@requirement("FLOW-002", slow=True)
async def a_member_over_its_send_queue_is_closed_with_1013(ctx: CheckContext) -> None:
    """A member whose queue passes send_queue_bytes is announced as left (reason server) and closed with 1013."""
    push = await push_past_a_slow_reader(ctx)
    if push.stalled:
        raise ctx.skip("the room stalled behind the silent member (FLOW-001), so its queue cannot be judged")
    complete = push.bytes >= push.target  # past send_queue_bytes plus everything the kernel could hold
    leave = await push.observer.wait_for(frames.leave("Slow"), ctx.timeouts(3.0 if complete else 10.0))
    reason = frames.data(leave).get("reason") if leave is not None else None
    if reason != "server" and complete:
        got = f"a leave with reason {reason!r}" if leave is not None else "no leave"
        expected = f"a leave of Slow (reason 'server') once {push.bytes // 1024} KB were queued for it"
        raise ctx.violation(expected, f"{got} (send_queue_bytes {ctx.limits.send_queue_bytes})")
    if reason != "server":
        raise ctx.skip(
            f"the target dropped the silent member for another reason ({reason!r}, e.g. its keepalive) after "
            f"{push.bytes // 1024} KB, before its send queue could be shown to overflow"
        )
    ctx.driver.proxy_of(push.slow).resume_reading()
    await push.slow.wait_closed(ctx.timeouts(10.0))
    if push.slow.close_received and push.slow.close_code != 1013:
        raise ctx.violation("the slow member closed with 1013", f"close frame {push.slow.close_code}")
    if not push.slow.close_received:
        ctx.note("announced (server); the close frame did not reach the member through its backlog (code not seen)")
        raise ctx.skip(
            f"announced as left (reason server) after {push.bytes // 1024} KB, but the target ended the TCP connection "
            "before its close frame could be read behind the backlog, so the 1013 is unobservable"
        )
    ctx.note(f"announced (server) and closed with 1013 after {push.bytes // 1024} KB")
