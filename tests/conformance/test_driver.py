"""The driver and its clients against the toy server: joining (with and without a welcome), waiting,
sending, closing, and the context's verdict helpers."""

from __future__ import annotations

import json
import socket

import pytest

from roomwire.conformance import frames
from roomwire.conformance.driver import UpgradeRefused
from roomwire.conformance.outcomes import Blocked
from roomwire.spec.errors import HarnessError, SpecViolation, TargetUnreachable
from tests.conformance.conftest import CtxFactory
from tests.conformance.toy import Toy


async def test_join_by_welcome_and_broadcast(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        bob = await ctx.driver.join(ctx.room(), "Bob")
        assert ctx.session.welcome_seen is True and ann.label == "A" and bob.label == "B"
        await ann.say("hello", id="m-1")
        got = await ctx.expect(bob, frames.user_msg("hello"), "Ann's message")
        assert frames.data(got)["nickname"] == "Ann" and got.at is not None
        assert await ann.ws_ping(1.0)
        await ctx.stays_open(ann)
        assert ann.transcript.events[0].text.startswith("connect") and any(
            e.direction == ">" for e in ann.transcript.events
        )
        assert ctx.token() != ctx.token() and ctx.room(2).endswith("-t-2")


async def test_membership_falls_back_to_join_then_echo_then_settle(toy_ctx: CtxFactory) -> None:
    async with toy_ctx(Toy(no_welcome=True)) as ctx:
        client = await ctx.driver.connect(ctx.room(), nickname="Ann")
        assert await ctx.driver.await_membership(client) == "join"
        assert ctx.session.welcome_seen is False and ctx.session.welcome_wait() < ctx.timeouts.welcome
    async with toy_ctx(Toy(no_welcome=True, no_presence=True)) as ctx:
        client = await ctx.driver.connect(ctx.room(), nickname="Ann")
        assert await ctx.driver.await_membership(client) == "echo"
        quiet = await ctx.driver.connect(ctx.room(), nickname="Q")
        assert await ctx.driver.await_membership(quiet, probe=False) == "settled"
        assert "settle delay" in quiet.transcript.events[-1].text


async def test_refused_upgrade_blocks_and_unreachable_target_is_a_harness_error(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        outcome = await ctx.driver.attempt("bad.room", raw_room=True)
        assert outcome.status == 400 and not outcome.accepted
        with pytest.raises(UpgradeRefused) as refused:
            await ctx.driver.connect("ok-room", origin="https://evil.example")
        assert isinstance(refused.value, Blocked) and refused.value.requirement_id == "CONN-001"
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        ctx.session.target = type(ctx.session.target)(endpoints=(type(ctx.session.target.endpoints[0])(
            template="", secure=False, host="127.0.0.1", port=port, path_template="/x/{room_id}"),))  # fmt: skip
        with pytest.raises(TargetUnreachable):
            await ctx.driver.join("r", "Ann")


async def test_verdict_helpers_raise_for_their_own_requirement(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        with pytest.raises(SpecViolation) as missing:
            await ctx.expect(ann, frames.user_msg("never"), "a message that is never sent", within=0.1)
        assert missing.value.requirement_id == "CHAT-001" and "Ann" not in missing.value.expected
        await ann.say("seen")
        await ann.wait_for(frames.user_msg("seen"), 2)
        with pytest.raises(SpecViolation) as forbidden:
            await ctx.expect_none(
                [ann], frames.user_msg("seen"), "its own message", window=0.01, requirement_id="CHAT-002"
            )
        assert forbidden.value.requirement_id == "CHAT-002"
        with pytest.raises(HarnessError, match="does not declare"):
            ctx.violation("x", "y", "PRES-001")
        ctx.protocol_violations([ann])
        assert ann.describe().startswith("A received")


async def test_close_codes_and_a_closed_connection(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        await ann.send_binary(b"\x00")
        await ctx.expect_close(ann, [1003], "after a binary frame")
        assert ann.close_received and ann.close_code == 1003
        assert not await ann.send_text("late") and not await ann.ws_ping(0.1)
        with pytest.raises(SpecViolation, match="stays open"):
            await ctx.stays_open(ann)
        bob = await ctx.driver.join(ctx.room(), "Bob")
        with pytest.raises(SpecViolation, match="still open"):
            await ctx.expect_close(bob, [1003], "for nothing", within=0.1)
        bob.abort()
        assert await bob.wait_closed(2) and not bob.close_received and bob.close_code == 1006
        with pytest.raises(SpecViolation, match="no close frame"):
            await ctx.expect_close(bob, [1000], "after an abort")


async def test_unvalidated_clients_parse_without_the_schema(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        fast = await ctx.driver.join(ctx.room(), "Fast", validate=False)
        await fast.say("bulk")
        got = await fast.wait_for(frames.user_msg("bulk"), 2)
        assert got is not None and got.frame is None and frames.data(got)["content"] == "bulk"
        assert fast.protocol.violations == []
        await fast.send_json({"type": "user_msg", "content": "x", "nickname": "Fast"})
        counted = await fast.wait_count(frames.user_msg(), 2, 2)
        assert len(counted) == 2 and json.loads(counted[1].raw)["content"] == "x"


async def test_proxied_clients_can_be_broken(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        ghost = await ctx.driver.join(ctx.room(), "Ghost", via_proxy=True)
        ctx.driver.proxy_of(ghost).drop(rst=True)
        await ctx.expect(ann, frames.leave("Ghost"), "the leave of the dropped member")
        with pytest.raises(HarnessError, match="not opened through"):
            ctx.driver.proxy_of(ann)


async def test_frames_sent_at_once_leave_in_one_write_and_arrive_in_order(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        bob = await ctx.driver.join(ctx.room(), "Bob")
        transport = ann.ws.transport
        writes: list[bytes] = []
        real_write = transport.write

        def counted_write(data: bytes | bytearray | memoryview) -> None:
            writes.append(bytes(data))
            real_write(data)

        transport.write = counted_write  # type: ignore[method-assign]
        texts = [ann.protocol.user_msg(f"b{n}", nickname="Ann") for n in range(20)]
        assert await ann.send_texts_at_once(texts)
        transport.write = real_write  # type: ignore[method-assign]
        assert len(writes) == 1 and len(writes[0]) >= sum(len(t.encode()) + 6 for t in texts)  # masked frames
        got = await bob.wait_count(lambda item: frames.kind(item) == "user_msg", 20, ctx.timeouts.frame)
        assert [frames.data(g)["content"] for g in got] == [f"b{n}" for n in range(20)]
        assert sum(e.direction == ">" for e in ann.transcript.events) >= 20
        ann.abort()
        assert await ann.wait_closed(2) and not await ann.send_texts_at_once(texts[:1])
